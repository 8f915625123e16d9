-- loadAbort: give a channel's load lease back after a failed load, if it is still this loader's.
-- KEYS[1] the channel's load lease
-- ARGV[1] token
-- Returns 1 released | 0 not held
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
