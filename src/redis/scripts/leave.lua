-- leave: remove userId and its state from the channel, its mute, thread states and unfollow marks
-- included. The worker writes the removals as versioned tombstones, so a stale flush can never
-- bring them back. O(threads the user had an entry in, in this channel).
-- k: the channel's keys (from KEYS), dirty: its partition's dirty index (the KEY after them)
-- a[1] channelId, a[2] userId
-- Returns 1 | nil, error code RS_NOT_LOADED, RS_NOT_A_MEMBER
OPS.leave = function(k, dirty, a)
  local channelId, userId = a[1], a[2]
  if not is_loaded(k) then return nil, 'RS_NOT_LOADED' end
  if not read_seq(k, userId) then return nil, 'RS_NOT_A_MEMBER' end

  local ver = next_version(k)
  redis.call('ZREM', k.cur, userId)
  redis.call('HDEL', k.lra, userId)
  if redis.call('HDEL', k.th, 'q|' .. userId) == 1 then redis.call('HINCRBY', k.meta, 'nm', -1) end
  redis.call('ZADD', k.dmem, ver, userId)
  local prefix = 'u|' .. userId .. '|'
  local entries = redis.call('ZRANGE', k.ix, '[' .. prefix, '(u|' .. userId .. '}', 'BYLEX')
  local unfollowed = {}
  for _, entry in ipairs(entries) do
    local threadId = string.sub(entry, #prefix + 1)
    redis.call('HDEL', k.th, follower_field(threadId, userId))
    -- 2: the follower entry went too (1: only an unfollow mark).
    if redis.call('ZREM', k.ix, entry, 'f|' .. threadId .. '|' .. userId) == 2 then
      table.insert(unfollowed, threadId)
    end
    redis.call('ZADD', k.dmem, ver, '#' .. threadId .. '|' .. userId)
  end
  mark_dirty(k, dirty, channelId, now_ms())
  publish_change(k, 'leave', userId, table.concat(unfollowed, ','))
  return 1
end
