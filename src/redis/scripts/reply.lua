-- reply: post messageId into the thread of the top-level message threadId, with the thread's next
-- seq. The channel's seq and counts do not change. O(1) in the thread's followers: only the sender,
-- the users named in mentions and (at the first reply) the root's sender may start following.
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] messageId, a[3] senderId, a[4] mentionAll '1' | '0',
-- a[5] mentions joined by ',' (deduplicated, may be empty), a[6] threadId
-- Returns { created (1 | 0), seq, threadId } | nil, error code RS_NOT_LOADED,
-- RS_UNKNOWN_MESSAGE (no such root: also a channel that does not exist, which stays so),
-- RS_ROOT_IS_REPLY (threads do not nest)
OPS.reply = function(k, dirty, a)
  local channelId, messageId, senderId, mentionAll, mentions, threadId = a[1], a[2], a[3], a[4], a[5], a[6]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end

  -- Repeats first, whatever the repeat says.
  local existingSeq, existingThread = message_position(redis.call('HGET', k.msg, messageId))
  if existingSeq then return { 0, existingSeq, existingThread } end

  local rootSeq, rootThread = message_position(redis.call('HGET', k.msg, threadId))
  if not rootSeq then return nil, 'RS_UNKNOWN_MESSAGE' end
  if rootThread ~= '' then return nil, 'RS_ROOT_IS_REPLY' end

  local now = now_ms()
  local seq = redis.call('HINCRBY', k.th, 's|' .. threadId, 1)
  local ver = next_version(k)
  redis.call('HSET', k.msg, messageId, seq .. '|' .. threadId)
  redis.call('HSET', k.th, 'm|' .. threadId .. '|' .. seq, messageId)
  redis.call('HSET', k.mdat, messageId, senderId .. '|' .. mentionAll .. '|' .. mentions)
  redis.call('ZADD', k.dmsg, ver, messageId)

  local seqKey = pad(seq)
  local prefix = 'n|' .. threadId .. '|'
  if mentionAll == '1' then
    redis.call('ZADD', k.ix, 0, prefix .. '*|' .. seqKey, 0, prefix .. '-' .. senderId .. '|' .. seqKey)
  end
  if mentions ~= '' and mentionAll ~= '1' then
    for userId in string.gmatch(mentions, '[^,]+') do
      if userId ~= senderId then redis.call('ZADD', k.ix, 0, prefix .. userId .. '|' .. seqKey) end
    end
  end

  -- Channel members who start following, if not already: the sender and everyone named (also after
  -- an unfollow), and the root's sender at the first reply unless they unfollowed.
  local started = {}
  local function follow(userId, evenIfUnfollowed)
    if not read_seq(k, userId) then return end
    local entry = redis.call('HGET', k.th, follower_field(threadId, userId))
    if entry and entry ~= 'x' then return end
    if entry == 'x' and not evenIfUnfollowed then return end
    start_following(k, threadId, userId, seq - 1, ver)
    table.insert(started, userId)
  end
  follow(senderId, true)
  if mentions ~= '' then
    for userId in string.gmatch(mentions, '[^,]+') do follow(userId, true) end
  end
  if seq == 1 then
    local root = redis.call('HGET', k.mdat, threadId)
    if root then follow(string.sub(root, 1, string.find(root, '|', 1, true) - 1), false) end
  end
  if read_seq(k, senderId) then set_thread_cursor(k, threadId, senderId, seq, now, messageId, ver) end

  mark_dirty(k, dirty, channelId, now)
  -- Every follower's state changed; the new ones are named, as no instance knows them yet.
  publish_change(k, 'reply', table.concat(started, ','), threadId)
  return { 1, seq, threadId }
end
