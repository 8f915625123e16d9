-- post: allocate the next seq for messageId, O(1) in the channel's size. Idempotent per messageId,
-- replies included: a known messageId answers what it was first posted as.
-- Named mentions are the only per-member writes; @channel is stored once for the channel.
-- If the sender is a member its cursor moves to the new message.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] messageId, a[3] senderId, a[4] mentionAll '1' | '0',
-- a[5] mentions joined by ',' (deduplicated, may be empty), a[6] the attempt's token ('' for none)
-- A new message keeps, under mdat's field '~messageId', "attempt|senderReadSeq|senderLastRead" (the
-- sender's cursor before the post, '' when not a member): what retract_post.lua needs to undo the post
-- should its caller be answered 503. A repeat by another attempt was acknowledged to its caller: it
-- drops that field, so no earlier attempt can be retracted any more.
-- Returns { created (1 | 0), seq, threadId or '' } | nil, error code RS_NOT_LOADED, RS_NOT_FENCED
-- (cached as absent without a fencing generation: load it fenced, then retry)
OPS.post = function(k, dirty, a)
  local channelId, messageId, senderId, mentionAll, mentions, attempt = a[1], a[2], a[3], a[4], a[5], a[6] or ''
  local meta = redis.call('HMGET', k.meta, 'seq', 'nf', 'ver')
  if not meta[1] then return nil, 'RS_NOT_LOADED' end
  if meta[2] == '1' then return nil, 'RS_NOT_FENCED' end

  local existingSeq, existingThread = message_position(redis.call('HGET', k.msg, messageId))
  if existingSeq then
    -- Acknowledged now, unless this is the same attempt again (a client's resend of the command).
    local undo = redis.call('HGET', k.mdat, '~' .. messageId)
    if undo and string.sub(undo, 1, #attempt + 1) ~= attempt .. '|' then redis.call('HDEL', k.mdat, '~' .. messageId) end
    return { 0, existingSeq, existingThread }
  end

  local now = now_ms()
  -- The next seq and version (next_version's increment), the last message, live, and the channel row's
  -- version (touch_channel_row) in one write: the script is atomic, so reading them above and
  -- writing them here is the increment, at a quarter of the commands.
  local seq, ver = tonumber(meta[1]) + 1, tonumber(meta[3] or '0') + 1
  redis.call('HSET', k.meta, 'seq', seq, 'ver', ver, 'lmid', messageId, 'live', 1, 'cv', ver)
  redis.call('HSET', k.msg, messageId, seq)
  redis.call('HSET', k.seqs, seq, messageId)
  local senderSeq = read_seq(k, senderId)
  local data = senderId .. '|' .. mentionAll .. '|' .. mentions
  if attempt == '' then
    redis.call('HSET', k.mdat, messageId, data)
  else
    local undo = ''
    if senderSeq then undo = senderSeq .. '|' .. (redis.call('HGET', k.lra, senderId) or '') end
    redis.call('HSET', k.mdat, messageId, data, '~' .. messageId, attempt .. '|' .. undo)
  end
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

  if senderSeq then
    redis.call('ZADD', k.cur, seq, senderId)
    redis.call('HSET', k.lra, senderId, now .. '|' .. messageId)
    redis.call('ZADD', k.dmem, ver, senderId)
  end
  mark_dirty(k, dirty, channelId, now)
  publish_change(k, 'post', '', '')
  return { 1, seq, '' }
end
