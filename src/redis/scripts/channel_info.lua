-- channelInfo: the channel summary (read only).
-- KEYS[1..11] the channel's keys
-- ARGV[1] channelId
-- Returns { channelSeq, memberCount, lastMessageId or '' } | error RS_NOT_LOADED, RS_NOT_FOUND
local k = channel_keys(0)
if not is_loaded(k) then return redis.error_reply('RS_NOT_LOADED') end
local meta = redis.call('HMGET', k.meta, 'seq', 'lmid', 'live')
if meta[3] ~= '1' then return redis.error_reply('RS_NOT_FOUND') end
return { tonumber(meta[1] or '0'), redis.call('ZCARD', k.cur), meta[2] or '' }
