// Model-based test: long random sequences of operations over a few channels and users, every
// answer of the engine compared with the in-memory model of API.md (test/core/model.ts).
//
// Besides the API operations, two "fault" commands run at random points:
//   flush  engine.flush(): nothing observable changes;
//   wipe   engine.flush() then wipeRedis(space): everything was flushed, so every later answer is
//          identical (sequences continue; cursors, mentions, lastReadMessageId, lastReadAt survive).
// A wipe without a flush is not part of this test: that loses data by design.
//
// Decisions the engine took where API.md is silent (the model follows them): join sets lastReadAt
// null; leave of a non-member → not_a_member; deleteChannel of a missing channel → not_found;
// markRead/markUnread/memberState on a missing channel → not_a_member (membership is checked before
// the message); markUnread to the cursor's own position is a no-op; a non-member may post (and so
// create the channel); mentions of non-members are stored; receipts' readCount counts every reader
// (not only this page); receipts on a missing channel → not_found.
//
// Reproduce a failure with MODEL_SEED=<seed> (and MODEL_PATH=<path>) from the fast-check report;
// MODEL_RUNS overrides the number of runs of the main property.
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { MemberState } from "../../src/core/types.js";
import type { Engine } from "../../src/engine.js";
import { isReadStateError } from "../../src/index.js";
import { cleanup, engineFor, type TestSpace, testSpace, wipeRedis } from "../helpers/env.js";
import { compare, type ModelMemberState, ReadStateModel, type Result } from "./model.js";

// IDs chosen so that code-point order differs from locale order ("Bob" < "Eve" < "al"), with one ID
// the prefix of another ("al", "alice"; "ch1", "ch1:x"): the mention index ranges by "userId|seq".
const CHANNELS = ["ch1", "Ch2", "ch1:x"] as const;
const USERS = ["alice", "Bob", "al", "carol", "Eve"] as const;
const MESSAGES = ["m1", "m2", "m3", "m4", "m5", "m6"] as const;

type Op =
  | { kind: "join"; c: string; u: string }
  | { kind: "leave"; c: string; u: string }
  | { kind: "post"; c: string; m: string; sender: string; mentions?: string[]; mentionAll?: boolean }
  | { kind: "markRead"; c: string; u: string; m?: string }
  | { kind: "markUnread"; c: string; u: string; m: string }
  | { kind: "memberState"; c: string; u: string }
  | { kind: "userUnread"; u: string }
  | { kind: "channelInfo"; c: string }
  | { kind: "receipts"; c: string; m: string; limit?: number; after?: string }
  | { kind: "deleteChannel"; c: string }
  | { kind: "flush" }
  | { kind: "wipe" }
  | { kind: "sleep"; ms: number };

function describeOp(op: Op): string {
  switch (op.kind) {
    case "join":
    case "leave":
    case "memberState":
      return `${op.kind}(${op.c}, ${op.u})`;
    case "post": {
      const extras = [
        op.mentions === undefined ? "" : `mentions=[${op.mentions.join(",")}]`,
        op.mentionAll === undefined ? "" : `mentionAll=${op.mentionAll}`,
      ].filter(Boolean);
      return `post(${op.c}, ${op.m}, from ${op.sender}${extras.length ? `, ${extras.join(", ")}` : ""})`;
    }
    case "markRead":
      return `markRead(${op.c}, ${op.u}${op.m === undefined ? "" : `, ${op.m}`})`;
    case "markUnread":
      return `markUnread(${op.c}, ${op.u}, ${op.m})`;
    case "userUnread":
      return `userUnread(${op.u})`;
    case "channelInfo":
    case "deleteChannel":
      return `${op.kind}(${op.c})`;
    case "receipts": {
      const query = [
        op.limit === undefined ? "" : `limit=${op.limit}`,
        op.after === undefined ? "" : `after=${op.after}`,
      ].filter(Boolean);
      return `receipts(${op.c}, ${op.m}${query.length ? `, ${query.join(" ")}` : ""})`;
    }
    case "flush":
      return "flush()";
    case "wipe":
      return "flush()+wipeRedis()";
    case "sleep":
      return `sleep(${op.ms}ms)`;
  }
}

