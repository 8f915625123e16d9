-- mergeUserChannels: add PostgreSQL's list of a user's channels to the user's list in Redis, and
-- mark how far the list can be trusted. PostgreSQL lacks joins not yet flushed, and the list may
-- have lost some (on Cluster its node can lose its data while a channel's node keeps a join), so
-- the first merge only leaves a pending mark ":<time>", stamped here with the time of this write:
-- a loss of the list after it takes the mark too. A later merge completes the list (mark "") once
-- every change made before that time was flushed, and only if its pending mark is still there.
-- KEYS[1] the user's channel list
-- ARGV[1] '1' complete (the caller saw every change before the pending mark flushed) | '0',
-- ARGV[2] the pending mark the caller saw, or '', ARGV[3..] channelIds
-- Returns 1 completed | 0 pending
local list = KEYS[1]
local seen = ARGV[2]
local kept = seen ~= '' and redis.call('SISMEMBER', list, seen) == 1
for i = 3, #ARGV do redis.call('SADD', list, ARGV[i]) end
if ARGV[1] == '1' and kept then
  redis.call('SADD', list, '')
  redis.call('SREM', list, seen)
  return 1
end
if not kept then redis.call('SADD', list, ':' .. now_ms()) end
return 0
