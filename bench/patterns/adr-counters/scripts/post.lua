-- post: the next seq for messageId, then ADR-02's write amplification: one HINCRBY per member (unread
-- + 1 for every member but the sender) and one per mentioned member (every member for @channel).
-- O(members) by design: this is the cost the sweep measures. Idempotent per messageId.
-- The sender, if a member, has read up to its own message: its counters go to 0.
-- KEYS: the channel's 6 keys (keys.ts order), then its partition's dirty index
-- ARGV[1] channelId, ARGV[2] messageId, ARGV[3] senderId, ARGV[4] mentionAll '1' | '0',
-- ARGV[5] mentions joined by ',' (may be empty, may repeat a userId)
-- Returns { created (1 | 0), seq }
local k = channel_keys(0)
local dirty = KEYS[CHANNEL_KEYS + 1]
local channelId, messageId, senderId, mentionAll, mentions = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]

local known = redis.call('HGET', k.msg, messageId)
if known then return { 0, tonumber(known) } end

local seq = redis.call('HINCRBY', k.meta, 'seq', 1)
redis.call('HSET', k.meta, 'lmid', messageId)
redis.call('HSET', k.msg, messageId, seq)

local members = redis.call('HKEYS', k.unread)
for _, userId in ipairs(members) do
  if userId ~= senderId then redis.call('HINCRBY', k.unread, userId, 1) end
end
if mentionAll == '1' then
  -- @channel covers every named mention too: counting both would count the message twice.
  for _, userId in ipairs(members) do
    if userId ~= senderId then redis.call('HINCRBY', k.mentions, userId, 1) end
  end
elseif mentions ~= '' then
  local seen = {}
  for userId in string.gmatch(mentions, '[^,]+') do
    if userId ~= senderId and not seen[userId] and redis.call('HEXISTS', k.unread, userId) == 1 then
      seen[userId] = true
      redis.call('HINCRBY', k.mentions, userId, 1)
    end
  end
end

if redis.call('HEXISTS', k.unread, senderId) == 1 then
  redis.call('HSET', k.unread, senderId, 0)
  redis.call('HSET', k.mentions, senderId, 0)
  redis.call('HSET', k.reads, senderId, seq .. '|' .. now_ms() .. '|' .. messageId)
end
-- Every member's counter changed: one mark for all, not one per member (the flush reads them all).
redis.call('SADD', k.dmem, '*')
redis.call('SADD', dirty, channelId)
return { 1, seq }
