-- receipts: members whose cursor is at or past messageId's seq, sorted by userId, one page
-- (read only). Readers are found by score on the cursor index, then sorted: O(readers).
-- k: the channel's keys (from KEYS)
-- a[1] channelId, a[2] messageId, a[3] limit, a[4] after (userId or '')
-- Returns { seq, memberCount, readCount, next or '', userId1, readSeq1, … }
--   | nil, error code RS_NOT_LOADED, RS_NOT_FOUND, RS_UNKNOWN_MESSAGE
OPS.receipts = function(k, dirty, a)
  local messageId, limit, after = a[2], tonumber(a[3]), a[4]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if redis.call('HGET', k.meta, 'live') ~= '1' then return nil, 'RS_NOT_FOUND' end
  local seq = tonumber(redis.call('HGET', k.msg, messageId))
  if not seq then return nil, 'RS_UNKNOWN_MESSAGE' end

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
end