// ---- generators ---------------------------------------------------------------------------------
// Uniform IDs rarely line up (a member marking unread a message of its channel...), so most ops name
// a user or message through a "pick", resolved against the model's state when the op runs: {member}
// picks one of the channel's current members, {posted} one of its posted messages (falling back to
// the whole pool when there is none). The failure report prints the resolved, concrete sequence.

type Pick<T> = T | { member: number } | { posted: number };
type UserRef = Pick<string>;
type MessageRef = Pick<string>;

type RawOp =
  | { kind: "join"; c: string; u: string }
  | { kind: "leave" | "memberState"; c: string; u: UserRef }
  | { kind: "post"; c: string; m: string; sender: UserRef; mentions?: string[]; mentionAll?: boolean }
  | { kind: "markRead"; c: string; u: UserRef; m?: MessageRef }
  | { kind: "markUnread"; c: string; u: UserRef; m: MessageRef }
  | { kind: "userUnread"; u: string }
  | { kind: "channelInfo" | "deleteChannel"; c: string }
  | { kind: "receipts"; c: string; m: MessageRef; limit?: number; after?: string }
  | { kind: "flush" | "wipe" }
  | { kind: "sleep"; ms: number };

function describeRef(ref: Pick<string> | undefined): string {
  if (ref === undefined || typeof ref === "string") return String(ref);
  return "member" in ref ? `<member ${ref.member}>` : `<posted ${ref.posted}>`;
}

function describeRaw(op: RawOp): string {
  const copy: Record<string, unknown> = { ...op };
  for (const key of ["u", "m", "sender"]) {
    if (key in copy && typeof copy[key] === "object") copy[key] = describeRef(copy[key] as Pick<string>);
  }
  return describeOp(copy as Op);
}

const channel = fc.constantFrom(...CHANNELS);
const user = fc.constantFrom(...USERS);
const message = fc.constantFrom(...MESSAGES);
const pickIndex = fc.nat({ max: 9 });
const memberRef: fc.Arbitrary<UserRef> = fc.oneof(
  { weight: 1, arbitrary: user },
  { weight: 3, arbitrary: pickIndex.map((member) => ({ member })) },
);
const postedRef: fc.Arbitrary<MessageRef> = fc.oneof(
  { weight: 1, arbitrary: message },
  { weight: 4, arbitrary: pickIndex.map((posted) => ({ posted })) },
);

function opArbitrary(options: { sleeps: boolean }): fc.Arbitrary<RawOp> {
  const ops: fc.WeightedArbitrary<RawOp>[] = [
    { weight: 4, arbitrary: fc.record({ kind: fc.constant("join" as const), c: channel, u: user }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), c: channel, u: memberRef }) },
    {
      weight: 6,
      arbitrary: fc.record(
        {
          kind: fc.constant("post" as const),
          c: channel,
          m: message,
          sender: memberRef,
          // Duplicates and the sender itself happen on purpose.
          mentions: fc.array(user, { maxLength: 3 }),
          mentionAll: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true)),
        },
        { requiredKeys: ["kind", "c", "m", "sender"] },
      ),
    },
    {
      weight: 4,
      arbitrary: fc.record(
        { kind: fc.constant("markRead" as const), c: channel, u: memberRef, m: postedRef },
        { requiredKeys: ["kind", "c", "u"] },
      ),
    },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("markUnread" as const),
        c: channel,
        u: memberRef,
        m: postedRef,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant("memberState" as const), c: channel, u: memberRef }),
    },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant("userUnread" as const), u: user }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("channelInfo" as const), c: channel }) },
    {
      weight: 3,
      arbitrary: fc.record(
        {
          kind: fc.constant("receipts" as const),
          c: channel,
          m: postedRef,
          limit: fc.integer({ min: 1, max: 3 }),
          after: user,
        },
        { requiredKeys: ["kind", "c", "m"] },
      ),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteChannel" as const), c: channel }) },
    { weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: "wipe" as const }) },
  ];
  if (options.sleeps) {
    ops.push({
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant("sleep" as const), ms: fc.integer({ min: 0, max: 80 }) }),
    });
  }
  // A readable counterexample: fast-check prints ops through this method.
  return fc
    .oneof(...ops)
    .map((op) => Object.assign(op, { [fc.toStringMethod]: () => describeRaw(op) }) as RawOp);
}

