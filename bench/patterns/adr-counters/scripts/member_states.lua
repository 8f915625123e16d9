-- memberStates: one user's state in many channels at once (memberState, userUnread), read only.
-- One Redis only: the channels may hash to different slots (see keys.ts).
-- KEYS: 6 per channel (keys.ts order)
-- ARGV[1] userId
-- Returns per channel the member's state (_lib.lua), or '' when the user is not a member
local userId = ARGV[1]
local reply = {}
for offset = 0, #KEYS - CHANNEL_KEYS, CHANNEL_KEYS do
  local k = channel_keys(offset)
  local seq = redis.call('HGET', k.meta, 'seq')
  table.insert(reply, (seq and state_of(k, userId, seq)) or '')
end
return reply
