-- memberStates: one user's state in many channels at once, with their thread states (read only), for
-- userUnread, userThreads and markAllRead. One call instead of one per channel; on Redis Cluster the
-- caller groups channels by hash tag.
-- KEYS: each channel's base key (keys.ts channelBase)
-- ARGV[1] userId, ARGV[2..] channelIds, in the order of their keys
-- Returns per channel one string, '|'-separated (IDs never contain '|'; one bulk string costs both
-- sides less than ten replies): status ('ok' | 'not_loaded' | 'not_a_member'), then for 'ok' the 8
-- fields of a member state and the number n of threads the user follows there; then n strings, one
-- per thread (sorted by threadId): threadId and the 7 fields of a thread state
local userId = ARGV[1]
local reply = {}
for i = 2, #ARGV do
  local k = channel_keys((i - 2) * CHANNEL_KEYS)
  local meta = redis.call('HMGET', k.meta, 'seq', 'nd', 'nt', 'nm')
  local seq = tonumber(meta[1])
  local readSeq = seq and read_seq(k, userId)
  if not seq then
    table.insert(reply, 'not_loaded')
  elseif not readSeq then
    table.insert(reply, 'not_a_member')
  else
    local state = member_state(k, userId, readSeq, seq, nil, tonumber(meta[2] or '0'), tonumber(meta[4] or '0'))
    local threads = {}
    if meta[3] then
      local prefix = 'u|' .. userId .. '|'
      for _, entry in ipairs(redis.call('ZRANGE', k.ix, '[' .. prefix, '(u|' .. userId .. '}', 'BYLEX')) do
        local threadId = string.sub(entry, #prefix + 1)
        local threadRead, at, lastId = parse_follower(redis.call('HGET', k.th, follower_field(threadId, userId)))
        if threadRead then
          local t = thread_state(k, threadId, userId, threadRead, thread_seq(k, threadId), at, lastId)
          table.insert(threads, threadId .. '|' .. table.concat(t, '|'))
        end
      end
    end
    table.insert(reply, 'ok|' .. table.concat(state, '|') .. '|' .. #threads)
    for _, t in ipairs(threads) do table.insert(reply, t) end
  end
end
return reply
