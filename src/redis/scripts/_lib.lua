-- Shared by every script; prepended at registration. Defines no keys of its own: every key a script
-- touches arrives in KEYS, built by src/redis/keys.ts.
--
-- A channel's keys come in the order of CHANNEL_KEY_NAMES (keys.ts), starting at KEYS[base + 1].
-- An operation returns its error before any write: Redis does not roll back a script's earlier
-- writes.

-- The operations, one file each (join.lua, post.lua, …): OPS.<name>(k, dirty, a) returns the
-- result, or nil and an error code. A script runs one of them (run_single) or many (apply.lua).
local OPS = {}

local function channel_keys(base)
  return {
    meta = KEYS[base + 1], cur = KEYS[base + 2], lra = KEYS[base + 3], msg = KEYS[base + 4],
    seqs = KEYS[base + 5], mn = KEYS[base + 6], all = KEYS[base + 7], alls = KEYS[base + 8],
    dmem = KEYS[base + 9], dmsg = KEYS[base + 10], mdat = KEYS[base + 11],
  }
end

-- The keys holding a clean channel's cache, meta first.
local function cached_keys(k)
  return { k.meta, k.cur, k.lra, k.msg, k.seqs, k.mn, k.all, k.alls }
end

-- The rest of a clean channel's cache expires this long after its meta.
local CACHE_TAIL_MS = 1000

-- Sets a clean channel's cache to expire at expireAt. Every script takes the channel as loaded when
-- its meta exists, so meta must go first: keys sharing one expiry time do not vanish together
-- (Redis's active expiry cycle can delete some of them and leave others for a script to find), and
-- a script would then read a partial copy (members without cursors). A load deletes the leftovers.
local function expire_cached(k, expireAt)
  for i, key in ipairs(cached_keys(k)) do
    if i == 1 then
      redis.call('PEXPIREAT', key, expireAt)
    else
      redis.call('PEXPIREAT', key, expireAt + CACHE_TAIL_MS)
    end
  end
end

-- One TIME per call: the call is atomic, so every operation in it happens at the same moment.
local script_now
local function now_ms()
  if not script_now then
    local t = redis.call('TIME')
    script_now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  return script_now
end

-- Mention index entries sort by user, then seq: "userId|0000000000000042". '|' and '}' never occur
-- in IDs, so "(userId}" bounds one user's range.
local function pad(seq)
  return string.format('%016d', seq)
end

local function is_loaded(k)
  return redis.call('EXISTS', k.meta) == 1
end

-- The channelSeq, or nil when the channel is not loaded: one command for both questions.
local function loaded_seq(k)
  local seq = redis.call('HGET', k.meta, 'seq')
  if seq then return tonumber(seq) end
  return nil
end

-- Mentions of userId above readSeq: named mentions, plus @channel messages not sent by the user.
-- The one place the count is computed (message deletion and muting will extend it here).
local function mentions_above(k, userId, readSeq)
  local above = '(' .. userId .. '|' .. pad(readSeq)
  local upper = '(' .. userId .. '}'
  local named = redis.call('ZLEXCOUNT', k.mn, above, upper)
  local everyone = redis.call('ZCOUNT', k.all, '(' .. readSeq, '+inf')
  local own = 0
  if everyone > 0 then
    own = redis.call('ZLEXCOUNT', k.alls, above, upper)
  end
  return named + everyone - own
end

-- A member's last read, kept beside its cursor as "lastReadAt|lastReadMessageId" (either part may
-- be empty): one read answers both, instead of a second lookup in the seq index.
local function last_read(value)
  if not value then return '', '' end
  local bar = string.find(value, '|', 1, true)
  if not bar then return value, '' end
  return string.sub(value, 1, bar - 1), string.sub(value, bar + 1)
end

-- The member state reply: { readSeq, channelSeq, unread, mentions, lastReadMessageId or '', lastReadAt or '' }.
-- The last read is fetched unless the caller just wrote it.
local function member_state(k, userId, readSeq, seq, lastRead)
  local unread = seq - readSeq
  if unread < 0 then unread = 0 end
  local mentions = 0
  if unread > 0 then mentions = mentions_above(k, userId, readSeq) end
  local at, lastId = last_read(lastRead or redis.call('HGET', k.lra, userId))
  return { readSeq, seq, unread, mentions, lastId, at }
end

local function read_seq(k, userId)
  local score = redis.call('ZSCORE', k.cur, userId)
  if not score then return nil end
  return tonumber(score)
end

-- A new version for the change about to be written (monotonic per channel, also across deletes and
-- reloads: PostgreSQL keeps the highest version written).
local function next_version(k)
  return redis.call('HINCRBY', k.meta, 'ver', 1)
end

-- Marks the channel dirty in its partition, keeping the time it first became dirty. A clean channel
-- carries an expiry; dirty state must never expire, so the first change after a flush removes it.
local function mark_dirty(k, dirty, channelId, now)
  if redis.call('ZADD', dirty, 'NX', now, channelId) == 1 then
    for _, key in ipairs(cached_keys(k)) do redis.call('PERSIST', key) end
  end
end

-- Records that the channel's own row (seq, last message, live, reset) changed at version ver; the
-- worker writes that row only when it did, not on every cursor move.
local function touch_channel_row(k, ver)
  redis.call('HSET', k.meta, 'cv', ver)
end

-- Moves userId's cursor to readSeq (the message messageId, '' for none) and records the change for
-- the worker. Returns the last read it stored.
local function set_cursor(k, dirty, channelId, userId, readSeq, messageId, now)
  local ver = next_version(k)
  local lastRead = now .. '|' .. messageId
  redis.call('ZADD', k.cur, readSeq, userId)
  redis.call('HSET', k.lra, userId, lastRead)
  redis.call('ZADD', k.dmem, ver, userId)
  mark_dirty(k, dirty, channelId, now)
  return lastRead
end

-- True when the call's deadline (ms in Redis time, '' for none) has passed. The caller stopped
-- waiting at its timeout and answered 503 "nothing was applied" (Redis was stopped or busy): such a
-- call must change nothing. Checked before the first command, so it also fixes now_ms() for the call.
local function past_deadline(deadline)
  if deadline == '' then return false end
  return now_ms() > tonumber(deadline)
end

-- The body of a single-operation script: KEYS are one channel's keys (then its dirty index), ARGV
-- the call's deadline, then the operation's arguments.
local function run_single(op)
  if past_deadline(ARGV[1]) then return redis.error_reply('RS_DEADLINE') end
  local a = {}
  for i = 2, #ARGV do a[i - 1] = ARGV[i] end
  local result, err = op(channel_keys(0), KEYS[12], a)
  if err then return redis.error_reply(err) end
  return result
end
