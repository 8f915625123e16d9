-- loadChannel: put a channel read from PostgreSQL into place, if this loader still holds the
-- channel's load lease (load_begin.lua). The loader filled staging keys (big channels take many
-- commands); this moves them in at once.
-- A lost lease means the snapshot may be outdated: the lease expired and another loader may have
-- taken a later generation and installed (and even flushed) a newer state, or Redis lost its data
-- since the read. Either way the snapshot is dropped and the caller loads again.
-- KEYS[1] the channel's base key, KEYS[2..12] the staging keys (keys.ts channelStaging; 2, meta's,
-- unused), KEYS[13] the channel's load lease
-- ARGV[1] seq, ARGV[2] lastMessageId or '', ARGV[3] version, ARGV[4] live '1' | '0',
-- ARGV[5] reset version, ARGV[6] cache ttl (ms), ARGV[7] the loader's token,
-- ARGV[8] fencing generation, ARGV[9] fenced '1' | '0' (absent from PostgreSQL, loaded for a read),
-- ARGV[10] deleted top-level messages (meta 'nd'), ARGV[11] '1' when it has thread entries (meta 'nt'),
-- ARGV[12] members who muted it (meta 'nm')
-- Returns 1 installed | 0 lease lost (staging dropped)
local k = channel_keys(0)
local staging = {}
for i = CHANNEL_KEYS + 1, CHANNEL_KEYS + 11 do table.insert(staging, KEYS[i]) end
local lease = KEYS[CHANNEL_KEYS + 12]

if redis.call('GET', lease) ~= ARGV[7] then
  redis.call('DEL', unpack(staging))
  return 0
end
redis.call('DEL', lease)

-- While the lease was held nobody else installed; what is there is an unfenced absent copy (which a
-- fenced load replaces) or leftovers of an earlier incarnation (keys created after the cache expiry
-- was set). Either goes first.
redis.call('DEL', k.meta, k.cur, k.lra, k.msg, k.seqs, k.mn, k.all, k.alls, k.mdat, k.th, k.ix, k.dmem, k.dmsg)
local cached = cached_keys(k)
for i = 2, #cached do
  if redis.call('EXISTS', staging[i]) == 1 then redis.call('RENAME', staging[i], cached[i]) end
end
redis.call('HSET', k.meta, 'seq', ARGV[1], 'lmid', ARGV[2], 'ver', ARGV[3], 'live', ARGV[4],
  'reset', ARGV[5], 'rf', ARGV[5], 'gen', ARGV[8])
if ARGV[9] ~= '1' then redis.call('HSET', k.meta, 'nf', '1') end
if ARGV[10] ~= '0' then redis.call('HSET', k.meta, 'nd', ARGV[10]) end
if ARGV[11] == '1' then redis.call('HSET', k.meta, 'nt', 1) end
if ARGV[12] ~= '0' then redis.call('HSET', k.meta, 'nm', ARGV[12]) end
-- Loaded state is clean: it expires with the rest of the cache unless a change makes it dirty.
expire_cached(k, now_ms() + tonumber(ARGV[6]))
return 1
