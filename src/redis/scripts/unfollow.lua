-- unfollow: drop userId's thread state and remember the unfollow ('x'): replies no longer make the
-- user a follower, except their own and those naming them.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] threadId, a[3] userId
-- Returns 1 | nil, error code RS_NOT_LOADED, RS_NOT_FOLLOWING
OPS.unfollow = function(k, dirty, a)
  local channelId, threadId, userId = a[1], a[2], a[3]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  local field = follower_field(threadId, userId)
  if not parse_follower(redis.call('HGET', k.th, field)) then return nil, 'RS_NOT_FOLLOWING' end

  redis.call('HSET', k.th, field, 'x')
  redis.call('ZREM', k.ix, 'f|' .. threadId .. '|' .. userId)
  redis.call('ZADD', k.dmem, next_version(k), '#' .. threadId .. '|' .. userId)
  mark_dirty(k, dirty, channelId, now_ms())
  publish_change(k, 'unfollow', userId, threadId)
  return 1
end
