-- mute: set whether userId's channel counts in the user's total unread. Kept with the last read
-- (lra), so a leave drops it.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] userId, a[3] muted '1' | '0'
-- Returns member state | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER
OPS.mute = function(k, dirty, a)
  local channelId, userId, muted = a[1], a[2], a[3] == '1'
  local seq = loaded_seq(k)
  if not seq then return nil, 'RS_NOT_LOADED' end
  local readSeq = read_seq(k, userId)
  if not readSeq then return nil, 'RS_NOT_A_MEMBER' end

  local at, lastId, wasMuted = last_read(redis.call('HGET', k.lra, userId))
  local lastRead = last_read_value(at, lastId, muted)
  if wasMuted ~= muted then
    redis.call('HSET', k.lra, userId, lastRead)
    redis.call('ZADD', k.dmem, next_version(k), userId)
    mark_dirty(k, dirty, channelId, now_ms())
  end
  return member_state(k, userId, readSeq, seq, lastRead)
end
