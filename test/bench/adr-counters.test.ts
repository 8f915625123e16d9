// Pattern D (ADR-02 as written: per-member counters) must answer the v1 workload exactly as readstate
// does, or the sweep and the in-process figures compare different work: the same seeded stream of
// joins, posts, reads and queries runs against D and the engine, and every answer is compared. Then
// D's write-behind must have put in PostgreSQL what Redis answers.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execute, type V1ReadState as ReadState } from "../../bench/execute.js";
import { DEFAULT_OPTIONS } from "../../bench/options.js";
import { AdrKeys } from "../../bench/patterns/adr-counters/keys.js";
import { AdrCountersReadState } from "../../bench/patterns/adr-counters/read-state.js";
import { defineAdrScripts } from "../../bench/patterns/adr-counters/scripts.js";
import { buildTopology } from "../../bench/topology.js";
import { WorkloadGenerator } from "../../bench/workload.js";
import type { Engine } from "../../src/index.js";
import { cleanup, engineFor, queryPg, testSpace, wipeRedis } from "../helpers/env.js";
import { expectSame, expectSameChannels, joinEveryMember } from "./equivalence.js";

const space = testSpace("bench-eqd");
/** D's own schema and key prefix, beside the engine's. */
const spaceD = { ...space, schema: `${space.schema}_d`, keyPrefix: `${space.keyPrefix}-d` };

let d: AdrCountersReadState;
let engine: Engine;

beforeAll(async () => {
  d = new AdrCountersReadState({
    redisUrl: spaceD.redisUrl,
    databaseUrl: spaceD.databaseUrl,
    schema: spaceD.schema,
    keyPrefix: spaceD.keyPrefix,
    // Flushed by hand below: a timer would make the PostgreSQL check depend on timing.
    flushIntervalMs: 60_000,
    worker: false,
  });
  await d.migrate();
  engine = await engineFor(space);
});

afterAll(async () => {
  await d?.drop().catch(() => {});
  await d?.close();
  await engine?.close();
  await cleanup(space);
  await wipeRedis(spaceD);
});

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
    await joinEveryMember(d, engine, topology);
    const generator = new WorkloadGenerator(topology, options, "equivalence-d", 1);
    for (let i = 0; i < 500; i++) {
      const op = generator.next();
      await expectSame(d, engine, (rs) => execute(rs, op), `op ${i}: ${JSON.stringify(op)}`);
      // A flush midway must change no answer.
      if (i === 250) await d.flush();
    }
    await expectSameChannels(d, engine, topology);
    const member = topology.users[topology.channels[0]?.members[0] as number] as string;
    const errors = [
      (rs: ReadState) => rs.memberState("ch0", "nobody"),
      (rs: ReadState) => rs.markRead("ch0", member, "never-posted"),
      (rs: ReadState) => rs.markRead("ch0", "nobody"),
      (rs: ReadState) => rs.channelInfo("no-such-channel"),
    ];
    for (const run of errors) await expectSame(d, engine, run);

    // A leave, then everything flushed: PostgreSQL holds what Redis answers, and nothing more.
    await d.leave("ch0", member);
    await expect(d.memberState("ch0", member)).rejects.toMatchObject({ code: "not_a_member" });
    expect((await d.flush()).remaining).toBe(0);
    const rows = await queryPg<{
      channel_id: string;
      user_id: string;
      unread: string;
      mentions: string;
      read_seq: string;
    }>(spaceD, "SELECT channel_id, user_id, unread, mentions, read_seq FROM d_members");
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
    expect(rows.map((r) => ({ ...r })).sort((x, y) => (key(x) < key(y) ? -1 : 1))).toEqual(
      expected.sort((x, y) => (key(x) < key(y) ? -1 : 1)),
    );
    const channels = await queryPg<{ channel_id: string; channel_seq: string }>(
      spaceD,
      "SELECT channel_id, channel_seq FROM d_channels",
    );
    for (const row of channels) {
      expect(Number(row.channel_seq), row.channel_id).toBe((await d.channelInfo(row.channel_id)).channelSeq);
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
    const redis = defineAdrScripts(new Redis(spaceD.redisUrl));
    const keys = new AdrKeys(`${spaceD.keyPrefix}:scripts`);
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
