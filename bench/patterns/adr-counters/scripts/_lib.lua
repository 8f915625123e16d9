-- Shared by pattern D's scripts (read-state.ts prepends it to each): the channel's keys by name,
-- server time, and a member's state as one string.
-- A member's state, '|'-separated (IDs never contain '|'; lastReadMessageId comes last all the same):
--   unread|mentions|channelSeq|readSeq|lastReadAt (ms, or empty)|lastReadMessageId (or empty)

local function channel_keys(offset)
  return {
    meta = KEYS[offset + 1],
    unread = KEYS[offset + 2],
    mentions = KEYS[offset + 3],
    reads = KEYS[offset + 4],
    msg = KEYS[offset + 5],
    dmem = KEYS[offset + 6],
  }
end
local CHANNEL_KEYS = 6

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- nil when userId is not a member.
local function state_of(k, userId, channelSeq)
  local reads = redis.call('HGET', k.reads, userId)
  if not reads then return nil end
  local unread = redis.call('HGET', k.unread, userId)
  local mentions = redis.call('HGET', k.mentions, userId)
  return (unread or '0') .. '|' .. (mentions or '0') .. '|' .. channelSeq .. '|' .. reads
end
