-- deleteChannel: drop the channel's state, its threads included; the next join or post starts again
-- at seq 0. The version keeps counting, and 'reset' tells the worker to delete every older row in
-- PostgreSQL.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId
-- Returns 1 | nil, error code RS_NOT_LOADED, RS_NOT_FOUND
OPS.delete_channel = function(k, dirty, a)
  local channelId = a[1]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if redis.call('HGET', k.meta, 'live') ~= '1' then return nil, 'RS_NOT_FOUND' end

  redis.call('DEL', k.cur, k.lra, k.msg, k.seqs, k.mn, k.all, k.alls, k.mdat, k.th, k.ix, k.dmem, k.dmsg)
  local ver = next_version(k)
  redis.call('HSET', k.meta, 'seq', 0, 'lmid', '', 'live', 0, 'reset', ver)
  redis.call('HDEL', k.meta, 'nd', 'nt', 'nm')
  touch_channel_row(k, ver)
  mark_dirty(k, dirty, channelId, now_ms())
  publish_change(k, 'delete_channel', '', '')
  return 1
end
