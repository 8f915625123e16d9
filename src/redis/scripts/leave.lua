-- leave: remove userId and its state from the channel. The worker writes the removal as a
-- versioned tombstone, so a stale flush can never bring the member back.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] userId
-- Returns 1 | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER
OPS.leave = function(k, dirty, a)
  local channelId, userId = a[1], a[2]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if not read_seq(k, userId) then return nil, 'RS_NOT_A_MEMBER' end

  local ver = next_version(k)
  redis.call('ZREM', k.cur, userId)
  redis.call('HDEL', k.lra, userId)
  redis.call('ZADD', k.dmem, ver, userId)
  mark_dirty(k, dirty, channelId, now_ms())
  return 1
end
