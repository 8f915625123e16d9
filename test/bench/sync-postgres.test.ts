// Pattern A must answer exactly as readstate does, or the benchmark compares different work:
// the same seeded operation stream runs against A and the engine, and every answer is compared.
import { Redis } from "ioredis";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { V1ReadState as ReadState } from "../../bench/execute.js";
import { execute } from "../../bench/execute.js";
import { DEFAULT_OPTIONS } from "../../bench/options.js";
import { SyncPostgresReadState } from "../../bench/patterns/sync-postgres.js";
import { buildTopology } from "../../bench/topology.js";
import { WorkloadGenerator } from "../../bench/workload.js";
import { createReadState, type Engine } from "../../src/index.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const id = `${Date.now().toString(36)}${process.pid.toString(36)}`;
const schemaA = `bench_eq_${id}_a`;
const schemaB = `bench_eq_${id}_b`;
const prefixB = `bench-eq-${id}`;

let a: SyncPostgresReadState;
let engine: Engine;

beforeAll(async () => {
  a = new SyncPostgresReadState({ databaseUrl: DATABASE_URL, schema: schemaA, poolSize: 2 });
  await a.migrate();
  engine = await createReadState({
    redisUrl: REDIS_URL,
    databaseUrl: DATABASE_URL,
    schema: schemaB,
    keyPrefix: prefixB,
    worker: false,
  });
});

afterAll(async () => {
  await a?.drop().catch(() => {});
  await a?.close();
  await engine?.close();
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  await admin.query(`DROP SCHEMA IF EXISTS ${schemaB} CASCADE`);
  await admin.end();
  const redis = new Redis(REDIS_URL);
  let cursor = "0";
  do {
    const [next, keys] = await redis.scan(cursor, "MATCH", `${prefixB}:*`, "COUNT", 1000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== "0");
  redis.disconnect();
});

/** Timestamps differ between two servers by nature; whether one is set must not. */
/** Pattern A answers API.md v1: readstate's v1.1 fields (firstUnreadMessageId, muted, threads) are left out. */
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

describe("Pattern A (synchronous PostgreSQL) against readstate", () => {
  it("gives the same answers over a seeded stream of joins, posts, reads, unreads and queries", async () => {
    const options = {
      ...DEFAULT_OPTIONS,
      seed: 7,
      channels: 6,
      users: 10,
      hugeChannels: 1,
      hugeSize: 10,
      largeSize: 6,
      mix: { post: 35, read: 25, unread: 15, state: 15, userUnread: 10 },
      mentionPercent: 40,
      mentionAllPercent: 15,
      repeatPercent: 10,
    };
    const topology = buildTopology(options);
    for (const channel of topology.channels) {
      for (const user of channel.members) {
        const userId = topology.users[user] as string;
        const run = (rs: ReadState) => rs.join(channel.id, userId);
        expect(await answer(a, run)).toEqual(await answer(engine, run));
      }
    }
    const generator = new WorkloadGenerator(topology, options, "equivalence", 1);
    for (let i = 0; i < 400; i++) {
      const op = generator.next();
      const run = (rs: ReadState) => execute(rs, op);
      expect(await answer(a, run), `op ${i}: ${JSON.stringify(op)}`).toEqual(await answer(engine, run));
    }
    for (const channel of topology.channels) {
      const info = (rs: ReadState) => rs.channelInfo(channel.id);
      expect(await answer(a, info)).toEqual(await answer(engine, info));
      const last = ((await engine.channelInfo(channel.id)) as { lastMessageId: string | null }).lastMessageId;
      if (last !== null) {
        const receipts = (rs: ReadState) => rs.receipts(channel.id, last, { limit: 3 });
        expect(await answer(a, receipts)).toEqual(await answer(engine, receipts));
      }
    }
    const errors = [
      (rs: ReadState) => rs.memberState("ch0", "nobody"),
      (rs: ReadState) => rs.markRead("ch0", topology.users[0] as string, "never-posted"),
      (rs: ReadState) => rs.channelInfo("no-such-channel"),
    ];
    for (const run of errors) expect(await answer(a, run)).toEqual(await answer(engine, run));
  });
});
