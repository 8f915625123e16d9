-- receipts: members whose cursor is at or past messageId's seq, sorted by userId, one page
-- (read only). Readers are found by score on the cursor index, then sorted: O(readers).
-- KEYS[1..11] the channel's keys
-- ARGV[1] channelId, ARGV[2] messageId, ARGV[3] limit, ARGV[4] after (userId or '')
-- Returns { seq, memberCount, readCount, next or '', userId1, readSeq1, … }
--   | error RS_NOT_LOADED, RS_NOT_FOUND, RS_UNKNOWN_MESSAGE
local k = channel_keys(0)
local messageId, limit, after = ARGV[2], tonumber(ARGV[3]), ARGV[4]
if not is_loaded(k) then return redis.error_reply('RS_NOT_LOADED') end
if redis.call('HGET', k.meta, 'live') ~= '1' then return redis.error_reply('RS_NOT_FOUND') end
local seq = tonumber(redis.call('HGET', k.msg, messageId))
if not seq then return redis.error_reply('RS_UNKNOWN_MESSAGE') end

local readers = redis.call('ZRANGE', k.cur, seq, '+inf', 'BYSCORE', 'WITHSCORES')
local candidates = {}
for i = 1, #readers, 2 do
  if readers[i] > after then table.insert(candidates, i) end
end
-- Lua compares strings bytewise: code-point order for the ASCII IDs allow.
table.sort(candidates, function(a, b) return readers[a] < readers[b] end)

local reply = { seq, redis.call('ZCARD', k.cur), #readers / 2, '' }
local count = math.min(limit, #candidates)
for n = 1, count do
  local i = candidates[n]
  table.insert(reply, readers[i])
  table.insert(reply, tonumber(readers[i + 1]))
end
if #candidates > count then reply[4] = readers[candidates[count]] end
return reply
