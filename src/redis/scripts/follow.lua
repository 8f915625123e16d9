-- follow: userId follows the thread, its cursor at the newest reply (nothing unread). An existing
-- follower is unchanged; an explicit follow is allowed after an unfollow.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] threadId, a[3] userId
-- Returns thread state | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER, RS_UNKNOWN_MESSAGE (the
-- root is not a top-level message of the channel)
OPS.follow = function(k, dirty, a)
  local channelId, threadId, userId = a[1], a[2], a[3]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if not read_seq(k, userId) then return nil, 'RS_NOT_A_MEMBER' end
  if not top_level_seq(k, threadId) then return nil, 'RS_UNKNOWN_MESSAGE' end

  local threadSeq = thread_seq(k, threadId)
  local readSeq, at, lastId = parse_follower(redis.call('HGET', k.th, follower_field(threadId, userId)))
  if readSeq then return thread_state(k, threadId, userId, readSeq, threadSeq, at, lastId) end

  start_following(k, threadId, userId, threadSeq, next_version(k))
  mark_dirty(k, dirty, channelId, now_ms())
  publish_change(k, 'follow', userId, threadId)
  return thread_state(k, threadId, userId, threadSeq, threadSeq, '', reply_id(k, threadId, threadSeq))
end
