-- threadState: one follower's state in a thread (read only).
-- k: the channel's keys (from KEYS)
-- a[1] channelId, a[2] threadId, a[3] userId
-- Returns thread state | nil, error code RS_NOT_LOADED, RS_NOT_FOLLOWING
OPS.thread_state = function(k, dirty, a)
  local threadId, userId = a[2], a[3]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  local readSeq, at, lastId = parse_follower(redis.call('HGET', k.th, follower_field(threadId, userId)))
  if not readSeq then return nil, 'RS_NOT_FOLLOWING' end
  return thread_state(k, threadId, userId, readSeq, thread_seq(k, threadId), at, lastId)
end
