-- loadChannel: put a channel read from PostgreSQL into place, unless another loader was first.
-- The loader filled staging keys (big channels take many commands); this moves them in at once.
-- KEYS[1..11] the channel's keys, KEYS[12..19] the staging keys (keys.ts channelStaging; 12 unused)
-- ARGV[1] seq, ARGV[2] lastMessageId or '', ARGV[3] version, ARGV[4] live '1' | '0',
-- ARGV[5] reset version, ARGV[6] cache ttl (ms)
-- Returns 1 loaded | 0 already loaded (staging dropped)
local k = channel_keys(0)
local staging = {}
for i = 12, 19 do table.insert(staging, KEYS[i]) end

if is_loaded(k) then
  redis.call('DEL', unpack(staging))
  return 0
end

-- Leftovers of an earlier incarnation (keys created after the cache expiry was set) go first.
redis.call('DEL', k.cur, k.lra, k.msg, k.seqs, k.mn, k.all, k.alls, k.dmem, k.dmsg, k.mdat)
local cached = cached_keys(k)
for i = 2, #cached do
  if redis.call('EXISTS', staging[i]) == 1 then redis.call('RENAME', staging[i], cached[i]) end
end
redis.call('HSET', k.meta, 'seq', ARGV[1], 'lmid', ARGV[2], 'ver', ARGV[3], 'live', ARGV[4],
  'reset', ARGV[5], 'rf', ARGV[5])
-- Loaded state is clean: it expires with the rest of the cache unless a change makes it dirty.
local expireAt = now_ms() + tonumber(ARGV[6])
for _, key in ipairs(cached) do redis.call('PEXPIREAT', key, expireAt) end
return 1
