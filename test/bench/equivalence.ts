// Shared by the equivalence tests of the benchmark's patterns (A, D): the same calls run against a
// pattern and the engine, and their answers are compared as API.md v1 states them.
import { expect } from "vitest";
import type { V1ReadState as ReadState } from "../../bench/execute.js";
import type { Topology } from "../../bench/topology.js";
import type { Engine } from "../../src/index.js";

/** The patterns answer API.md v1: readstate's v1.1 fields are left out. */
const V1_1_FIELDS = new Set(["firstUnreadMessageId", "muted", "threads"]);

/** Timestamps differ between two servers by nature; whether one is set must not. */
function normalize(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (key, v) =>
      V1_1_FIELDS.has(key) ? undefined : key === "lastReadAt" ? (v === null ? null : "set") : v,
    ),
  ) as unknown;
}

/** What `run` answers on `readState`, normalized, or the error code it fails with. */
export async function answer(
  readState: ReadState,
  run: (rs: ReadState) => Promise<unknown>,
): Promise<unknown> {
  try {
    return normalize(await run(readState));
  } catch (err) {
    return { error: (err as { code?: string }).code ?? String(err) };
  }
}

/** Both answer `run` alike. */
export async function expectSame(
  pattern: ReadState,
  engine: Engine,
  run: (rs: ReadState) => Promise<unknown>,
  label?: string,
): Promise<void> {
  expect(await answer(pattern, run), label).toEqual(await answer(engine, run));
}

/** Joins every member of the topology on both, comparing each answer. */
export async function joinEveryMember(pattern: ReadState, engine: Engine, topology: Topology): Promise<void> {
  for (const channel of topology.channels) {
    for (const user of channel.members) {
      const userId = topology.users[user] as string;
      await expectSame(pattern, engine, (rs) => rs.join(channel.id, userId));
    }
  }
}

/** Compares every channel's info and the receipts of its last message. */
export async function expectSameChannels(
  pattern: ReadState,
  engine: Engine,
  topology: Topology,
): Promise<void> {
  for (const channel of topology.channels) {
    await expectSame(pattern, engine, (rs) => rs.channelInfo(channel.id));
    const last = ((await engine.channelInfo(channel.id)) as { lastMessageId: string | null }).lastMessageId;
    if (last !== null) {
      await expectSame(pattern, engine, (rs) => rs.receipts(channel.id, last, { limit: 3 }));
    }
  }
}
