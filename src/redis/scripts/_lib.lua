-- Shared by every script; the start of the function library (scripts.ts), defined once when it is
-- loaded. Defines no keys of its own: every key a script touches arrives in KEYS (built by
-- src/redis/keys.ts), or is a channel's key formed from its base key there (channel_keys below).
-- KEYS and ARGV are the library's locals, set on entry to each function.
--
-- A channel's keys come from its base key, KEYS[base + 1] (channel_keys below).
-- An operation returns its error before any write: Redis does not roll back a script's earlier
-- writes.

-- The operations, one file each (join.lua, post.lua, …): OPS.<name>(k, dirty, a) returns the
-- result, or nil and an error code. A script runs one of them (run_single) or many (apply.lua).
local OPS = {}

-- A channel arrives as one key in KEYS, its base ("<prefix>:{p<n>}:c:<channelId>:", keys.ts
-- channelBase); its keys are the base followed by their names (keys.ts CHANNEL_KEY_NAMES), formed
-- here when first used. All share the base's hash tag, so on Redis Cluster they are in the slot the
-- call was routed to. Thirteen keys per channel in KEYS cost more to send, parse and turn into Lua
-- strings than the rest of a small operation (measured in the commit that made this change).
local CHANNEL_KEY_NAME = {
  meta = true, cur = true, lra = true, msg = true, seqs = true, mn = true, all = true, alls = true,
  mdat = true, th = true, ix = true, dmem = true, dmsg = true,
}
local channel_key_of = {
  __index = function(k, name)
    if not CHANNEL_KEY_NAME[name] then error('no channel key named ' .. tostring(name)) end
    local key = k[1] .. name
    rawset(k, name, key)
    return key
  end,
}
local function channel_keys(base)
  return setmetatable({ KEYS[base + 1] }, channel_key_of)
end
-- Keys per channel in KEYS (its base); a write's dirty index follows it.
local CHANNEL_KEYS = 1

-- The keys holding a clean channel's cache, meta first.
local function cached_keys(k)
  return { k.meta, k.cur, k.lra, k.msg, k.seqs, k.mn, k.all, k.alls, k.mdat, k.th, k.ix }
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

-- One TIME per call: the call is atomic, so every operation in it happens at the same moment. The
-- library outlives calls: each function resets this on entry (scripts.ts).
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

-- The channelSeq, or nil when the channel is not loaded: one command for both questions. Then how
-- many of its messages were ever deleted (meta 'nd') and how many members muted it (meta 'nm'):
-- 0 spares member_state a command each.
local function loaded_seq(k)
  local meta = redis.call('HMGET', k.meta, 'seq', 'nd', 'nm')
  if meta[1] then return tonumber(meta[1]), tonumber(meta[2] or '0'), tonumber(meta[3] or '0') end
  return nil
end

-- Mentions of userId above readSeq: named mentions, plus @channel messages not sent by the user.
-- The one place the count is computed, with unread_above its twin. A deleted message's entries
-- leave the indexes when it is deleted (delete_message.lua), so both count live messages only.
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

-- Live (non-deleted) messages above readSeq, and how many deleted ones lie there too. anyDeleted:
-- the channel's meta 'nd' (nil or 0 when no message of it was ever deleted).
local function unread_above(k, readSeq, seq, anyDeleted)
  if seq <= readSeq then return 0, 0 end
  if not anyDeleted or anyDeleted == 0 then return seq - readSeq, 0 end
  local deleted = redis.call('ZLEXCOUNT', k.ix, '(d|' .. pad(readSeq), '(d}')
  return seq - readSeq - deleted, deleted
end

