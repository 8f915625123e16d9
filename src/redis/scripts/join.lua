-- join: add userId to the channel with its cursor at the current channelSeq (nothing unread).
-- Idempotent: an existing member is unchanged.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] userId
-- Returns { joined (1 new, 0 existing), member state… } | nil, error code RS_NOT_LOADED,
-- RS_NOT_FENCED (cached as absent without a fencing generation: load it fenced, then retry)
OPS.join = function(k, dirty, a)
  local channelId, userId = a[1], a[2]
  local meta = redis.call('HMGET', k.meta, 'seq', 'lmid', 'nf', 'nd', 'nm')
  if not meta[1] then return nil, 'RS_NOT_LOADED' end
  if meta[3] == '1' then return nil, 'RS_NOT_FENCED' end
  local seq = tonumber(meta[1])

  local readSeq = read_seq(k, userId)
  if readSeq then
    local state = member_state(k, userId, readSeq, seq, nil, tonumber(meta[4] or '0'), tonumber(meta[5] or '0'))
    table.insert(state, 1, 0)
    return state
  end

  local now = now_ms()
  local ver = next_version(k)
  if redis.call('HGET', k.meta, 'live') ~= '1' then
    redis.call('HSET', k.meta, 'live', 1)
    touch_channel_row(k, ver)
  end
  redis.call('ZADD', k.cur, seq, userId)
  -- Joining sets no read time; the last read message is the newest one.
  local lastRead = '|' .. (meta[2] or '')
  redis.call('HSET', k.lra, userId, lastRead)
  redis.call('ZADD', k.dmem, ver, userId)
  mark_dirty(k, dirty, channelId, now)
  publish_change(k, 'join', userId, '')
  local state = member_state(k, userId, seq, seq, lastRead)
  table.insert(state, 1, 1)
  return state
end
