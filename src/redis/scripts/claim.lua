-- claim: take a partition's flush lease and read what is dirty in the given channels, oldest
-- changes first, up to a row budget. Claiming changes nothing but the lease and the claim time:
-- the entries stay dirty until clear.lua removes exactly what was written.
-- KEYS[1] the partition's lease, KEYS[2] its dirty index, then each channel's base key
-- ARGV[1] workerId, ARGV[2] lease ms, ARGV[3] force '1' (ignore another's lease) | '0',
-- ARGV[4] row budget, ARGV[5..] channelIds, in the order of their keys
-- Returns {} when another worker holds the lease, else per claimed channel:
--   channelId, seq, lastMessageId, version, live, reset version, reset pending ('1' when not yet
--   flushed | '0'), claimed at (ms),
--   complete ('1' when every dirty entry fit in the budget | '0'), row version (of the channel's
--   own row), row dirty ('1' when that row changed since it was last written | '0'), fencing
--   generation of this copy (PostgreSQL writes the batch only while it still holds it),
--   member count n, n × (userId, readSeq or '' (left), lastReadAt or '', lastReadMessageId or '',
--   version, muted '1' | '0'),
--   follower count f, f × (threadId, userId, 'f' following | 'x' unfollowed | '' neither (left),
--   readSeq or '', lastReadAt or '', lastReadMessageId or '', version),
--   message count m, m × (messageId, seq, threadId or '', "senderId|mentionAll|mentions",
--   deleted '1' | '0', version)
local lease, dirty = KEYS[1], KEYS[2]
local workerId, leaseMs, force, budget = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])

local holder = redis.call('GET', lease)
if holder and holder ~= workerId and force ~= '1' then return {} end
redis.call('SET', lease, workerId, 'PX', leaseMs)

local now = now_ms()
local reply = {}
for i = 5, #ARGV do
  if budget <= 0 then break end
  local channelId = ARGV[i]
  if redis.call('ZSCORE', dirty, channelId) then
    local k = channel_keys(2 + (i - 5) * CHANNEL_KEYS)
    local meta = redis.call('HMGET', k.meta, 'seq', 'lmid', 'ver', 'live', 'reset', 'rf', 'cv', 'cw', 'gen', 'nm')
    local rowDirty = '0'
    if tonumber(meta[7] or '0') > tonumber(meta[8] or '0') then rowDirty = '1' end
    local resetPending = '0'
    if tonumber(meta[5] or '0') > tonumber(meta[6] or '0') then resetPending = '1' end
    redis.call('HSET', k.meta, 'ct', now)
    for _, v in ipairs({ channelId, meta[1] or '0', meta[2] or '', meta[3] or '0', meta[4] or '0', meta[5] or '0', resetPending, now, '0', meta[7] or '0', rowDirty, meta[9] or '0' }) do
      table.insert(reply, v)
    end
    local completeAt = #reply - 3

    -- dmem holds members and, prefixed '#', thread followers ("#threadId|userId").
    local changed = redis.call('ZRANGE', k.dmem, 0, budget - 1, 'WITHSCORES')
    -- One change may record several entries under one version (a leave and the thread entries it
    -- drops, a reply's new followers); clear.lua removes by version, so a claim takes such a group
    -- whole or not at all.
    if #changed / 2 == budget then
      local cut = changed[#changed]
      local following = redis.call('ZRANGE', k.dmem, budget, budget, 'WITHSCORES')
      if following[2] == cut then
        local whole = {}
        for j = 1, #changed, 2 do
          if changed[j + 1] ~= cut then
            table.insert(whole, changed[j])
            table.insert(whole, changed[j + 1])
          end
        end
        if #whole == 0 then whole = redis.call('ZRANGE', k.dmem, cut, cut, 'BYSCORE', 'WITHSCORES') end
        changed = whole
      end
    end
    local members, followers = {}, {}
    for j = 1, #changed, 2 do
      local entry, version = changed[j], changed[j + 1]
      if string.sub(entry, 1, 1) == '#' then
        local bar = string.find(entry, '|', 1, true)
        local threadId, userId = string.sub(entry, 2, bar - 1), string.sub(entry, bar + 1)
        local value = redis.call('HGET', k.th, follower_field(threadId, userId))
        local readSeq, at, lastId = parse_follower(value)
        local state = ''
        if readSeq then state = 'f' elseif value == 'x' then state = 'x' end
        for _, v in ipairs({ threadId, userId, state, readSeq or '', at or '', lastId or '', version }) do
          table.insert(followers, v)
        end
      else
        local readSeq = redis.call('ZSCORE', k.cur, entry)
        local at, lastId = last_read(redis.call('HGET', k.lra, entry))
        local mutedFlag = '0'
        if is_muted(k, entry, tonumber(meta[10] or '0')) then mutedFlag = '1' end
        for _, v in ipairs({ entry, readSeq or '', at, lastId, version, mutedFlag }) do
          table.insert(members, v)
        end
      end
    end
    table.insert(reply, #members / 6)
    for _, v in ipairs(members) do table.insert(reply, v) end
    table.insert(reply, #followers / 7)
    for _, v in ipairs(followers) do table.insert(reply, v) end
    budget = budget - #changed / 2

    local messages = {}
    if budget > 0 then messages = redis.call('ZRANGE', k.dmsg, 0, budget - 1, 'WITHSCORES') end
    table.insert(reply, #messages / 2)
    for j = 1, #messages, 2 do
      local messageId = messages[j]
      local seq, threadId = message_position(redis.call('HGET', k.msg, messageId))
      local marker = 'd|' .. pad(seq or 0)
      if threadId and threadId ~= '' then marker = 'r|' .. threadId .. '|' .. pad(seq) end
      local deleted = '0'
      if redis.call('ZSCORE', k.ix, marker) then deleted = '1' end
      for _, v in ipairs({ messageId, seq or 0, threadId or '', redis.call('HGET', k.mdat, messageId) or '||', deleted, messages[j + 1] }) do
        table.insert(reply, v)
      end
    end
    budget = budget - #messages / 2 - 1
    if redis.call('ZCARD', k.dmem) == #changed / 2 and redis.call('ZCARD', k.dmsg) == #messages / 2 then
      reply[completeAt] = '1'
    end
  end
end
return reply
