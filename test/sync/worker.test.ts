// The write-behind worker against real Redis and PostgreSQL: coalescing, the flush race,
// a worker that claimed and died, two workers at once, bounded batches.
import type pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { createPool, PostgresStore } from "../../src/postgres/store.js";
import { connectRedis, type RedisClient } from "../../src/redis/connection.js";
import { DirtyIndex } from "../../src/redis/dirty.js";
import { Keys } from "../../src/redis/keys.js";
import { FlushWorker, shareBatch } from "../../src/sync/worker.js";
import { cleanup, engineFor, queryPg, testSpace } from "../helpers/env.js";
import { holdFlushes } from "../helpers/hold.js";

const space = testSpace("worker");
let rs: Engine;
let redis: RedisClient;
let pool: pg.Pool;
let dirty: DirtyIndex;
let postgres: PostgresStore;
const keys = new Keys(space.keyPrefix);

beforeAll(async () => {
  rs = await engineFor(space);
  redis = connectRedis(space.redisUrl);
  await redis.connect();
  pool = createPool(space.databaseUrl, 4);
  dirty = new DirtyIndex(redis, keys, 60_000);
  postgres = new PostgresStore(pool, space.schema);
});

afterEach(async () => {
  await rs.flush();
});

afterAll(async () => {
  await rs.close();
  redis.disconnect();
  await pool.end();
  await cleanup(space);
});

async function member(channelId: string, userId: string) {
  const rows = await queryPg(space, "SELECT * FROM members WHERE channel_id = $1 AND user_id = $2", [
    channelId,
    userId,
  ]);
  return rows[0];
}

async function claimChannel(channelId: string, workerId: string, force = false) {
  const partition = keys.partitionOf(channelId);
  const changes = await dirty.claim(partition, [channelId], {
    workerId,
    leaseMs: 30_000,
    force,
    rowBudget: 1000,
  });
  return { partition, changes };
}

describe("flush", () => {
  it("coalesces many changes of one row into one row write", async () => {
    await rs.join("co", "bob");
    for (let i = 1; i <= 50; i++) {
      await rs.post("co", { messageId: `m${i}`, senderId: "alice" });
      await rs.markRead("co", "bob");
    }
    const result = await rs.flush();
    // 1 channel row + 1 member row + 50 messages, not 100 member writes.
    expect(result).toEqual({ flushed: 52, remaining: 0 });
    expect(await member("co", "bob")).toMatchObject({
      read_seq: "50",
      last_read_message_id: "m50",
      active: true,
    });
    expect((await rs.syncStatus()).dirty).toBe(0);
    // Cursor moves alone rewrite the member rows, not the channel's.
    await rs.markUnread("co", "bob", "m10");
    expect(await rs.flush()).toEqual({ flushed: 1, remaining: 0 });
  });

  it("writes a leave as a tombstone and a delete as a reset", async () => {
    await rs.join("tomb", "bob");
    await rs.join("tomb", "carol");
    await rs.post("tomb", { messageId: "m1", senderId: "bob" });
    await rs.flush();
    await rs.leave("tomb", "bob");
    await rs.flush();
    expect(await member("tomb", "bob")).toMatchObject({ active: false });
    await rs.deleteChannel("tomb");
    await rs.flush();
    expect(await queryPg(space, "SELECT * FROM members WHERE channel_id = 'tomb'")).toEqual([]);
    expect(await queryPg(space, "SELECT * FROM messages WHERE channel_id = 'tomb'")).toEqual([]);
    expect(await queryPg(space, "SELECT live, seq FROM channels WHERE channel_id = 'tomb'")).toEqual([
      { live: false, seq: "0" },
    ]);
  });
});