-- The first seq at or above `from` not marked deleted in ix under `prefix` ("d|" for messages,
-- "r|threadId|" for replies). Deleted runs are short in practice; the walk goes on in pages while
-- they are not.
local function first_live(k, prefix, from)
  local candidate = from
  local upper = '(' .. string.sub(prefix, 1, -2) .. '}'
  while true do
    local run = redis.call('ZRANGE', k.ix, '[' .. prefix .. pad(candidate), upper, 'BYLEX', 'LIMIT', 0, 100)
    for _, entry in ipairs(run) do
      if tonumber(string.sub(entry, #prefix + 1)) ~= candidate then return candidate end
      candidate = candidate + 1
    end
    if #run < 100 then return candidate end
  end
end

-- The newest seq at or below `from` not marked deleted under `prefix` (0 when none).
local function last_live(k, prefix, from)
  local candidate = from
  local lower = '[' .. prefix
  while candidate > 0 do
    local run = redis.call('ZRANGE', k.ix, '[' .. prefix .. pad(candidate), lower, 'BYLEX', 'REV', 'LIMIT', 0, 100)
    for _, entry in ipairs(run) do
      if tonumber(string.sub(entry, #prefix + 1)) ~= candidate then return candidate end
      candidate = candidate - 1
    end
    if #run < 100 then return candidate end
  end
  return 0
end

-- The messageId of the oldest live message above readSeq ('' when none: unread is 0).
local function first_unread(k, readSeq, unread, deleted)
  if unread <= 0 then return '' end
  local seq = readSeq + 1
  if deleted > 0 then seq = first_live(k, 'd|', seq) end
  return redis.call('HGET', k.seqs, seq) or ''
end

-- A member's last read, kept beside its cursor as "lastReadAt|lastReadMessageId" (either part may be
-- empty): one read answers both, instead of a second lookup in the seq index.
local function last_read(value)
  if not value then return '', '' end
  local bar = string.find(value, '|', 1, true)
  if not bar then return value, '' end
  return string.sub(value, 1, bar - 1), string.sub(value, bar + 1)
end

-- Whether userId muted the channel: "q|userId" in th, looked up only when some member did (anyMuted,
-- the channel's meta 'nm'). Kept apart from the last read so that a cursor move need not read it.
local function is_muted(k, userId, anyMuted)
  if not anyMuted or anyMuted == 0 then return false end
  return redis.call('HGET', k.th, 'q|' .. userId) == '1'
end

-- The member state reply: { readSeq, channelSeq, unread, mentions, lastReadMessageId or '',
-- lastReadAt or '', firstUnreadMessageId or '', muted 1 | 0 }.
-- The last read is fetched unless the caller just wrote it; anyDeleted and anyMuted are the channel's
-- meta 'nd' and 'nm'.
local function member_state(k, userId, readSeq, seq, lastRead, anyDeleted, anyMuted)
  local unread, deleted = unread_above(k, readSeq, seq, anyDeleted)
  local mentions = 0
  if unread > 0 then mentions = mentions_above(k, userId, readSeq) end
  local at, lastId = last_read(lastRead or redis.call('HGET', k.lra, userId))
  local mutedFlag = 0
  if is_muted(k, userId, anyMuted) then mutedFlag = 1 end
  return { readSeq, seq, unread, mentions, lastId, at, first_unread(k, readSeq, unread, deleted), mutedFlag }
end

-- A message as msg holds it: its seq, and its thread ('' for a top-level message).
local function message_position(value)
  if not value then return nil, nil end
  local bar = string.find(value, '|', 1, true)
  if not bar then return tonumber(value), '' end
  return tonumber(string.sub(value, 1, bar - 1)), string.sub(value, bar + 1)
end

-- The seq of a top-level message of the channel (nil for a reply or an unknown messageId).
local function top_level_seq(k, messageId)
  local seq, threadId = message_position(redis.call('HGET', k.msg, messageId))
  if threadId == '' then return seq end
  return nil
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

-- Marks the channel dirty in its partition, keeping the time it first became dirty. Dirty state must
-- never expire, so the first change after a flush removes the cache's expiry, if it has one: a
-- flushed channel gets one only once it stayed clean for a while (cool.lua), and a busy channel,
-- dirty again within a round, never does. (Setting it at every flush and removing it at the next
-- change cost 22 commands per channel per round, a tenth of Redis's commands under the bench.)
-- All of a copy's keys carry an expiry or none do (expire_cached, here): meta's tells.
local function mark_dirty(k, dirty, channelId, now)
  if redis.call('ZADD', dirty, 'NX', now, channelId) == 1 and redis.call('PTTL', k.meta) >= 0 then
    for _, key in ipairs(cached_keys(k)) do redis.call('PERSIST', key) end
  end
end

-- Tells every instance that the channel changed (API.md, "Live events"): one sharded pub/sub
-- message per change, whatever the channel's size; each instance then reads the new state of the
-- streams it holds. The shard channel is named after meta's key ("…:c:<channelId>:meta" gives
-- "…:c:<channelId>:feed", keys.ts channelFeed) so that it hashes to the channel's slot, which a
-- script's SPUBLISH needs on Redis Cluster. Called only when something changed.
-- Payload "<op>|<users>|<threads>|<Redis ms>": users '' means every member (or, for a reply or a
-- deleted reply, every follower); a reply lists the users it made followers, a leave the threads it
-- made the user stop following, ','-joined (IDs contain neither ',' nor '|').
local function publish_change(k, op, users, threads)
  redis.call('SPUBLISH', string.sub(k.meta, 1, -5) .. 'feed', op .. '|' .. users .. '|' .. threads .. '|' .. now_ms())
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

-- The body of a single-operation script: KEYS are the channel's keys (then its dirty index, for
-- writes), ARGV the call's deadline, then the operation's arguments.
local function run_single(op)
  if past_deadline(ARGV[1]) then return redis.error_reply('RS_DEADLINE') end
  local a = {}
  for i = 2, #ARGV do a[i - 1] = ARGV[i] end
  local result, err = op(channel_keys(0), KEYS[CHANNEL_KEYS + 1], a)
  if err then return redis.error_reply(err) end
  return result
end
