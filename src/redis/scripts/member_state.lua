-- memberState: one member's state (read only).
-- k: the channel's keys (from KEYS)
-- a[1] channelId, a[2] userId
-- Returns member state | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER
OPS.member_state = function(k, dirty, a)
  local userId = a[2]
  local seq, anyDeleted, anyMuted = loaded_seq(k)
  if not seq then return nil, 'RS_NOT_LOADED' end
  local readSeq = read_seq(k, userId)
  if not readSeq then return nil, 'RS_NOT_A_MEMBER' end
  return member_state(k, userId, readSeq, seq, nil, anyDeleted, anyMuted)
end
