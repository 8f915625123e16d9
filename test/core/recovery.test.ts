// Cache misses and recovery: Redis loses its data after a flush, clean channels expire,
// concurrent misses load once, and the engine refuses an evicting Redis.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReadStateService } from "../../src/core/service.js";
import type { Engine } from "../../src/engine.js";
import { createReadState } from "../../src/engine.js";
import { migrate } from "../../src/postgres/migrate.js";
import { createPool, PostgresStore } from "../../src/postgres/store.js";
import { connectRedis } from "../../src/redis/connection.js";
import { RedisStore } from "../../src/redis/store.js";
import { PrivateRedis } from "../faults/support/redis-server.js";
import { cleanup, dropSchema, engineFor, queryPg, testSpace, wipeRedis } from "../helpers/env.js";

const space = testSpace("recovery");
let rs: Engine;

beforeAll(async () => {
  rs = await engineFor(space);
});

afterAll(async () => {
  await rs.close();
  await cleanup(space);
});

/** Everything a client can observe of a few channels and users. */
async function observe(channels: string[], users: string[]) {
  const seen: unknown[] = [];
  for (const c of channels) {
    seen.push(await rs.channelInfo(c).catch((e) => e.code));
    seen.push(await rs.receipts(c, "m1", { limit: 1000 }).catch((e) => e.code));
    for (const u of users) seen.push(await rs.memberState(c, u).catch((e) => e.code));
  }
  for (const u of users) seen.push(await rs.userUnread(u));
  return seen;
}

describe("Redis wiped after a flush", () => {
  it("answers identically from PostgreSQL, and sequences continue", async () => {
    const channels = ["w-a", "w-b", "w-c"];
    const users = ["ann", "ben", "cat", "dan"];
    for (const c of channels) for (const u of users) await rs.join(c, u);
    await rs.post("w-a", { messageId: "m1", senderId: "ann", mentions: ["ben", "cat"] });
    await rs.post("w-a", { messageId: "m2", senderId: "ben", mentionAll: true });
    await rs.post("w-a", { messageId: "m3", senderId: "dan", mentions: ["ann"] });
    await rs.post("w-b", { messageId: "m1", senderId: "cat" });
    await rs.markRead("w-a", "cat", "m2");
    await rs.markUnread("w-a", "ann", "m1");
    await rs.leave("w-b", "dan");
    await rs.post("w-c", { messageId: "m1", senderId: "ann" });
    await rs.deleteChannel("w-c");
    await rs.join("w-c", "ben");
    await rs.post("w-c", { messageId: "m1", senderId: "ben" });

    const before = await observe(channels, users);
    await rs.flush();
    await wipeRedis(space);
    expect(await observe(channels, users)).toEqual(before);

    expect((await rs.post("w-a", { messageId: "m4", senderId: "ann" })).seq).toBe(4);
    expect((await rs.post("w-a", { messageId: "m2", senderId: "ann" })).created).toBe(false);
    expect((await rs.post("w-c", { messageId: "m2", senderId: "ben" })).seq).toBe(2);
  });

  it("writes made after the reload reach PostgreSQL past the stored versions", async () => {
    await rs.join("w-v", "eve");
    await rs.post("w-v", { messageId: "m1", senderId: "x" });
    await rs.flush();
    await wipeRedis(space);
    await rs.markRead("w-v", "eve");
    await rs.flush();
    const rows = await queryPg(space, "SELECT read_seq FROM members WHERE channel_id = 'w-v'");
    expect(rows).toEqual([{ read_seq: "1" }]);
  });
});

