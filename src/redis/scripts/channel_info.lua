-- channelInfo: the channel summary (read only).
-- k: the channel's keys (from KEYS)
-- a[1] channelId
-- Returns { channelSeq, memberCount, lastMessageId or '' } | nil, error code RS_NOT_LOADED, RS_NOT_FOUND
OPS.channel_info = function(k, dirty, a)
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  local meta = redis.call('HMGET', k.meta, 'seq', 'lmid', 'live')
  if meta[3] ~= '1' then return nil, 'RS_NOT_FOUND' end
  return { tonumber(meta[1] or '0'), redis.call('ZCARD', k.cur), meta[2] or '' }
end
