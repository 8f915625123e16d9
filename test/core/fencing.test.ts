// The fence (docs/DESIGN.md, "Fencing"): a flush claimed before Redis lost its data, or a cache load
// that read PostgreSQL before another instance's flush, never overwrites or shadows what was
// installed after it. Each scenario holds the stale writer at the worst instant for real: the
// flush between its claim and its commit (a PostgreSQL session holds a lock its insert needs), the
// loader between its read and its install.
import { afterAll, afterEach, beforeEach, describe, expect, it } from "vitest";
import { ReadStateService } from "../../src/core/service.js";
import type { Engine } from "../../src/engine.js";
import { createReadState } from "../../src/engine.js";
import { createPool, PostgresStore } from "../../src/postgres/store.js";
import { connectRedis, type RedisClient } from "../../src/redis/connection.js";
import { RedisStore } from "../../src/redis/store.js";
import { cleanup, queryPg, type TestSpace, testSpace, wipeRedis } from "../helpers/env.js";
import { holdFlushes } from "../helpers/hold.js";

const spaces: TestSpace[] = [];
let space: TestSpace;
let rs: Engine;

async function start(unfencedFlushes = false): Promise<void> {
  space = testSpace("fencing");
  spaces.push(space);
  rs = await createReadState({ ...space, worker: false }, { unfencedFlushes });
}

afterEach(async () => {
  await rs.close();
});

afterAll(async () => {
  for (const s of spaces) await cleanup(s);
});

/** m1..m5 flushed, members a and b at m5. */
async function flushedChannel(c: string): Promise<void> {
  await rs.join(c, "a");
  await rs.join(c, "b");
  for (let i = 1; i <= 5; i++) await rs.post(c, { messageId: `m${i}`, senderId: "b" });
  await rs.markRead(c, "a");
  await rs.flush();
}

/** Runs `unflushed`, holds the flush of it mid-way, loses Redis's data, then `afterLoss` reloads. */
async function staleFlushAcrossLoss(
  unflushed: () => Promise<unknown>,
  afterLoss: () => Promise<unknown>,
): Promise<void> {
  await unflushed();
  const held = await holdFlushes(space);
  const staleFlush = rs.flush();
  expect(await held.untilFlushWaits(staleFlush)).toBe("waiting");
  await wipeRedis(space);
  await afterLoss();
  await held.release();
  await staleFlush;
  await rs.flush();
}

async function pgMessages(c: string): Promise<{ message_id: string; seq: string }[]> {
  return queryPg(
    space,
    "SELECT message_id, seq FROM messages WHERE channel_id = $1 ORDER BY seq, message_id",
    [c],
  );
}

describe("a flush in flight across a Redis data loss", () => {
  beforeEach(() => start());

  it("does not commit the lost copy's messages under the reloaded channel", async () => {
    const c = "msgs";
    await flushedChannel(c);
    await staleFlushAcrossLoss(
      async () => {
        await rs.post(c, { messageId: "m6", senderId: "b" });
        await rs.post(c, { messageId: "m7", senderId: "b", mentions: ["a"] });
        await rs.post(c, { messageId: "m8", senderId: "b", mentions: ["a"] });
      },
      async () => expect(await rs.post(c, { messageId: "m6x", senderId: "b" })).toMatchObject({ seq: 6 }),
    );

    // PostgreSQL holds one state: the reloaded one (m6..m8 were acknowledged inside the window).
    expect((await pgMessages(c)).map((m) => `${m.message_id}@${m.seq}`)).toEqual([
      "m1@1",
      "m2@2",
      "m3@3",
      "m4@4",
      "m5@5",
      "m6x@6",
    ]);
    await wipeRedis(space);
    expect(await rs.memberState(c, "a")).toMatchObject({ unread: 1, mentions: 0, channelSeq: 6 });
    expect(await rs.post(c, { messageId: "m7", senderId: "b" })).toMatchObject({ seq: 7, created: true });
    expect(await rs.post(c, { messageId: "m9", senderId: "b" })).toMatchObject({ seq: 8, created: true });
  });

  it("does not commit a cursor above the reloaded channel's seq", async () => {
    const c = "cursor";
    await flushedChannel(c);
    await staleFlushAcrossLoss(
      async () => {
        for (const m of ["m6", "m7", "m8"]) await rs.post(c, { messageId: m, senderId: "b" });
        await rs.markRead(c, "a", "m8");
      },
      () => rs.post(c, { messageId: "m6x", senderId: "b" }),
    );
    await wipeRedis(space);
    expect(await rs.memberState(c, "a")).toMatchObject({
      readSeq: 5,
      channelSeq: 6,
      unread: 1,
      lastReadMessageId: "m5",
    });
  });

  it("does not land a delete underneath the reloaded live channel", async () => {
    const c = "delete";
    await flushedChannel(c);
    await staleFlushAcrossLoss(
      () => rs.deleteChannel(c),
      () => rs.post(c, { messageId: "m6x", senderId: "b" }),
    );
    await wipeRedis(space);
    expect(await rs.channelInfo(c)).toMatchObject({ channelSeq: 6, memberCount: 2, lastMessageId: "m6x" });
    expect(await rs.memberState(c, "a")).toMatchObject({ readSeq: 5, unread: 1 });
  });
});