describe("clean channels expire, dirty ones never", () => {
  it("answers within the contract when the channel keeps expiring between load and retry", async () => {
    const tiny = await createReadState({ ...space, worker: false, migrate: false, cacheTtlMs: 1 });
    try {
      await tiny.join("tiny", "u1");
      const errors: string[] = [];
      for (let i = 0; i < 200; i++) {
        if (i % 10 === 0) await tiny.flush();
        const op =
          i % 3 === 0
            ? tiny.post("tiny", { messageId: `m${i}`, senderId: "u2" })
            : i % 3 === 1
              ? tiny.memberState("tiny", "u1")
              : tiny.userUnread("u1");
        await op.catch((err: Error & { code?: string }) => errors.push(err.code ?? err.name));
      }
      expect(errors).toEqual([]);
      expect(await tiny.memberState("tiny", "u1")).toMatchObject({ channelSeq: 67 });
    } finally {
      await tiny.close();
    }
  });

  it("lets a flushed channel expire and reloads it on the next call", async () => {
    const short = await createReadState({ ...space, worker: false, migrate: false, cacheTtlMs: 300 });
    try {
      await short.join("exp", "u1");
      await short.post("exp", { messageId: "m1", senderId: "u2" });
      const redis = new Redis(space.redisUrl);
      const metaKeys = await redis.keys(`${space.keyPrefix}:*:c:exp:meta`);
      expect(metaKeys).toHaveLength(1);
      await new Promise((resolve) => setTimeout(resolve, 500));
      // Dirty: still there after the ttl.
      expect(await redis.exists(metaKeys[0] as string)).toBe(1);
      await short.flush();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await redis.exists(metaKeys[0] as string)).toBe(0);
      redis.disconnect();
      expect(await short.memberState("exp", "u1")).toMatchObject({ unread: 1, channelSeq: 1 });
    } finally {
      await short.close();
    }
  });
});

describe("single-flight loading", () => {
  it("loads a missing channel once for many concurrent calls", async () => {
    await rs.join("sf", "u1");
    await rs.flush();
    await wipeRedis(space);
    const redis = connectRedis(space.redisUrl);
    await redis.connect();
    const pool = createPool(space.databaseUrl, 2);
    const cold = new PostgresStore(pool, space.schema);
    let loads = 0;
    const counting = {
      loadChannel: (id: string, fence: boolean) => {
        loads++;
        return cold.loadChannel(id, fence);
      },
      userChannels: (id: string) => cold.userChannels(id),
    };
    const service = new ReadStateService(new RedisStore(redis, space.keyPrefix, 60_000), counting);
    const states = await Promise.all(Array.from({ length: 20 }, () => service.memberState("sf", "u1")));
    expect(states.every((s) => s.channelSeq === 0)).toBe(true);
    expect(loads).toBe(1);
    redis.disconnect();
    await pool.end();
  });
});

describe("migrations", () => {
  it("are safe when several processes migrate at once", async () => {
    const other = testSpace("migrate");
    const pools = [0, 1, 2].map(() => createPool(other.databaseUrl, 1));
    try {
      const applied = await Promise.all(pools.map((p) => migrate(p, other.schema)));
      expect(applied.flat()).toEqual(["001_initial.sql", "002_fencing.sql", "003_v1_1.sql"]);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
      await dropSchema(other);
    }
  });
});

describe("eviction policy", () => {
  it("refuses a Redis that may evict dirty state, and says how to fix it", async () => {
    const redis = new PrivateRedis({ maxmemoryPolicy: "allkeys-lru" });
    try {
      await redis.start();
      await expect(
        createReadState({ ...space, redisUrl: redis.url, worker: false, migrate: false }),
      ).rejects.toThrow(/maxmemory-policy is allkeys-lru.*noeviction/);
    } finally {
      await redis.destroy();
    }
  });
});

describe("absent channels", () => {
  it("are cached for a minute at most, so random names cannot fill Redis", async () => {
    await expect(rs.channelInfo("never-made")).rejects.toMatchObject({ code: "not_found" });
    const redis = new Redis(space.redisUrl);
    const [meta] = await redis.keys(`${space.keyPrefix}:*:c:never-made:meta`);
    const ttl = await redis.pttl(meta as string);
    redis.disconnect();
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });
});
