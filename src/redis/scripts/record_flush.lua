-- recordFlush: the last flush's figures, shared by every instance, stamped with Redis's clock.
-- Runs at maxmemory too (allow-oom, scripts.ts): it overwrites three fields of a small hash, and a
-- full Redis must not fail a flush pass that already wrote and cleared its batch.
-- KEYS[1] the sync stats hash
-- ARGV[1] rows, ARGV[2] ms
-- Returns the time recorded (ms)
local now = now_ms()
redis.call('HSET', KEYS[1], 'at', now, 'rows', ARGV[1], 'ms', ARGV[2])
return now