describe("a PostgreSQL session lost mid-flush", () => {
  it("fails that flush only: the process goes on and the next flush writes everything", async () => {
    await rs.join("lost", "bob");
    await rs.post("lost", { messageId: "m1", senderId: "alice" });
    await rs.markRead("lost", "bob");
    const hold = await holdFlushes(space);
    const flush = rs.flush();
    try {
      expect(await hold.untilFlushWaits(flush)).toBe("waiting");
      // The session ends inside the flush's transaction, as when PostgreSQL stops: its client
      // reports the loss as an 'error' event after the query failed, while still checked out.
      expect(await hold.terminateWaiting()).toBeGreaterThan(0);
      await expect(flush).rejects.toThrow();
    } finally {
      await hold.release();
    }
    // The lost connection's last events arrive after the failed query; they must not end the process.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(await rs.flush()).toMatchObject({ remaining: 0 });
    expect(await member("lost", "bob")).toMatchObject({ read_seq: "1", last_read_message_id: "m1" });
  });
});

describe("the flush race", () => {
  it("keeps a change made between claim and clear dirty, and writes it next time", async () => {
    await rs.join("race", "bob");
    await rs.post("race", { messageId: "m1", senderId: "alice" });
    await rs.post("race", { messageId: "m2", senderId: "alice" });
    const { partition, changes } = await claimChannel("race", "w-race");
    // The update lands after the claim read the state…
    await rs.markRead("race", "bob", "m2");
    await postgres.writeBatch(changes);
    await dirty.clear(partition, changes, "w-race");
    // …so clearing what was claimed must not clear it.
    expect(await member("race", "bob")).toMatchObject({ read_seq: "0" });
    expect((await rs.syncStatus()).dirty).toBe(1);
    await rs.flush();
    expect(await member("race", "bob")).toMatchObject({ read_seq: "2", last_read_message_id: "m2" });
  });
});

describe("a worker that claimed and died", () => {
  it("loses nothing: its lease expires or a flush takes over, and the entries were never cleared", async () => {
    await rs.join("died", "bob");
    await rs.post("died", { messageId: "m1", senderId: "bob" });
    await claimChannel("died", "w-dead");
    // The dead worker holds the lease: a polite claim backs off…
    expect((await claimChannel("died", "w-other")).changes).toEqual([]);
    // …the data is still dirty, and an explicit flush writes it.
    expect((await rs.syncStatus()).dirty).toBe(1);
    await rs.flush();
    expect(await member("died", "bob")).toMatchObject({ read_seq: "1" });
  });
});

describe("two workers at once", () => {
  it("never move PostgreSQL backwards: the older claim's write is refused by the version guard", async () => {
    await rs.join("two", "bob");
    for (const id of ["m1", "m2", "m3"]) await rs.post("two", { messageId: id, senderId: "alice" });
    await rs.markRead("two", "bob", "m1");
    const older = await claimChannel("two", "w-a", true);
    await rs.markRead("two", "bob", "m3");
    const newer = await claimChannel("two", "w-b", true);

    await postgres.writeBatch(newer.changes);
    await dirty.clear(newer.partition, newer.changes, "w-b");
    const { rows: rowsOfStale } = await postgres.writeBatch(older.changes);
    await dirty.clear(older.partition, older.changes, "w-a");

    expect(rowsOfStale).toBe(0);
    expect(await member("two", "bob")).toMatchObject({ read_seq: "3" });
    expect(await queryPg(space, "SELECT seq FROM channels WHERE channel_id = 'two'")).toEqual([{ seq: "3" }]);
  });

  it("concurrent flush loops end with PostgreSQL equal to Redis", async () => {
    const workers = [0, 1].map(() => new FlushWorker(dirty, postgres, { intervalMs: 5, batchRows: 7 }));
    for (const w of workers) w.start();
    for (let i = 0; i < 40; i++) {
      await rs.join(`many-${i % 5}`, `u${i % 7}`);
      await rs.post(`many-${i % 5}`, { messageId: `m${i}`, senderId: `u${(i + 1) % 7}` });
    }
    await Promise.all(workers.map((w) => w.stop()));
    await rs.flush();
    for (let c = 0; c < 5; c++) {
      const info = await rs.channelInfo(`many-${c}`);
      const rows = await queryPg(space, "SELECT seq FROM channels WHERE channel_id = $1", [`many-${c}`]);
      expect(Number(rows[0]?.seq)).toBe(info.channelSeq);
    }
  });
});

