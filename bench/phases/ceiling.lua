-- ceiling: the cheapest script shaped like a readstate write, for the ceiling-redis phase. Four
-- commands on keys of one hash tag, as a readstate operation touches one channel's keys.
-- KEYS[1] a channel-like hash (a sequence and one field per member)
-- KEYS[2] a cursor-like sorted set (one entry per member)
-- ARGV[1] the member (one per virtual client, so the keys stay small however long the run)
-- Returns the member's field: the sequence this call drew.
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], ARGV[1], seq)
redis.call('ZADD', KEYS[2], seq, ARGV[1])
return redis.call('HGET', KEYS[1], ARGV[1])