/** The concrete op a raw op names in the model's current state. */
function resolve(model: ReadStateModel, raw: RawOp): Op {
  const pick = (c: string, ref: Pick<string>): string => {
    if (typeof ref === "string") return ref;
    const from = "member" in ref ? model.memberIds(c) : model.messageIds(c);
    const pool: readonly string[] = from.length > 0 ? from : "member" in ref ? USERS : MESSAGES;
    const index = "member" in ref ? ref.member : ref.posted;
    return pool[index % pool.length] as string;
  };
  switch (raw.kind) {
    case "leave":
    case "memberState":
      return { kind: raw.kind, c: raw.c, u: pick(raw.c, raw.u) };
    case "post":
      return { ...raw, sender: pick(raw.c, raw.sender) };
    case "markRead": {
      const { m, ...rest } = raw;
      return { ...rest, u: pick(raw.c, raw.u), ...(m === undefined ? {} : { m: pick(raw.c, m) }) };
    }
    case "markUnread":
      return { ...raw, u: pick(raw.c, raw.u), m: pick(raw.c, raw.m) };
    case "receipts":
      return { ...raw, m: pick(raw.c, raw.m) };
    default:
      return raw;
  }
}

// ---- running one op on the engine and on the model ---------------------------------------------

type Actual = { ok: true; value: unknown } | { ok: false; code: string };

async function attempt(run: () => Promise<unknown>): Promise<Actual> {
  try {
    const value = await run();
    return { ok: true, value: value === undefined ? null : value };
  } catch (err) {
    if (isReadStateError(err)) return { ok: false, code: err.code };
    throw err;
  }
}

/** Server times observed per stamp, and the wall-clock window of the op that made each stamp. */
class Stamps {
  private readonly seen = new Map<number, string>();
  private readonly windows = new Map<number, { from: number; to: number }>();

  made(first: number, last: number, from: number, to: number): void {
    for (let s = first; s <= last; s++) this.windows.set(s, { from, to });
  }

  /** The actual lastReadAt as the model's stamp when consistent, else a description of the problem. */
  check(expected: number | null, actual: string | null): number | string | null {
    if (expected === null) return actual === null ? null : `expected null, got ${actual}`;
    if (actual === null) return `expected a time (stamp ${expected}), got null`;
    const known = this.seen.get(expected);
    if (known !== undefined) {
      return known === actual ? expected : `expected unchanged ${known} (stamp ${expected}), got ${actual}`;
    }
    const ms = Date.parse(actual);
    if (Number.isNaN(ms) || new Date(ms).toISOString() !== actual) return `not an ISO time: ${actual}`;
    const window = this.windows.get(expected);
    // Redis runs on this host: its clock is ours. A generous slack keeps a loaded machine quiet
    // while still telling "changed now" from "left as an earlier change".
    const SLACK = 250;
    if (window && (ms < window.from - SLACK || ms > window.to + SLACK)) {
      return `lastReadAt ${actual} is outside the op that changed the cursor (${new Date(window.from).toISOString()}…${new Date(window.to).toISOString()})`;
    }
    this.seen.set(expected, actual);
    return expected;
  }
}

function normalizeState(stamps: Stamps, expected: ModelMemberState | undefined, actual: unknown): unknown {
  if (!expected || typeof actual !== "object" || actual === null) return actual;
  const state = actual as MemberState;
  if (state.channelId !== expected.channelId || state.userId !== expected.userId) return actual;
  return { ...state, lastReadAt: stamps.check(expected.lastReadAt, state.lastReadAt) };
}

