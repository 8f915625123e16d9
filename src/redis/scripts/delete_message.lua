-- deleteMessage: a message (or reply) keeps its seq but stops counting: it is marked deleted in ix
-- and its mentions leave the indexes. No member's state is written, whatever the channel's size.
-- Idempotent.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] messageId
-- Returns 1 | nil, error code RS_NOT_LOADED, RS_NOT_FOUND, RS_UNKNOWN_MESSAGE
OPS.delete_message = function(k, dirty, a)
  local channelId, messageId = a[1], a[2]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if redis.call('HGET', k.meta, 'live') ~= '1' then return nil, 'RS_NOT_FOUND' end
  local seq, threadId = message_position(redis.call('HGET', k.msg, messageId))
  if not seq then return nil, 'RS_UNKNOWN_MESSAGE' end

  local seqKey = pad(seq)
  local marker = 'd|' .. seqKey
  if threadId ~= '' then marker = 'r|' .. threadId .. '|' .. seqKey end
  if redis.call('ZADD', k.ix, 'NX', 0, marker) == 0 then return 1 end
  if threadId == '' then redis.call('HINCRBY', k.meta, 'nd', 1) end

  local data = redis.call('HGET', k.mdat, messageId) or '||'
  local b1 = string.find(data, '|', 1, true)
  local b2 = string.find(data, '|', b1 + 1, true)
  local senderId, mentionAll, mentions = string.sub(data, 1, b1 - 1), string.sub(data, b1 + 1, b2 - 1), string.sub(data, b2 + 1)
  if threadId == '' then
    if mentionAll == '1' then
      redis.call('ZREM', k.all, seq)
      redis.call('ZREM', k.alls, senderId .. '|' .. seqKey)
    else
      for userId in string.gmatch(mentions, '[^,]+') do redis.call('ZREM', k.mn, userId .. '|' .. seqKey) end
    end
  else
    local prefix = 'n|' .. threadId .. '|'
    if mentionAll == '1' then
      redis.call('ZREM', k.ix, prefix .. '*|' .. seqKey, prefix .. '-' .. senderId .. '|' .. seqKey)
    else
      for userId in string.gmatch(mentions, '[^,]+') do redis.call('ZREM', k.ix, prefix .. userId .. '|' .. seqKey) end
    end
  end

  local ver = next_version(k)
  redis.call('ZADD', k.dmsg, ver, messageId)
  mark_dirty(k, dirty, channelId, now_ms())
  -- threadId '': every member's counts changed; a reply's: every follower's of its thread.
  publish_change(k, 'delete_message', '', threadId)
  return 1
end
