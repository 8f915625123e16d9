-- retract_post: undoes a post whose caller was answered 503 although Redis may have applied it (its
-- reply came after the caller's timeout, or the connection broke after the command left; store.ts).
-- API.md: a 503 means nothing was applied. The post's attempt token, kept by post.lua under mdat's
-- '~messageId', tells this attempt's message from one another caller posted (and was answered for)
-- with the same messageId; a repeat of the post dropped the token, as it was acknowledged.
-- A retracted message keeps its seq (later messages have theirs already) as a deleted message under
-- the id '~<seq>' (IDs never start with '~'), so counts skip it, here and after a reload from
-- PostgreSQL; the messageId itself is forgotten: posting it again is a new message (201). The
-- sender's cursor, which the post moved, goes back unless something moved it since.
-- Runs with delete_message.lua (scripts.ts), whose bookkeeping it reuses.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] messageId, a[3] the attempt's token, a[4] the attempt's deadline (Redis ms)
-- Returns 'retracted' | 'absent' (not this attempt's message, or acknowledged since) | 'early' (the
-- attempt may still run: try after its deadline) | nil, RS_NOT_LOADED
OPS.retract_post = function(k, dirty, a)
  local channelId, messageId, attempt, deadline = a[1], a[2], a[3], a[4]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if now_ms() <= tonumber(deadline) then return 'early' end
  local undo = redis.call('HGET', k.mdat, '~' .. messageId)
  if not undo then return 'absent' end
  local bar = string.find(undo, '|', 1, true)
  if string.sub(undo, 1, bar - 1) ~= attempt then return 'absent' end
  local seq = top_level_seq(k, messageId)
  if not seq then return 'absent' end

  local _, err = OPS.delete_message(k, dirty, { channelId, messageId })
  if err then return 'absent' end
  local tomb = '~' .. seq
  local data = redis.call('HGET', k.mdat, messageId)
  redis.call('HDEL', k.msg, messageId)
  redis.call('HSET', k.msg, tomb, seq)
  redis.call('HSET', k.seqs, seq, tomb)
  redis.call('HDEL', k.mdat, messageId, '~' .. messageId)
  redis.call('HSET', k.mdat, tomb, data)
  local ver = next_version(k)
  -- The worker writes the tombstone's row and the messageId's row as forgotten (seq 0, claim.lua).
  redis.call('ZADD', k.dmsg, ver, messageId, ver, tomb)

  -- The sender's cursor, if it is still where the post put it.
  local cursor = string.sub(undo, bar + 1)
  if cursor ~= '' then
    local senderId = string.sub(data, 1, string.find(data, '|', 1, true) - 1)
    local _, lastId = last_read(redis.call('HGET', k.lra, senderId))
    if read_seq(k, senderId) == seq and lastId == messageId then
      local split = string.find(cursor, '|', 1, true)
      redis.call('ZADD', k.cur, tonumber(string.sub(cursor, 1, split - 1)), senderId)
      redis.call('HSET', k.lra, senderId, string.sub(cursor, split + 1))
      redis.call('ZADD', k.dmem, ver, senderId)
    end
  end

  -- The channel's last message: the newest one before it that was not retracted too.
  if redis.call('HGET', k.meta, 'lmid') == messageId then
    local last, at = '', seq - 1
    while at > 0 do
      local id = redis.call('HGET', k.seqs, at) or ''
      if string.sub(id, 1, 1) ~= '~' then
        last = id
        break
      end
      at = at - 1
    end
    redis.call('HSET', k.meta, 'lmid', last)
    touch_channel_row(k, ver)
  end
  return 'retracted'
end
