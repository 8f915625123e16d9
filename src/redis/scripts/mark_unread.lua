-- markUnread: set userId's cursor to just before messageId (seq - 1), backwards or forwards.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] userId, a[3] messageId (a top-level message: a reply is unknown here)
-- Returns member state | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER, RS_UNKNOWN_MESSAGE
OPS.mark_unread = function(k, dirty, a)
  local channelId, userId, messageId = a[1], a[2], a[3]
  local channelSeq, anyDeleted, anyMuted = loaded_seq(k)
  if not channelSeq then return nil, 'RS_NOT_LOADED' end
  local readSeq = read_seq(k, userId)
  if not readSeq then return nil, 'RS_NOT_A_MEMBER' end
  local seq = top_level_seq(k, messageId)
  if not seq then return nil, 'RS_UNKNOWN_MESSAGE' end

  local target = seq - 1
  if target ~= readSeq then
    local targetId = ''
    if target > 0 then targetId = redis.call('HGET', k.seqs, target) or '' end
    local lastRead = set_cursor(k, dirty, channelId, userId, target, targetId, now_ms())
    publish_change(k, 'mark_unread', userId, '')
    return member_state(k, userId, target, channelSeq, lastRead, anyDeleted, anyMuted)
  end
  return member_state(k, userId, readSeq, channelSeq, nil, anyDeleted, anyMuted)
end
