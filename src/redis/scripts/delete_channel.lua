-- deleteChannel: drop the channel's state; the next join or post starts again at seq 0. The version
-- keeps counting, and 'reset' tells the worker to delete every older row in PostgreSQL.
-- KEYS[1..11] the channel's keys, KEYS[12] the partition's dirty index
-- ARGV[1] channelId
-- Returns 1 | error RS_NOT_LOADED, RS_NOT_FOUND
local k = channel_keys(0)
local channelId = ARGV[1]
if not is_loaded(k) then return redis.error_reply('RS_NOT_LOADED') end
if redis.call('HGET', k.meta, 'live') ~= '1' then return redis.error_reply('RS_NOT_FOUND') end

redis.call('DEL', k.cur, k.lra, k.msg, k.seqs, k.mn, k.all, k.alls, k.dmem, k.dmsg, k.mdat)
local ver = next_version(k)
redis.call('HSET', k.meta, 'seq', 0, 'lmid', '', 'live', 0, 'reset', ver)
touch_channel_row(k, ver)
mark_dirty(k, KEYS[12], channelId, now_ms())
return 1
