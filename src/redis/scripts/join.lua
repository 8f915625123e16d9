-- join: add userId to the channel with its cursor at the current channelSeq (nothing unread).
-- Idempotent: an existing member is unchanged.
-- KEYS[1..11] the channel's keys (keys.ts order), KEYS[12] the partition's dirty index
-- ARGV[1] channelId, ARGV[2] userId
-- Returns { joined (1 new, 0 existing), member state… } | error RS_NOT_LOADED
local k = channel_keys(0)
local channelId, userId = ARGV[1], ARGV[2]
local seq = loaded_seq(k)
if not seq then return redis.error_reply('RS_NOT_LOADED') end

local readSeq = read_seq(k, userId)
if readSeq then
  local state = member_state(k, userId, readSeq, seq)
  table.insert(state, 1, 0)
  return state
end

local now = now_ms()
local ver = next_version(k)
if redis.call('HGET', k.meta, 'live') ~= '1' then
  redis.call('HSET', k.meta, 'live', 1)
  touch_channel_row(k, ver)
end
redis.call('ZADD', k.cur, seq, userId)
redis.call('HDEL', k.lra, userId)
redis.call('ZADD', k.dmem, ver, userId)
mark_dirty(k, KEYS[12], channelId, now)
local state = member_state(k, userId, seq, seq, '')
table.insert(state, 1, 1)
return state
