-- markRead: the member has read up to the channel's last message, or up to messageId. Counters only
-- know "everything read": reading up to an older message would need to know how many of the later
-- ones mention the member, which they do not keep (RS_UNSUPPORTED; the workload never asks it).
-- Forward only: a view that finds nothing new writes nothing and marks nothing dirty.
-- KEYS: the channel's 6 keys, then its partition's dirty index
-- ARGV[1] channelId, ARGV[2] userId, ARGV[3] messageId or ''
-- Returns the member's state (_lib.lua) | error RS_NOT_A_MEMBER, RS_UNKNOWN_MESSAGE, RS_UNSUPPORTED
local k = channel_keys(0)
local dirty = KEYS[CHANNEL_KEYS + 1]
local channelId, userId, messageId = ARGV[1], ARGV[2], ARGV[3]

local reads = redis.call('HGET', k.reads, userId)
if not reads then return redis.error_reply('RS_NOT_A_MEMBER') end
local meta = redis.call('HMGET', k.meta, 'seq', 'lmid')
local seq = tonumber(meta[1] or '0')
local target, targetId = seq, meta[2] or ''
if messageId ~= '' then
  local at = redis.call('HGET', k.msg, messageId)
  if not at then return redis.error_reply('RS_UNKNOWN_MESSAGE') end
  target, targetId = tonumber(at), messageId
end

local readSeq = tonumber(string.match(reads, '^(%d+)'))
if target > readSeq then
  if target < seq then return redis.error_reply('RS_UNSUPPORTED') end
  redis.call('HSET', k.unread, userId, 0)
  redis.call('HSET', k.mentions, userId, 0)
  redis.call('HSET', k.reads, userId, target .. '|' .. now_ms() .. '|' .. targetId)
  redis.call('SADD', k.dmem, userId)
  redis.call('SADD', dirty, channelId)
end
return state_of(k, userId, seq)
