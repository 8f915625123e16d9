-- markRead: move userId's cursor forward to messageId, or to the newest message when messageId is
-- empty. Reading an older message than the cursor changes nothing.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] userId, a[3] messageId or '' (a top-level message: a reply is unknown here)
-- Returns member state | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER, RS_UNKNOWN_MESSAGE
OPS.mark_read = function(k, dirty, a)
  local channelId, userId, messageId = a[1], a[2], a[3]
  local meta = redis.call('HMGET', k.meta, 'seq', 'lmid', 'nd', 'nm')
  if not meta[1] then return nil, 'RS_NOT_LOADED' end
  local seq, anyDeleted, anyMuted = tonumber(meta[1]), tonumber(meta[3] or '0'), tonumber(meta[4] or '0')
  local readSeq = read_seq(k, userId)
  if not readSeq then return nil, 'RS_NOT_A_MEMBER' end

  local target, targetId = nil, messageId
  if messageId == '' then
    -- The newest message, deleted or not: lmid names the message at seq.
    target, targetId = seq, meta[2] or ''
  else
    target = top_level_seq(k, messageId)
    if not target then return nil, 'RS_UNKNOWN_MESSAGE' end
  end

  if target > readSeq then
    local lastRead = set_cursor(k, dirty, channelId, userId, target, targetId, now_ms())
    publish_change(k, 'mark_read', userId, '')
    return member_state(k, userId, target, seq, lastRead, anyDeleted, anyMuted)
  end
  return member_state(k, userId, readSeq, seq, nil, anyDeleted, anyMuted)
end
