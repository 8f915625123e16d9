-- threadInfo: the thread summary (read only). lastMessageId skips deleted replies.
-- k: the channel's keys (from KEYS)
-- a[1] channelId, a[2] threadId
-- Returns { threadSeq, followerCount, lastMessageId or '' } | nil, error code RS_NOT_LOADED,
-- RS_NOT_FOUND (neither a reply nor a follower)
OPS.thread_info = function(k, dirty, a)
  local threadId = a[2]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  local threadSeq = thread_seq(k, threadId)
  local followers = redis.call('ZLEXCOUNT', k.ix, '[f|' .. threadId .. '|', '(f|' .. threadId .. '}')
  if threadSeq == 0 and followers == 0 then return nil, 'RS_NOT_FOUND' end
  local live = last_live(k, 'r|' .. threadId .. '|', threadSeq)
  return { threadSeq, followers, reply_id(k, threadId, live) }
end
