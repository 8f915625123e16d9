-- apply: run many operations in one call, in order, each atomic as the single-operation script is
-- (the whole call is). Saves the per-call cost of a script when callers send many operations at once.
-- An operation's failure (including RS_NOT_LOADED) is its own result; the following ones still run.
-- KEYS: 2 per operation: the channel's base key (keys.ts channelBase), then its partition's dirty index
-- ARGV[1] the call's deadline (ms in Redis time, '' for none), then per operation: its name (an OPS
-- entry, e.g. 'mark_read'), its argument count n, n arguments
-- Returns per operation { 1, result } or { 0, error code } | error RS_DEADLINE (nothing applied)
if past_deadline(ARGV[1]) then return redis.error_reply('RS_DEADLINE') end
local reply = {}
local at = 2
local stride = CHANNEL_KEYS + 1
for i = 0, #KEYS / stride - 1 do
  local name, n = ARGV[at], tonumber(ARGV[at + 1])
  local a = {}
  for j = 1, n do a[j] = ARGV[at + 1 + j] end
  at = at + 2 + n
  local result, err = OPS[name](channel_keys(i * stride), KEYS[i * stride + stride], a)
  if err then reply[i + 1] = { 0, err } else reply[i + 1] = { 1, result } end
end
return reply
