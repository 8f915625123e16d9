-- markUnread: set userId's cursor to just before messageId (seq - 1), backwards or forwards.
-- KEYS[1..11] the channel's keys, KEYS[12] the partition's dirty index
-- ARGV[1] channelId, ARGV[2] userId, ARGV[3] messageId
-- Returns member state | error RS_NOT_LOADED, RS_NOT_A_MEMBER, RS_UNKNOWN_MESSAGE
local k = channel_keys(0)
local channelId, userId, messageId = ARGV[1], ARGV[2], ARGV[3]
local channelSeq = loaded_seq(k)
if not channelSeq then return redis.error_reply('RS_NOT_LOADED') end
local readSeq = read_seq(k, userId)
if not readSeq then return redis.error_reply('RS_NOT_A_MEMBER') end
local seq = tonumber(redis.call('HGET', k.msg, messageId))
if not seq then return redis.error_reply('RS_UNKNOWN_MESSAGE') end

local target = seq - 1
if target ~= readSeq then
  local now = now_ms()
  set_cursor(k, KEYS[12], channelId, userId, target, now)
  return member_state(k, userId, target, channelSeq, now)
end
return member_state(k, userId, readSeq, channelSeq)
