// Only maxmemory-policy noeviction is accepted: a volatile-* policy evicts single keys of a clean
// channel (its message index, say, but not its cursors) and the channel answers from half its state.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createReadState } from "../../src/engine.js";
import { PrivateRedis } from "../faults/support/redis-server.js";
import { dropSchema, testSpace } from "../helpers/env.js";

const space = testSpace("eviction");
const redis = new PrivateRedis({ maxmemoryPolicy: "volatile-lru" });

beforeAll(() => redis.start());
afterAll(async () => {
  await redis.destroy();
  await dropSchema(space);
});

it("refuses to start on volatile-lru, saying why and how to fix it", async () => {
  const started = createReadState({ ...space, redisUrl: redis.url, worker: false });
  await expect(started).rejects.toThrow(/maxmemory-policy is volatile-lru: .*single keys of a channel/);
  await expect(started).rejects.toThrow(/CONFIG SET maxmemory-policy noeviction/);
});
