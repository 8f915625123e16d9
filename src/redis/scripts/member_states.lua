-- memberStates: one user's state in many channels at once (read only), for userUnread. One call
-- instead of one per channel; on Redis Cluster the caller groups channels by hash tag.
-- KEYS: 11 per channel (keys.ts order)
-- ARGV[1] userId, ARGV[2..] channelIds, in the order of their keys
-- Returns per channel: status ('ok' | 'not_loaded' | 'not_a_member') followed by the 6 fields of
-- a member state (zeros and '' unless 'ok')
local userId = ARGV[1]
local reply = {}
for i = 2, #ARGV do
  local k = channel_keys((i - 2) * 11)
  local status, state = 'ok', { 0, 0, 0, 0, '', '' }
  local seq = loaded_seq(k)
  if not seq then
    status = 'not_loaded'
  else
    local readSeq = read_seq(k, userId)
    if readSeq then state = member_state(k, userId, readSeq, seq) else status = 'not_a_member' end
  end
  table.insert(reply, status)
  for _, v in ipairs(state) do table.insert(reply, v) end
end
return reply