/** Replaces the engine's lastReadAt times by the model's stamps where they are consistent. */
function normalize(stamps: Stamps, kind: Op["kind"], expected: Result<unknown>, actual: Actual): Actual {
  if (!expected.ok || !actual.ok) return actual;
  if (kind === "join" || kind === "markRead" || kind === "markUnread" || kind === "memberState") {
    return { ok: true, value: normalizeState(stamps, expected.value as ModelMemberState, actual.value) };
  }
  if (kind === "userUnread") {
    const want = expected.value as { channels: ModelMemberState[] };
    const got = actual.value as { channels?: unknown[] };
    if (!Array.isArray(got.channels)) return actual;
    return {
      ok: true,
      value: { ...got, channels: got.channels.map((s, i) => normalizeState(stamps, want.channels[i], s)) },
    };
  }
  return actual;
}

class Runner {
  readonly model = new ReadStateModel();
  private readonly stamps = new Stamps();
  private readonly log: string[] = [];

  constructor(
    private readonly engine: Engine,
    private readonly space: TestSpace,
  ) {}

  async run(raw: RawOp): Promise<void> {
    const op = resolve(this.model, raw);
    this.log.push(describeOp(op));
    switch (op.kind) {
      case "flush":
        await this.engine.flush();
        return;
      case "wipe":
        await this.engine.flush();
        await wipeRedis(this.space);
        return;
      case "sleep":
        await new Promise((resolve) => setTimeout(resolve, op.ms));
        return;
      default:
        await this.compare(op);
    }
  }

  private async compare(op: Exclude<Op, { kind: "flush" | "wipe" | "sleep" }>): Promise<void> {
    const { engine, model } = this;
    const stampsBefore = model.stampCount;
    const from = Date.now();
    let actual: Actual;
    let expected: Result<unknown>;
    switch (op.kind) {
      case "join":
        actual = await attempt(() => engine.join(op.c, op.u));
        expected = model.join(op.c, op.u);
        break;
      case "leave":
        actual = await attempt(() => engine.leave(op.c, op.u));
        expected = model.leave(op.c, op.u);
        break;
      case "post": {
        const input = {
          messageId: op.m,
          senderId: op.sender,
          ...(op.mentions === undefined ? {} : { mentions: op.mentions }),
          ...(op.mentionAll === undefined ? {} : { mentionAll: op.mentionAll }),
        };
        actual = await attempt(() => engine.post(op.c, input));
        expected = model.post(op.c, input);
        break;
      }
      case "markRead":
        actual = await attempt(() => engine.markRead(op.c, op.u, op.m));
        expected = model.markRead(op.c, op.u, op.m);
        break;
      case "markUnread":
        actual = await attempt(() => engine.markUnread(op.c, op.u, op.m));
        expected = model.markUnread(op.c, op.u, op.m);
        break;
      case "memberState":
        actual = await attempt(() => engine.memberState(op.c, op.u));
        expected = model.memberState(op.c, op.u);
        break;
      case "userUnread":
        actual = await attempt(() => engine.userUnread(op.u));
        expected = model.userUnread(op.u);
        break;
      case "channelInfo":
        actual = await attempt(() => engine.channelInfo(op.c));
        expected = model.channelInfo(op.c);
        break;
      case "receipts": {
        const query = {
          ...(op.limit === undefined ? {} : { limit: op.limit }),
          ...(op.after === undefined ? {} : { after: op.after }),
        };
        actual = await attempt(() => engine.receipts(op.c, op.m, query));
        expected = model.receipts(op.c, op.m, query);
        break;
      }
      case "deleteChannel":
        actual = await attempt(() => engine.deleteChannel(op.c));
        expected = model.deleteChannel(op.c);
        break;
    }
    const to = Date.now();
    if (model.stampCount > stampsBefore) this.stamps.made(stampsBefore + 1, model.stampCount, from, to);
    const got = normalize(this.stamps, op.kind, expected, actual);
    try {
      expect(got).toEqual(expected);
    } catch (err) {
      throw new Error(
        `op #${this.log.length} ${describeOp(op)} differs from the model\n` +
          `expected: ${JSON.stringify(expected)}\n` +
          `actual:   ${JSON.stringify(got)}\n` +
          `sequence:\n${this.log.map((line, i) => `  ${i + 1}. ${line}`).join("\n")}\n` +
          (err as Error).message,
      );
    }
  }

