// Pattern D (ADR-02 as written: per-member counters) must answer the v1 workload exactly as readstate
// does, or the sweep and the in-process figures compare different work: the same seeded stream of
// joins, posts, reads and queries runs against D and the engine, and every answer is compared. Then
// D's write-behind must have put in PostgreSQL what Redis answers.
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { V1ReadState as ReadState } from "../../bench/execute.js";
import { execute } from "../../bench/execute.js";
import { DEFAULT_OPTIONS } from "../../bench/options.js";
import { AdrKeys } from "../../bench/patterns/adr-counters/keys.js";
import { AdrCountersReadState } from "../../bench/patterns/adr-counters/read-state.js";
import { defineAdrScripts } from "../../bench/patterns/adr-counters/scripts.js";
import { buildTopology } from "../../bench/topology.js";
import { WorkloadGenerator } from "../../bench/workload.js";
import { createReadState, type Engine } from "../../src/index.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const schemaC = `bench_eqd_${id}_c`;
const schemaD = `bench_eqd_${id}_d`;
const prefixC = `bench-eqd-${id}-c`;
const prefixD = `bench-eqd-${id}-d`;

let d: AdrCountersReadState;
let engine: Engine;

beforeAll(async () => {
  d = new AdrCountersReadState({
    redisUrl: REDIS_URL,
    databaseUrl: DATABASE_URL,
    schema: schemaD,
    keyPrefix: prefixD,
    // Flushed by hand below: a timer would make the PostgreSQL check depend on timing.
    flushIntervalMs: 60_000,
    worker: false,
  });
  await d.migrate();
  engine = await createReadState({
    redisUrl: REDIS_URL,
    databaseUrl: DATABASE_URL,
    schema: schemaC,
    keyPrefix: prefixC,
    worker: false,
  });
});

