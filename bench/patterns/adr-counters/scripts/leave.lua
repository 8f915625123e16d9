-- leave: forgets the member's counters and cursor (a later join starts fresh).
-- KEYS: the channel's 6 keys, its partition's dirty index, then the user's channel list
-- ARGV[1] channelId, ARGV[2] userId
-- Returns 1 | error RS_NOT_A_MEMBER
local k = channel_keys(0)
local dirty, userChannels = KEYS[CHANNEL_KEYS + 1], KEYS[CHANNEL_KEYS + 2]
local channelId, userId = ARGV[1], ARGV[2]

if redis.call('HDEL', k.reads, userId) == 0 then return redis.error_reply('RS_NOT_A_MEMBER') end
redis.call('HDEL', k.unread, userId)
redis.call('HDEL', k.mentions, userId)
redis.call('SREM', userChannels, channelId)
-- Absent from reads when flushed: the flush deletes its row.
redis.call('SADD', k.dmem, userId)
redis.call('SADD', dirty, channelId)
return 1
