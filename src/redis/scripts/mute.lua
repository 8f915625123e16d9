-- mute: set whether userId's channel counts in the user's total unread. Kept in th ("q|userId"),
-- counted in meta 'nm' so that state reads of a channel nobody muted skip the lookup; a leave drops it.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] userId, a[3] muted '1' | '0'
-- Returns member state | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER
OPS.mute = function(k, dirty, a)
  local channelId, userId, muted = a[1], a[2], a[3] == '1'
  local seq, anyDeleted = loaded_seq(k)
  if not seq then return nil, 'RS_NOT_LOADED' end
  local readSeq = read_seq(k, userId)
  if not readSeq then return nil, 'RS_NOT_A_MEMBER' end

  local field = 'q|' .. userId
  local wasMuted = redis.call('HGET', k.th, field) == '1'
  if wasMuted ~= muted then
    if muted then
      redis.call('HSET', k.th, field, 1)
      redis.call('HINCRBY', k.meta, 'nm', 1)
    else
      redis.call('HDEL', k.th, field)
      redis.call('HINCRBY', k.meta, 'nm', -1)
    end
    redis.call('ZADD', k.dmem, next_version(k), userId)
    mark_dirty(k, dirty, channelId, now_ms())
    publish_change(k, 'mute', userId, '')
  end
  -- 0: this member is not muted, whoever else is.
  local anyMuted = 0
  if muted then anyMuted = 1 end
  return member_state(k, userId, readSeq, seq, nil, anyDeleted, anyMuted)
end
