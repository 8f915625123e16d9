-- leave: remove userId and its state from the channel. The worker writes the removal as a
-- versioned tombstone, so a stale flush can never bring the member back.
-- KEYS[1..11] the channel's keys, KEYS[12] the partition's dirty index
-- ARGV[1] channelId, ARGV[2] userId
-- Returns 1 | error RS_NOT_LOADED, RS_NOT_A_MEMBER
local k = channel_keys(0)
local channelId, userId = ARGV[1], ARGV[2]
if not is_loaded(k) then return redis.error_reply('RS_NOT_LOADED') end
if not read_seq(k, userId) then return redis.error_reply('RS_NOT_A_MEMBER') end

local ver = next_version(k)
redis.call('ZREM', k.cur, userId)
redis.call('HDEL', k.lra, userId)
redis.call('ZADD', k.dmem, ver, userId)
mark_dirty(k, KEYS[12], channelId, now_ms())
return 1
