-- post: allocate the next seq for messageId, O(1) in the channel's size. Idempotent per messageId.
-- Named mentions are the only per-member writes; @channel is stored once for the channel.
-- If the sender is a member its cursor moves to the new message.
-- KEYS[1..11] the channel's keys, KEYS[12] the partition's dirty index
-- ARGV[1] channelId, ARGV[2] messageId, ARGV[3] senderId, ARGV[4] mentionAll '1' | '0',
-- ARGV[5] mentions joined by ',' (deduplicated, may be empty)
-- Returns { created (1 | 0), seq } | error RS_NOT_LOADED
local k = channel_keys(0)
local channelId, messageId, senderId, mentionAll, mentions = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if not is_loaded(k) then return redis.error_reply('RS_NOT_LOADED') end

local existing = redis.call('HGET', k.msg, messageId)
if existing then return { 0, tonumber(existing) } end

local now = now_ms()
local seq = redis.call('HINCRBY', k.meta, 'seq', 1)
local ver = next_version(k)
redis.call('HSET', k.meta, 'lmid', messageId, 'live', 1)
touch_channel_row(k, ver)
redis.call('HSET', k.msg, messageId, seq)
redis.call('HSET', k.seqs, seq, messageId)
redis.call('HSET', k.mdat, messageId, senderId .. '|' .. mentionAll .. '|' .. mentions)
redis.call('ZADD', k.dmsg, ver, messageId)

local seqKey = pad(seq)
if mentionAll == '1' then
  -- @channel covers every named mention too: counting both would count the message twice.
  redis.call('ZADD', k.all, seq, seq)
  redis.call('ZADD', k.alls, 0, senderId .. '|' .. seqKey)
elseif mentions ~= '' then
  for userId in string.gmatch(mentions, '[^,]+') do
    if userId ~= senderId then redis.call('ZADD', k.mn, 0, userId .. '|' .. seqKey) end
  end
end

if read_seq(k, senderId) then
  redis.call('ZADD', k.cur, seq, senderId)
  redis.call('HSET', k.lra, senderId, now)
  redis.call('ZADD', k.dmem, ver, senderId)
end
mark_dirty(k, KEYS[12], channelId, now)
return { 1, seq }
