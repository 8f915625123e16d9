-- claim: what the write-behind writes for one dirty channel, and forgets that it is dirty. The caller
-- marks the channel dirty again ('*') if the write to PostgreSQL fails.
-- KEYS: the channel's 6 keys
-- Returns { channelSeq, lastMessageId or '', then per changed member: userId, and
--   "unread|mentions|readSeq|lastReadAt|lastReadMessageId", or '' when it left (its row goes) }
local k = channel_keys(0)
local meta = redis.call('HMGET', k.meta, 'seq', 'lmid')
local changed = redis.call('SMEMBERS', k.dmem)
redis.call('DEL', k.dmem)
local reply = { meta[1] or '0', meta[2] or '' }

local function hash_of(key)
  local flat = redis.call('HGETALL', key)
  local out = {}
  for i = 1, #flat, 2 do out[flat[i]] = flat[i + 1] end
  return out
end

local all = false
for _, userId in ipairs(changed) do
  if userId == '*' then all = true end
end
-- After a post every member changed: three HGETALLs instead of three HGETs per member.
local unread = all and hash_of(k.unread) or nil
local mentions = all and hash_of(k.mentions) or nil
local reads = all and hash_of(k.reads) or nil
local function add(userId)
  local r, u, m
  if all then
    r, u, m = reads[userId], unread[userId], mentions[userId]
  else
    r = redis.call('HGET', k.reads, userId)
    u = redis.call('HGET', k.unread, userId)
    m = redis.call('HGET', k.mentions, userId)
  end
  table.insert(reply, userId)
  table.insert(reply, r and ((u or '0') .. '|' .. (m or '0') .. '|' .. r) or '')
end

if all then
  for userId in pairs(reads) do add(userId) end
  -- Members who left since the last flush: their rows go.
  for _, userId in ipairs(changed) do
    if userId ~= '*' and not reads[userId] then add(userId) end
  end
else
  for _, userId in ipairs(changed) do add(userId) end
end
return reply
