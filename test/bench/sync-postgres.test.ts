// Pattern A must answer exactly as readstate does, or the benchmark compares different work:
// the same seeded operation stream runs against A and the engine, and every answer is compared.
import { afterAll, beforeAll, describe, it } from "vitest";
import { execute, type V1ReadState as ReadState } from "../../bench/execute.js";
import { DEFAULT_OPTIONS } from "../../bench/options.js";
import { SyncPostgresReadState } from "../../bench/patterns/sync-postgres.js";
import { buildTopology } from "../../bench/topology.js";
import { WorkloadGenerator } from "../../bench/workload.js";
import type { Engine } from "../../src/index.js";
import { cleanup, engineFor, testSpace } from "../helpers/env.js";
import { expectSame, expectSameChannels, joinEveryMember } from "./equivalence.js";

const space = testSpace("bench-eq");
let a: SyncPostgresReadState;
let engine: Engine;

beforeAll(async () => {
  a = new SyncPostgresReadState({ databaseUrl: space.databaseUrl, schema: `${space.schema}_a`, poolSize: 2 });
  await a.migrate();
  engine = await engineFor(space);
});

afterAll(async () => {
  await a?.drop().catch(() => {});
  await a?.close();
  await engine?.close();
  await cleanup(space);
});

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
    await joinEveryMember(a, engine, topology);
    const generator = new WorkloadGenerator(topology, options, "equivalence", 1);
    for (let i = 0; i < 400; i++) {
      const op = generator.next();
      await expectSame(a, engine, (rs) => execute(rs, op), `op ${i}: ${JSON.stringify(op)}`);
    }
    await expectSameChannels(a, engine, topology);
    const errors = [
      (rs: ReadState) => rs.memberState("ch0", "nobody"),
      (rs: ReadState) => rs.markRead("ch0", topology.users[0] as string, "never-posted"),
      (rs: ReadState) => rs.channelInfo("no-such-channel"),
    ];
    for (const run of errors) await expectSame(a, engine, run);
  });
});
