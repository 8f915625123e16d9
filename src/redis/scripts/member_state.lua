-- memberState: one member's state (read only).
-- KEYS[1..11] the channel's keys
-- ARGV[1] channelId, ARGV[2] userId
-- Returns member state | error RS_NOT_LOADED, RS_NOT_A_MEMBER
local k = channel_keys(0)
local userId = ARGV[2]
local seq = loaded_seq(k)
if not seq then return redis.error_reply('RS_NOT_LOADED') end
local readSeq = read_seq(k, userId)
if not readSeq then return redis.error_reply('RS_NOT_A_MEMBER') end
return member_state(k, userId, readSeq, seq)
