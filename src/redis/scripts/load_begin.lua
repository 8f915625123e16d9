-- loadBegin: take a channel's load lease before reading it from PostgreSQL. One loader at a time,
-- across every instance: the generation a load takes in PostgreSQL is the one its copy installs, so
-- a second loader (whose later generation would fence the installed copy's flushes) must not run
-- meanwhile; load_channel.lua installs only while the lease still holds the loader's token.
-- KEYS[1] the channel's meta, KEYS[2] its load lease (keys.ts channelLoader)
-- ARGV[1] token, ARGV[2] lease ms, ARGV[3] fence '1' (the caller will write) | '0'
-- Returns 'loaded' (nothing to do) | 'busy' (another loader holds the lease) | 'go'
local meta, lease = KEYS[1], KEYS[2]
local token, leaseMs, fence = ARGV[1], ARGV[2], ARGV[3]

local state = redis.call('HMGET', meta, 'seq', 'nf')
-- A copy cached as absent without a generation holds nothing: a writer replaces it with a fenced one.
if state[1] and not (state[2] == '1' and fence == '1') then return 'loaded' end
if redis.call('SET', lease, token, 'NX', 'PX', leaseMs) then return 'go' end
return 'busy'