describe("clean channels' expiry", () => {
  it("comes once a channel stayed clean a whole interval; a channel changed every round never carries one", async () => {
    const worker = new FlushWorker(dirty, postgres, { intervalMs: 250, batchRows: 1000 });
    const meta = (channelId: string) => `${keys.channelBase(channelId)}meta`;
    await rs.join("cool-busy", "u1");
    await rs.join("cool-idle", "u1");
    worker.start();
    try {
      const busyTtls = new Set<number>();
      let idleTtl = -1;
      for (let i = 0; i < 50; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        // Sampled just before the next change: a flush in between would have left its expiry.
        busyTtls.add(Math.sign(await redis.pttl(meta("cool-busy"))));
        idleTtl = await redis.pttl(meta("cool-idle"));
        await rs.post("cool-busy", { messageId: `m${i}`, senderId: "u2" });
      }
      // Posted into every 20 ms with rounds every 250 ms: flushed every round, never expiring.
      expect(busyTtls).toEqual(new Set([-1]));
      const [row] = await queryPg(space, "SELECT seq FROM channels WHERE channel_id = 'cool-busy'");
      expect(Number(row?.seq)).toBeGreaterThan(10);
      expect(idleTtl).toBeGreaterThan(0);
    } finally {
      await worker.stop();
    }
    expect(await redis.zscore(keys.dirty(keys.partitionOf("cool-idle")), "cool-idle")).toBeNull();
  });
});

describe("flush counts", () => {
  it("reports every row written when batches run concurrently", async () => {
    for (let c = 0; c < 80; c++) for (const u of ["a", "b", "c"]) await rs.join(`count-${c}`, u);
    expect(await rs.flush()).toEqual({ flushed: 80 + 240, remaining: 0 });
  });
});

describe("bounded batches", () => {
  it("splits a backlog larger than a batch into several transactions", async () => {
    const reports: number[] = [];
    const worker = new FlushWorker(dirty, postgres, {
      intervalMs: 60_000,
      batchRows: 10,
      onFlush: (r) => reports.push(r.rows),
    });
    for (let i = 0; i < 30; i++) await rs.join("big-batch", `u${i}`);
    const { rows } = await worker.flushAll(await dirty.now());
    expect(rows).toBe(31);
    expect(reports.length).toBeGreaterThan(2);
    expect(Math.max(...reports)).toBeLessThanOrEqual(11);
    const stored = await queryPg(
      space,
      "SELECT count(*)::int AS n FROM members WHERE channel_id = 'big-batch'",
    );
    expect(stored).toEqual([{ n: 30 }]);
  });
});

describe("a batch shared among partitions", () => {
  it("splits evenly without needs, as before any round was measured", () => {
    expect(shareBatch([0, 0, 0, 0], 1000)).toEqual([250, 250, 250, 250]);
  });

  it("gives a busy partition what it needs and the rest what is left, within the batch", () => {
    // 31 partitions that took a few rows last round, and one that took 3,000 (a busy channel): an
    // even split would give it 156 rows a pass, and it would need 20 passes to catch up.
    const needs = [...Array.from({ length: 31 }, () => 10), 3000];
    const budgets = shareBatch(needs, 5000);
    expect(budgets[31]).toBeGreaterThanOrEqual(3000);
    expect(budgets.slice(0, 31).every((b) => b >= 50)).toBe(true);
    expect(budgets.reduce((sum, b) => sum + b, 0)).toBeLessThanOrEqual(5000);
  });

  it("shares in proportion when the needs exceed the batch, never below the floor", () => {
    const budgets = shareBatch([4000, 4000, 2000, 0], 5000);
    expect(budgets[0]).toBe(budgets[1]);
    expect(budgets[0]).toBeGreaterThan(budgets[2] ?? 0);
    expect(budgets[3]).toBe(50);
    expect(budgets.reduce((sum, b) => sum + b, 0)).toBeLessThanOrEqual(5000);
  });
});
