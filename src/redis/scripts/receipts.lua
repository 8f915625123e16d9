-- receipts: who has read messageId, sorted by userId, one page (read only). For a top-level message,
-- members whose cursor is at or past its seq, found by score on the cursor index: O(readers). For a
-- reply, the thread's followers at or past its seq: O(followers).
-- k: the channel's keys (from KEYS)
-- a[1] channelId, a[2] messageId, a[3] limit, a[4] after (userId or '')
-- Returns { seq, memberCount, readCount, next or '', userId1, readSeq1, … }
--   | nil, error code RS_NOT_LOADED, RS_NOT_FOUND, RS_UNKNOWN_MESSAGE
OPS.receipts = function(k, dirty, a)
  local messageId, limit, after = a[2], tonumber(a[3]), a[4]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if redis.call('HGET', k.meta, 'live') ~= '1' then return nil, 'RS_NOT_FOUND' end
  local seq, threadId = message_position(redis.call('HGET', k.msg, messageId))
  if not seq then return nil, 'RS_UNKNOWN_MESSAGE' end

  -- readers: userId, readSeq pairs in any order; memberCount: members (or followers).
  local readers, memberCount = {}, 0
  if threadId == '' then
    readers = redis.call('ZRANGE', k.cur, seq, '+inf', 'BYSCORE', 'WITHSCORES')
    memberCount = redis.call('ZCARD', k.cur)
  else
    local prefix = 'f|' .. threadId .. '|'
    local followers = redis.call('ZRANGE', k.ix, '[' .. prefix, '(f|' .. threadId .. '}', 'BYLEX')
    memberCount = #followers
    if memberCount > 0 then
      local fields = {}
      for i, entry in ipairs(followers) do fields[i] = follower_field(threadId, string.sub(entry, #prefix + 1)) end
      local values = redis.call('HMGET', k.th, unpack(fields))
      for i, entry in ipairs(followers) do
        local readSeq = parse_follower(values[i])
        if readSeq and readSeq >= seq then
          table.insert(readers, string.sub(entry, #prefix + 1))
          table.insert(readers, readSeq)
        end
      end
    end
  end

  local candidates = {}
  for i = 1, #readers, 2 do
    if readers[i] > after then table.insert(candidates, i) end
  end
  -- Lua compares strings bytewise: code-point order for the ASCII IDs allow.
  table.sort(candidates, function(x, y) return readers[x] < readers[y] end)

  local reply = { seq, memberCount, #readers / 2, '' }
  local count = math.min(limit, #candidates)
  for n = 1, count do
    local i = candidates[n]
    table.insert(reply, readers[i])
    table.insert(reply, tonumber(readers[i + 1]))
  end
  if #candidates > count then reply[4] = readers[candidates[count]] end
  return reply
end