describe("a flush of v1.1 state in flight across a Redis data loss", () => {
  beforeEach(() => start());

  it("does not commit the lost copy's replies, follows, deletes or mutes under the reloaded channel", async () => {
    const c = "threads";
    await flushedChannel(c);
    await rs.post(c, { messageId: "r1", senderId: "b", threadId: "m1" });
    await rs.flush();
    await staleFlushAcrossLoss(
      async () => {
        await rs.post(c, { messageId: "r2", senderId: "b", threadId: "m1", mentions: ["a"] });
        await rs.follow(c, "m2", "a");
        await rs.deleteMessage(c, "m5");
        await rs.setMuted(c, "a", true);
        await rs.unfollow(c, "m1", "b");
      },
      // After the loss another reply takes the thread's seq 2 in the reloaded copy.
      async () =>
        expect(await rs.post(c, { messageId: "r2x", senderId: "a", threadId: "m1" })).toMatchObject({
          seq: 2,
        }),
    );
    const replies = await queryPg(
      space,
      "SELECT message_id, seq, deleted FROM messages WHERE channel_id = $1 AND thread_id = 'm1' ORDER BY seq",
      [c],
    );
    expect(replies).toEqual([
      { message_id: "r1", seq: "1", deleted: false },
      { message_id: "r2x", seq: "2", deleted: false },
    ]);
    await wipeRedis(space);
    expect(await rs.memberState(c, "a")).toMatchObject({ muted: false, unread: 0 });
    expect(await rs.channelInfo(c)).toMatchObject({ lastMessageId: "m5" });
    expect(await rs.threadState(c, "m1", "b")).toMatchObject({ readSeq: 1, unread: 1 });
    expect(await rs.threadState(c, "m1", "a")).toMatchObject({ readSeq: 2, unread: 0, mentions: 0 });
    expect(await rs.threadInfo(c, "m2").catch((err) => err.code)).toBe("not_found");
  });
});

describe("without the fence (test-only switch)", () => {
  beforeEach(() => start(true));

  it("the same steps corrupt PostgreSQL: two messages at one seq", async () => {
    const c = "unfenced";
    await flushedChannel(c);
    await staleFlushAcrossLoss(
      () => rs.post(c, { messageId: "m6", senderId: "b" }),
      () => rs.post(c, { messageId: "m6x", senderId: "b" }),
    );
    const at6 = (await pgMessages(c)).filter((m) => m.seq === "6").map((m) => m.message_id);
    expect(at6.sort()).toEqual(["m6", "m6x"]);
  });
});