afterAll(async () => {
  await d?.drop().catch(() => {});
  await d?.close();
  await engine?.close();
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schemaC} CASCADE`);
  await admin.end();
  const redis = new Redis(REDIS_URL);
  for (const prefix of [prefixC, prefixD]) {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  }
  redis.disconnect();
});

/** D answers API.md v1: readstate's v1.1 fields are left out; timestamps differ by nature, not whether one is set. */
const V1_1_FIELDS = new Set(["firstUnreadMessageId", "muted", "threads"]);

function normalize(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) =>
      V1_1_FIELDS.has(key) ? undefined : key === "lastReadAt" ? (v === null ? null : "set") : v,
    ),
  ) as unknown;
}

async function answer(readState: ReadState, run: (rs: ReadState) => Promise<unknown>): Promise<unknown> {
  try {
    return normalize(await run(readState));
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  }
}

describe("Pattern D (ADR-02's per-member counters) against readstate", () => {
  it("gives the same answers over a seeded stream of joins, posts, reads and queries, and flushes them", async () => {
    const options = {
      ...DEFAULT_OPTIONS,
      seed: 11,
      channels: 6,
      users: 10,
      hugeChannels: 1,
      hugeSize: 10,
      largeSize: 6,
      // No markUnread: counters cannot move a cursor back (D answers unsupported_by_counters).
      mix: { post: 40, read: 25, unread: 0, state: 20, userUnread: 15 },
      mentionPercent: 40,
      mentionAllPercent: 15,
      repeatPercent: 10,
    };
    const topology = buildTopology(options);
    for (const channel of topology.channels) {
      for (const user of channel.members) {
        const userId = topology.users[user] as string;
        const run = (rs: ReadState) => rs.join(channel.id, userId);
        expect(await answer(d, run)).toEqual(await answer(engine, run));
      }
    }
    const generator = new WorkloadGenerator(topology, options, "equivalence-d", 1);
    for (let i = 0; i < 500; i++) {
      const op = generator.next();
      const run = (rs: ReadState) => execute(rs, op);
      expect(await answer(d, run), `op ${i}: ${JSON.stringify(op)}`).toEqual(await answer(engine, run));
      // A flush midway must change no answer.
      if (i === 250) await d.flush();
    }
    for (const channel of topology.channels) {
      const info = (rs: ReadState) => rs.channelInfo(channel.id);
      expect(await answer(d, info)).toEqual(await answer(engine, info));
      const last = ((await engine.channelInfo(channel.id)) as { lastMessageId: string | null }).lastMessageId;
      if (last !== null) {
        const receipts = (rs: ReadState) => rs.receipts(channel.id, last, { limit: 3 });
        expect(await answer(d, receipts)).toEqual(await answer(engine, receipts));
      }
    }
    const member = topology.users[topology.channels[0]?.members[0] as number] as string;
    const errors = [
      (rs: ReadState) => rs.memberState("ch0", "nobody"),
      (rs: ReadState) => rs.markRead("ch0", member, "never-posted"),
      (rs: ReadState) => rs.markRead("ch0", "nobody"),
      (rs: ReadState) => rs.channelInfo("no-such-channel"),
    ];
    for (const run of errors) expect(await answer(d, run)).toEqual(await answer(engine, run));

    // A leave, then everything flushed: PostgreSQL holds what Redis answers, and nothing more.
    await d.leave("ch0", member);
    await expect(d.memberState("ch0", member)).rejects.toMatchObject({ code: "not_a_member" });
    expect((await d.flush()).remaining).toBe(0);
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin.connect();
    try {
      const rows = await admin.query<{
        channel_id: string;
        user_id: string;
        unread: string;
        mentions: string;
        read_seq: string;
      }>(
        `SELECT channel_id, user_id, unread, mentions, read_seq FROM ${schemaD}.d_members ORDER BY channel_id, user_id`,
      );
      const expected: unknown[] = [];
      for (const userId of topology.users) {
        for (const state of (await d.userUnread(userId)).channels) {
          expected.push({
            channel_id: state.channelId,
            user_id: userId,
            unread: String(state.unread),
            mentions: String(state.mentions),
            read_seq: String(state.readSeq),
          });
        }
      }
      const key = (r: unknown) => {
        const row = r as { channel_id: string; user_id: string };
        return `${row.channel_id}\u0000${row.user_id}`;
      };
      expect(rows.rows.map((r) => ({ ...r })).sort((x, y) => (key(x) < key(y) ? -1 : 1))).toEqual(
        expected.sort((x, y) => (key(x) < key(y) ? -1 : 1)),
      );
      const channels = await admin.query<{ channel_id: string; channel_seq: string }>(
        `SELECT channel_id, channel_seq FROM ${schemaD}.d_channels`,
      );
      for (const row of channels.rows) {
        expect(Number(row.channel_seq), row.channel_id).toBe(
          (await d.channelInfo(row.channel_id)).channelSeq,
        );
      }
    } finally {
      await admin.end();
    }
  });

  it("refuses what counters cannot answer, by name", async () => {
    await d.join("solo", "u1");
    await d.join("solo", "u2");
    await d.post("solo", { messageId: "s1", senderId: "u2" });
    await d.post("solo", { messageId: "s2", senderId: "u2" });
    await expect(d.markUnread("solo", "u1", "s1")).rejects.toMatchObject({ code: "unsupported_by_counters" });
    await expect(d.markRead("solo", "u1", "s1")).rejects.toMatchObject({ code: "unsupported_by_counters" });
    expect((await d.markRead("solo", "u1", "s2")).unread).toBe(0);
  });

  it("post.lua increments every member but the sender once, and claim.lua hands over each changed member once", async () => {
    const redis = defineAdrScripts(new Redis(REDIS_URL));
    const keys = new AdrKeys(`${prefixD}:scripts`);
    try {
      for (const userId of ["a", "b", "c"]) {
        await redis.adr_join(...keys.channelWithDirty("k"), keys.userChannels(userId), "k", userId);
      }
      const [meta, unread, mentions, , , dmem] = keys.channel("k") as string[];
      await redis.adr_claim(...keys.channel("k"));
      expect(await redis.adr_post(...keys.channelWithDirty("k"), "k", "m1", "a", "0", "b,b,z")).toEqual([
        1, 1,
      ]);
      expect(await redis.adr_post(...keys.channelWithDirty("k"), "k", "m1", "a", "0", "b")).toEqual([0, 1]);
      expect(await redis.hgetall(unread as string)).toEqual({ a: "0", b: "1", c: "1" });
      // A repeated mention counts once; a non-member's is dropped.
      expect(await redis.hgetall(mentions as string)).toEqual({ a: "0", b: "1", c: "0" });
      expect(await redis.hget(meta as string, "lmid")).toBe("m1");
      expect(await redis.smembers(dmem as string)).toEqual(["*"]);

      const claim = (await redis.adr_claim(...keys.channel("k"))) as string[];
      expect(claim.slice(0, 2)).toEqual(["1", "m1"]);
      const byMember = new Map<string, string>();
      for (let i = 2; i < claim.length; i += 2) byMember.set(claim[i] as string, claim[i + 1] as string);
      expect([...byMember.keys()].sort()).toEqual(["a", "b", "c"]);
      expect(byMember.get("b")).toBe("1|1|0||");
      expect(byMember.get("a")).toMatch(/^0\|0\|1\|\d+\|m1$/);
      expect(await redis.exists(dmem as string)).toBe(0);
      expect(((await redis.adr_claim(...keys.channel("k"))) as string[]).length).toBe(2);
    } finally {
      redis.disconnect();
    }
  });
});
