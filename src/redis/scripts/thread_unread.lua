-- threadUnread: set a follower's thread cursor to just before the reply messageId (seq - 1).
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] threadId, a[3] userId, a[4] messageId
-- Returns thread state | nil, error code RS_NOT_LOADED, RS_NOT_FOLLOWING, RS_UNKNOWN_MESSAGE
OPS.thread_unread = function(k, dirty, a)
  local channelId, threadId, userId, messageId = a[1], a[2], a[3], a[4]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  local readSeq, at, lastId = parse_follower(redis.call('HGET', k.th, follower_field(threadId, userId)))
  if not readSeq then return nil, 'RS_NOT_FOLLOWING' end
  local seq, inThread = message_position(redis.call('HGET', k.msg, messageId))
  if not seq or inThread ~= threadId then return nil, 'RS_UNKNOWN_MESSAGE' end
  local threadSeq = thread_seq(k, threadId)

  local target = seq - 1
  if target ~= readSeq then
    -- As a string: the stored value a later read answers with.
    local now = tostring(now_ms())
    local targetId = reply_id(k, threadId, target)
    set_thread_cursor(k, threadId, userId, target, now, targetId, next_version(k))
    mark_dirty(k, dirty, channelId, now)
    publish_change(k, 'thread_unread', userId, threadId)
    return thread_state(k, threadId, userId, target, threadSeq, now, targetId)
  end
  return thread_state(k, threadId, userId, readSeq, threadSeq, at, lastId)
end