describe("a cache load that read PostgreSQL before another instance's flush", () => {
  beforeEach(() => start());

  it("is dropped when it installs after its lease ran out, and the channel continues", async () => {
    const c = "slow-load";
    await rs.join(c, "a");
    await rs.post(c, { messageId: "m1", senderId: "b" });
    await rs.flush();
    await wipeRedis(space);

    // Instance A begins a load and reads PostgreSQL (seq 1)…
    const redis: RedisClient = connectRedis(space.redisUrl);
    await redis.connect();
    const pool = createPool(space.databaseUrl, 2);
    try {
      const hotA = new RedisStore(redis, space.keyPrefix, 60_000);
      const coldA = new PostgresStore(pool, space.schema);
      expect(await hotA.beginLoad(c, "token-a", false)).toBe("go");
      const outdated = await coldA.loadChannel(c, false);

      // …and stalls past its lease (the lease's expiry, made to happen now). Instance B loads,
      // posts m2b mentioning a, flushes, and the channel expires from the cache.
      await redis.del(hotA.keys.channelLoader(c));
      expect(await rs.post(c, { messageId: "m2b", senderId: "b", mentions: ["a"] })).toMatchObject({
        seq: 2,
      });
      await rs.flush();
      await wipeRedis(space);

      // A's install is refused: its snapshot predates m2b.
      expect(await hotA.installLoad(outdated, "token-a")).toBe(false);
      const serviceA = new ReadStateService(hotA, coldA);
      expect(await serviceA.post(c, { messageId: "m2a", senderId: "b" })).toMatchObject({
        seq: 3,
        created: true,
      });
      expect(await rs.memberState(c, "a")).toMatchObject({ unread: 3, mentions: 1, channelSeq: 3 });
      expect(await rs.post(c, { messageId: "m2b", senderId: "b" })).toMatchObject({ seq: 2, created: false });
    } finally {
      redis.disconnect();
      await pool.end();
    }
  });

  it("keeps a second instance waiting while one loads, then both see one copy", async () => {
    const c = "two-loaders";
    await rs.join(c, "a");
    await rs.flush();
    await wipeRedis(space);

    const redis: RedisClient = connectRedis(space.redisUrl);
    await redis.connect();
    const pool = createPool(space.databaseUrl, 2);
    try {
      const cold = new PostgresStore(pool, space.schema);
      let resume: () => void = () => {};
      const paused = new Promise<void>((r) => {
        resume = r;
      });
      let reads = 0;
      // Instance A's loads read PostgreSQL, then stall until resumed.
      const slowCold = {
        loadChannel: async (id: string, fence: boolean) => {
          const snapshot = await cold.loadChannel(id, fence);
          reads++;
          await paused;
          return snapshot;
        },
        userChannels: (id: string) => cold.userChannels(id),
      };
      const serviceA = new ReadStateService(new RedisStore(redis, space.keyPrefix, 60_000), slowCold);
      const joinA = serviceA.join(c, "b");
      while (reads === 0) await new Promise((r) => setTimeout(r, 5));
      // B misses too, finds A's lease, and waits instead of loading a second copy.
      const postB = rs.post(c, { messageId: "m1", senderId: "a" });
      await new Promise((r) => setTimeout(r, 100));
      resume();
      expect(await joinA).toMatchObject({ userId: "b" });
      expect(await postB).toMatchObject({ seq: 1, created: true });
      expect(await rs.channelInfo(c)).toMatchObject({ channelSeq: 1, memberCount: 2 });
      await rs.flush();
      const [row] = await queryPg(space, "SELECT generation FROM channels WHERE channel_id = $1", [c]);
      // One load after the wipe; the fresh channel's first load was the fenced one of its join.
      expect(Number(row?.generation)).toBe(2);
    } finally {
      redis.disconnect();
      await pool.end();
    }
  });
});

describe("a user's channel list rebuilt while a join is not flushed yet", () => {
  beforeEach(() => start());

  it("is not marked complete from PostgreSQL alone, and lists the join once it is flushed", async () => {
    await rs.join("list-a", "u");
    await rs.flush();
    expect((await rs.userUnread("u")).channels.map((s) => s.channelId)).toEqual(["list-a"]);
    await rs.join("list-b", "u");
    // The node holding the user's list loses its data (Cluster); the channel's node keeps the join.
    const redis = connectRedis(space.redisUrl);
    await redis.connect();
    await redis.del(`${space.keyPrefix}:{u:u}:channels`);
    redis.disconnect();

    await rs.userUnread("u");
    await rs.userUnread("u");
    // The list's pending mark settles once a flush covers a moment past it (plus the clock margin).
    await new Promise((resolve) => setTimeout(resolve, 1100));
    await rs.flush();
    await rs.post("list-b", { messageId: "m1", senderId: "x", mentions: ["u"] });
    const unread = await rs.userUnread("u");
    expect(unread.channels.map((s) => s.channelId)).toEqual(["list-a", "list-b"]);
    expect(unread).toMatchObject({ unread: 1, mentions: 1 });
    // A later read (complete, or still merging with PostgreSQL) keeps listing both.
    expect((await rs.userUnread("u")).channels).toHaveLength(2);
  });
});
