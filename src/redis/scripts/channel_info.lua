-- channelInfo: the channel summary (read only). lastMessageId skips deleted messages.
-- k: the channel's keys (from KEYS)
-- a[1] channelId
-- Returns { channelSeq, memberCount, lastMessageId or '' } | nil, error code RS_NOT_LOADED, RS_NOT_FOUND
OPS.channel_info = function(k, dirty, a)
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  local meta = redis.call('HMGET', k.meta, 'seq', 'lmid', 'live')
  if meta[3] ~= '1' then return nil, 'RS_NOT_FOUND' end
  local seq = tonumber(meta[1] or '0')
  local last = meta[2] or ''
  if seq > 0 and redis.call('ZSCORE', k.ix, 'd|' .. pad(seq)) then
    local live = last_live(k, 'd|', seq)
    last = ''
    if live > 0 then last = redis.call('HGET', k.seqs, live) or '' end
  end
  return { seq, redis.call('ZCARD', k.cur), last }
end
