-- clear: compare-and-clear after PostgreSQL committed a claimed batch. Removes only the entries
-- whose version was written; a channel that changed since its claim stays dirty, so the change goes
-- in the next batch (the lost-update race of write-behind caches).
-- A channel left clean goes to its partition's cooling index, not to an expiry: cool.lua gives its
-- cache one if it is still clean a while later (_lib.lua mark_dirty says why).
-- KEYS[1] the partition's lease, KEYS[2] its dirty index, KEYS[3] its cooling index, then each
-- channel's base key
-- ARGV[1] workerId, then 8 per channel: channelId, claimed version, highest member (and follower)
-- version written, highest message version written, reset written or '', '1' if everything dirty at
-- the claim was written | '0', channel row version written or '', the claimed copy's fencing
-- generation (a copy loaded since then keeps all of its entries)
-- Returns the number of channels now clean
local lease, dirty, cooling = KEYS[1], KEYS[2], KEYS[3]
local workerId = ARGV[1]
local now = now_ms()
local clean = 0

for i = 0, (#ARGV - 1) / 8 - 1 do
  local a = 2 + i * 8
  local channelId, claimed, memberVer, messageVer, reset, complete, row, gen =
    ARGV[a], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7]
  local k = channel_keys(3 + i * CHANNEL_KEYS)
  if redis.call('ZSCORE', dirty, channelId) and (redis.call('HGET', k.meta, 'gen') or '0') == gen then
    redis.call('ZREMRANGEBYSCORE', k.dmem, '-inf', memberVer)
    redis.call('ZREMRANGEBYSCORE', k.dmsg, '-inf', messageVer)
    if reset ~= '' then redis.call('HSET', k.meta, 'rf', reset) end
    if row ~= '' and tonumber(row) > tonumber(redis.call('HGET', k.meta, 'cw') or '0') then
      redis.call('HSET', k.meta, 'cw', row)
    end

    local meta = redis.call('HMGET', k.meta, 'ver', 'ct')
    if meta[1] == claimed and redis.call('EXISTS', k.dmem, k.dmsg) == 0 then
      redis.call('ZREM', dirty, channelId)
      redis.call('ZADD', cooling, now, channelId)
      clean = clean + 1
    elseif complete == '1' and meta[2] then
      -- What is still dirty changed after the claim: its age counts from the claim.
      redis.call('ZADD', dirty, 'XX', meta[2], channelId)
    end
  end
end
if redis.call('GET', lease) == workerId then redis.call('DEL', lease) end
return clean