  /** Every read the model can answer, over every channel, user and message: read-only. */
  async checkEverything(): Promise<void> {
    for (const c of CHANNELS) {
      await this.run({ kind: "channelInfo", c });
      for (const u of USERS) await this.run({ kind: "memberState", c: c, u });
      // Every posted message, and one never posted (unknown_message, or not_found without channel).
      const posted = this.model.messageIds(c);
      const unposted = MESSAGES.find((m) => !posted.includes(m));
      for (const m of unposted === undefined ? posted : [...posted, unposted]) {
        // Walk every page of the receipts with a small limit, and read them in one page.
        await this.run({ kind: "receipts", c, m });
        let after: string | undefined;
        for (let page = 0; page < USERS.length + 1; page++) {
          const expected = this.model.receipts(c, m, { limit: 2, ...(after ? { after } : {}) });
          await this.run({ kind: "receipts", c, m, limit: 2, ...(after ? { after } : {}) });
          if (!expected.ok || expected.value.next === null) break;
          after = expected.value.next;
        }
      }
    }
    for (const u of USERS) await this.run({ kind: "userUnread", u });
  }
}

// ---- the properties -----------------------------------------------------------------------------

const spaces: TestSpace[] = [];
afterAll(async () => {
  // Spaces are removed per run; this catches what a failing run left behind.
  await Promise.all(spaces.map((s) => cleanup(s).catch(() => {})));
});

async function withEngine(
  options: Parameters<typeof engineFor>[1],
  body: (runner: Runner) => Promise<void>,
): Promise<void> {
  const space = testSpace("model");
  spaces.push(space);
  const engine = await engineFor(space, options);
  try {
    await body(new Runner(engine, space));
  } finally {
    await engine.close().catch(() => {});
    await cleanup(space);
    spaces.splice(spaces.indexOf(space), 1);
  }
}

async function runSequence(runner: Runner, ops: RawOp[]): Promise<void> {
  for (const op of ops) await runner.run(op);
  // The end state, read completely; then once more after a flush and a wipe of Redis.
  await runner.checkEverything();
  await runner.run({ kind: "wipe" });
  await runner.checkEverything();
}

function params(runs: number): fc.Parameters<[RawOp[]]> {
  const seed = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
  return {
    numRuns: Number(process.env.MODEL_RUNS ?? runs),
    ...(seed === undefined ? {} : { seed }),
    ...(process.env.MODEL_PATH === undefined ? {} : { path: process.env.MODEL_PATH }),
    // Each shrink step starts an engine: bound the time a failure may take to shrink.
    interruptAfterTimeLimit: 240_000,
    markInterruptAsFailure: false,
  };
}

describe("the engine against the model of API.md", () => {
  it("answers every random sequence as the model does (worker off, flushes and wipes where placed)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary({ sleeps: false }), { minLength: 1, maxLength: 60, size: "max" }),
        (ops) => withEngine({}, (runner) => runSequence(runner, ops)),
      ),
      params(40),
    );
  }, 300_000);

  it("answers the same with the write-behind worker running in the background", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary({ sleeps: true }), { minLength: 1, maxLength: 50, size: "max" }),
        (ops) => withEngine({ worker: true, flushIntervalMs: 50 }, (runner) => runSequence(runner, ops)),
      ),
      params(10),
    );
  }, 300_000);

  it("answers the same with tiny flush batches and a short cache TTL (reloads from PostgreSQL)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArbitrary({ sleeps: true }), { minLength: 1, maxLength: 50, size: "max" }),
        (ops) =>
          withEngine({ worker: true, flushIntervalMs: 20, flushBatchRows: 3, cacheTtlMs: 150 }, (runner) =>
            runSequence(runner, ops),
          ),
      ),
      params(10),
    );
  }, 300_000);

  it("sorts as the contract does (code-point order), not as the locale does", () => {
    expect([...USERS].sort(compare)).toEqual(["Bob", "Eve", "al", "alice", "carol"]);
    expect([...CHANNELS].sort(compare)).toEqual(["Ch2", "ch1", "ch1:x"]);
  });
});
