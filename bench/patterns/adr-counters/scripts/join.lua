-- join: a member with nothing unread (its cursor at the channel's last message, never read yet).
-- Joining twice answers the state without changing it. Creates the channel if it is new.
-- KEYS: the channel's 6 keys, its partition's dirty index, then the user's channel list
-- ARGV[1] channelId, ARGV[2] userId
-- Returns the member's state (_lib.lua)
local k = channel_keys(0)
local dirty, userChannels = KEYS[CHANNEL_KEYS + 1], KEYS[CHANNEL_KEYS + 2]
local channelId, userId = ARGV[1], ARGV[2]

local meta = redis.call('HMGET', k.meta, 'seq', 'lmid')
local seq = meta[1] or '0'
if not meta[1] then redis.call('HSET', k.meta, 'seq', 0) end
if redis.call('HEXISTS', k.reads, userId) == 0 then
  redis.call('HSET', k.unread, userId, 0)
  redis.call('HSET', k.mentions, userId, 0)
  redis.call('HSET', k.reads, userId, seq .. '||' .. (meta[2] or ''))
  redis.call('SADD', k.dmem, userId)
  redis.call('SADD', dirty, channelId)
  redis.call('SADD', userChannels, channelId)
end
return state_of(k, userId, seq)
