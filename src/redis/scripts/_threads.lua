-- Thread helpers, after _lib.lua in the function library (scripts.ts).
-- Threads live in the channel's th hash and ix index (keys.ts), so one script changes a channel and
-- its threads atomically, on Redis Cluster too.

local function follower_field(threadId, userId)
  return 'c|' .. threadId .. '|' .. userId
end

-- A follower's entry of th: readSeq, lastReadAt, lastReadMessageId; nil when not following (no
-- entry, or 'x': unfollowed).
local function parse_follower(value)
  if not value or value == 'x' then return nil end
  local b1 = string.find(value, '|', 1, true)
  local b2 = string.find(value, '|', b1 + 1, true)
  return tonumber(string.sub(value, 1, b1 - 1)), string.sub(value, b1 + 1, b2 - 1), string.sub(value, b2 + 1)
end

local function thread_seq(k, threadId)
  return tonumber(redis.call('HGET', k.th, 's|' .. threadId) or '0')
end

-- The messageId of the thread's reply at seq ('' for 0).
local function reply_id(k, threadId, seq)
  if seq <= 0 then return '' end
  return redis.call('HGET', k.th, 'm|' .. threadId .. '|' .. seq) or ''
end

-- Mentions of userId in the thread's live replies above readSeq, as mentions_above counts a channel's.
local function thread_mentions_above(k, threadId, userId, readSeq)
  local prefix = 'n|' .. threadId .. '|'
  local function count(who)
    return redis.call('ZLEXCOUNT', k.ix, '(' .. prefix .. who .. '|' .. pad(readSeq), '(' .. prefix .. who .. '}')
  end
  local everyone = count('*')
  local own = 0
  if everyone > 0 then own = count('-' .. userId) end
  return count(userId) + everyone - own
end

-- The thread state reply: { readSeq, threadSeq, unread, mentions, lastReadMessageId or '',
-- lastReadAt or '', firstUnreadMessageId or '' }.
local function thread_state(k, threadId, userId, readSeq, threadSeq, at, lastId)
  local unread, deleted = 0, 0
  if threadSeq > readSeq then
    deleted = redis.call('ZLEXCOUNT', k.ix, '(r|' .. threadId .. '|' .. pad(readSeq), '(r|' .. threadId .. '}')
    unread = threadSeq - readSeq - deleted
  end
  local mentions, first = 0, ''
  if unread > 0 then
    mentions = thread_mentions_above(k, threadId, userId, readSeq)
    local seq = readSeq + 1
    if deleted > 0 then seq = first_live(k, 'r|' .. threadId .. '|', seq) end
    first = reply_id(k, threadId, seq)
  end
  return { readSeq, threadSeq, unread, mentions, lastId, at, first }
end

-- Stores a follower's cursor and records the change for the worker.
local function set_thread_cursor(k, threadId, userId, readSeq, at, lastId, ver)
  redis.call('HSET', k.th, follower_field(threadId, userId), readSeq .. '|' .. at .. '|' .. lastId)
  redis.call('ZADD', k.dmem, ver, '#' .. threadId .. '|' .. userId)
end

-- Makes userId a follower with its cursor at readSeq (no read time yet, as a join). Meta 'nt' marks
-- a channel with thread entries: a user's totals skip the thread lookup where it is absent.
local function start_following(k, threadId, userId, readSeq, ver)
  redis.call('HSET', k.meta, 'nt', 1)
  set_thread_cursor(k, threadId, userId, readSeq, '', reply_id(k, threadId, readSeq), ver)
  redis.call('ZADD', k.ix, 0, 'f|' .. threadId .. '|' .. userId, 0, 'u|' .. userId .. '|' .. threadId)
end

