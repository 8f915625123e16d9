// Redis bytes per thread follower (and per member state, for comparison): MEMORY USAGE of the
// channel's keys before and after N users follow one thread. Uses its own key prefix and schema.
//
//   npx tsx scripts/thread-memory.ts [followers, default 10000]
import { Redis } from "ioredis";
import { createReadState } from "../src/index.js";
import { Keys } from "../src/redis/keys.js";
import { cleanup, REDIS_URL, testSpace } from "../test/helpers/env.js";

const followers = Number(process.argv[2] ?? 10_000);
const space = testSpace("threadmem");
const engine = await createReadState({ ...space, worker: false });
const redis = new Redis(REDIS_URL);
const keys = new Keys(space.keyPrefix);

/** Bytes of the channel's cached keys (dirty tracking excluded: it empties at the next flush). */
async function channelBytes(channelId: string): Promise<number> {
  let total = 0;
  for (const key of keys.channel(channelId).slice(0, 11)) {
    total += Number((await redis.call("MEMORY", "USAGE", key, "SAMPLES", "0")) ?? 0);
  }
  return total;
}

try {
  const users = Array.from({ length: followers }, (_, i) => `user-${String(i).padStart(6, "0")}`);
  const empty = await channelBytes("mem");
  for (let i = 0; i < users.length; i += 500) {
    await Promise.all(users.slice(i, i + 500).map((u) => engine.join("mem", u)));
  }
  await engine.post("mem", { messageId: "root", senderId: users[0] as string });
  const joined = await channelBytes("mem");
  for (let i = 0; i < users.length; i += 500) {
    await Promise.all(users.slice(i, i + 500).map((u) => engine.follow("mem", "root", u)));
  }
  await engine.post("mem", { messageId: "r1", senderId: users[1] as string, threadId: "root" });
  await engine.flush();
  const following = await channelBytes("mem");
  console.log(`${followers} members, userIds of 11 characters, threadId "root"`);
  console.log(`bytes per member state:   ${((joined - empty) / followers).toFixed(1)}`);
  console.log(`bytes per thread follower: ${((following - joined) / followers).toFixed(1)}`);
} finally {
  redis.disconnect();
  await engine.close();
  await cleanup(space);
}
