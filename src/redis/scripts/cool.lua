-- cool: give the cache of channels that stayed clean since a flush its expiry (expire_cached), so an
-- idle channel leaves Redis; a channel dirty again meanwhile is skipped (its next flush brings it
-- back here). Channels leave the cooling index either way.
-- KEYS[1] the partition's cooling index, KEYS[2] its dirty index, then each channel's base key
-- ARGV[1] cache ttl (ms), ARGV[2] the cut (ms): only channels clean since then or earlier,
-- ARGV[3..] channelIds, in the order of their keys
-- Returns the number of channels given an expiry
local cooling, dirty = KEYS[1], KEYS[2]
local ttl, cut = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local expired = 0
for i = 3, #ARGV do
  local channelId = ARGV[i]
  local since = redis.call('ZSCORE', cooling, channelId)
  -- Cleaned again after the caller read the index: it waits for a later sweep.
  if since and tonumber(since) <= cut then
    redis.call('ZREM', cooling, channelId)
    local k = channel_keys(2 + (i - 3) * CHANNEL_KEYS)
    -- Expired or deleted meanwhile (no meta), or already given one: nothing to do.
    if not redis.call('ZSCORE', dirty, channelId) and redis.call('PTTL', k.meta) == -1 then
      expire_cached(k, now + ttl)
      expired = expired + 1
    end
  end
end
return expired
