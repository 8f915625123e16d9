-- memberStates: one user's state in many channels at once, with their thread states (read only), for
-- userUnread, userThreads and markAllRead. One call instead of one per channel; on Redis Cluster the
-- caller groups channels by hash tag.
-- KEYS: 13 per channel (keys.ts order)
-- ARGV[1] userId, ARGV[2..] channelIds, in the order of their keys
-- Returns per channel: status ('ok' | 'not_loaded' | 'not_a_member'), the 8 fields of a member state
-- (zeros and '' unless 'ok'), the number n of threads the user follows there, then per thread (sorted
-- by threadId): threadId and the 7 fields of a thread state
local userId = ARGV[1]
local reply = {}
for i = 2, #ARGV do
  local k = channel_keys((i - 2) * CHANNEL_KEYS)
  local status, state = 'ok', { 0, 0, 0, 0, '', '', '', 0 }
  local threads = {}
  local seq = loaded_seq(k)
  if not seq then
    status = 'not_loaded'
  else
    local readSeq = read_seq(k, userId)
    if readSeq then
      state = member_state(k, userId, readSeq, seq)
      local prefix = 'u|' .. userId .. '|'
      for _, entry in ipairs(redis.call('ZRANGE', k.ix, '[' .. prefix, '(u|' .. userId .. '}', 'BYLEX')) do
        local threadId = string.sub(entry, #prefix + 1)
        local threadRead, at, lastId = parse_follower(redis.call('HGET', k.th, follower_field(threadId, userId)))
        if threadRead then
          table.insert(threads, threadId)
          for _, v in ipairs(thread_state(k, threadId, userId, threadRead, thread_seq(k, threadId), at, lastId)) do
            table.insert(threads, v)
          end
        end
      end
    else
      status = 'not_a_member'
    end
  end
  table.insert(reply, status)
  for _, v in ipairs(state) do table.insert(reply, v) end
  table.insert(reply, #threads / 8)
  for _, v in ipairs(threads) do table.insert(reply, v) end
end
return reply
