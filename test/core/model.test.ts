// Model-based test: long random sequences of operations over a few channels and users, every
// answer of the engine compared with the in-memory model of API.md (test/core/model.ts).
//
// Besides the API operations, "fault" commands run at random points:
//   flush         engine.flush(): nothing observable changes;
//   wipe          engine.flush() then wipeRedis(space): everything was flushed, so every later answer
//                 is identical (sequences continue; cursors, mentions, lastReadMessageId, lastReadAt
//                 survive);
//   wipeMidFlush  a flush is held between its claim and its commit (test/helpers/hold.ts), Redis
//                 loses its data, every channel is loaded again (channelInfo on each, compared), then
//                 the flush goes on. The fence refuses the held batch, so PostgreSQL keeps the state of
//                 the last *completed* flush, and the model goes back to its snapshot of that moment
//                 (ReadStateModel.snapshot/restore): whatever came after it is lost, as a Redis loss
//                 without a flush loses it by design. A flush that had nothing to hold (it finished
//                 without waiting) completed: the snapshot is taken then, and the wipe loses nothing.
// After a revert, a cursor moved in the lost window is back at its earlier position with its
// earlier stamp: the engine must answer the lastReadAt it answered for that stamp before (PostgreSQL
// kept it), not the lost change's time. The lost changes' stamps are never expected again, and new
// changes take new stamps. Unread and mention counts, lastReadMessageId, memberships, user lists and
// deleted channels follow the reverted channels the same way.
// The write-behind worker running in the background makes "the last completed flush" unknowable, so
// the properties with wipeMidFlush run with the worker off (both engines, in the two-engine one).
//
// Decisions the engine took where API.md is silent (the model follows them): join sets lastReadAt
// null; leave of a non-member → not_a_member; deleteChannel of a missing channel → not_found;
// markRead/markUnread/memberState on a missing channel → not_a_member (membership is checked before
// the message); markUnread to the cursor's own position is a no-op; a non-member may post (and so
// create the channel); mentions of non-members are stored; receipts' readCount counts every reader
// (not only this page); receipts on a missing channel → not_found.
//
// Reproduce a failure with MODEL_SEED=<seed> (and MODEL_PATH=<path>) from the fast-check report;
// MODEL_RUNS overrides the number of runs of every property. MODEL_UNFENCED=1 runs only the check
// that the properties with wipeMidFlush fail once the fence is off (see the end of this file).
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import type { ReadStateConfig } from "../../src/config.js";
import type { MemberState } from "../../src/core/types.js";
import type { Engine, TestingHooks } from "../../src/engine.js";
import { isReadStateError } from "../../src/index.js";
import { cleanup, engineFor, type TestSpace, testSpace, wipeRedis } from "../helpers/env.js";
import { holdFlushes } from "../helpers/hold.js";
import { compare, type ModelMemberState, ReadStateModel, type Result } from "./model.js";

// IDs chosen so that code-point order differs from locale order ("Bob" < "Eve" < "al"), with one ID
// the prefix of another ("al", "alice"; "ch1", "ch1:x"): the mention index ranges by "userId|seq".
const CHANNELS = ["ch1", "Ch2", "ch1:x"] as const;
const USERS = ["alice", "Bob", "al", "carol", "Eve"] as const;
const MESSAGES = ["m1", "m2", "m3", "m4", "m5", "m6"] as const;

/** `on`: which engine runs it, an index into the run's engines (A = 0 when absent, B = 1). */
type Op = Action & { on?: number };

type Action =
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
  | { kind: "wipeMidFlush" }
  | { kind: "sleep"; ms: number };

const ENGINE_NAMES = ["A", "B"] as const;

function describeOp(op: Op): string {
  const text = describeAction(op);
  return op.on === undefined ? text : `${ENGINE_NAMES[op.on] ?? op.on}: ${text}`;
}

function describeAction(op: Op): string {
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
    case "wipeMidFlush":
      return "flush() held between claim and commit, wipeRedis(), reload every channel, release";
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

type RawOp = RawAction & { on?: number };

type RawAction =
  | { kind: "join"; c: string; u: string }
  | { kind: "leave" | "memberState"; c: string; u: UserRef }
  | { kind: "post"; c: string; m: string; sender: UserRef; mentions?: string[]; mentionAll?: boolean }
  | { kind: "markRead"; c: string; u: UserRef; m?: MessageRef }
  | { kind: "markUnread"; c: string; u: UserRef; m: MessageRef }
  | { kind: "userUnread"; u: string }
  | { kind: "channelInfo" | "deleteChannel"; c: string }
  | { kind: "receipts"; c: string; m: MessageRef; limit?: number; after?: string }
  | { kind: "flush" | "wipe" | "wipeMidFlush" }
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

interface OpOptions {
  sleeps: boolean;
  /** wipeMidFlush among the ops: only where no worker flushes in the background. */
  midFlush: boolean;
  /** How many engines share the space; each op goes to one of them at random. */
  engines?: number;
}

function opArbitrary(options: OpOptions): fc.Arbitrary<RawOp> {
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
  if (options.midFlush) {
    ops.push({ weight: 1, arbitrary: fc.constant({ kind: "wipeMidFlush" as const }) });
  }
  if (options.sleeps) {
    ops.push({
      weight: 3,
      arbitrary: fc.record({ kind: fc.constant("sleep" as const), ms: fc.integer({ min: 0, max: 80 }) }),
    });
  }
  const engines = options.engines ?? 1;
  const op: fc.Arbitrary<RawOp> =
    engines > 1
      ? fc.tuple(fc.oneof(...ops), fc.nat({ max: engines - 1 })).map(([action, on]) => ({ ...action, on }))
      : fc.oneof(...ops);
  // A readable counterexample: fast-check prints ops through this method.
  return op.map((raw) => Object.assign(raw, { [fc.toStringMethod]: () => describeRaw(raw) }));
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
      return { ...raw, kind: raw.kind, u: pick(raw.c, raw.u) };
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

type ApiOp = Exclude<Op, { kind: "flush" | "wipe" | "wipeMidFlush" | "sleep" }>;

/** The engine's side of an API op. */
function onEngine(engine: Engine, op: ApiOp): () => Promise<unknown> {
  switch (op.kind) {
    case "join":
      return () => engine.join(op.c, op.u);
    case "leave":
      return () => engine.leave(op.c, op.u);
    case "post":
      return () => engine.post(op.c, postInput(op));
    case "markRead":
      return () => engine.markRead(op.c, op.u, op.m);
    case "markUnread":
      return () => engine.markUnread(op.c, op.u, op.m);
    case "memberState":
      return () => engine.memberState(op.c, op.u);
    case "userUnread":
      return () => engine.userUnread(op.u);
    case "channelInfo":
      return () => engine.channelInfo(op.c);
    case "receipts":
      return () => engine.receipts(op.c, op.m, receiptsQuery(op));
    case "deleteChannel":
      return () => engine.deleteChannel(op.c);
  }
}

/** The model's side of an API op (it changes the model). */
function onModel(model: ReadStateModel, op: ApiOp): Result<unknown> {
  switch (op.kind) {
    case "join":
      return model.join(op.c, op.u);
    case "leave":
      return model.leave(op.c, op.u);
    case "post":
      return model.post(op.c, postInput(op));
    case "markRead":
      return model.markRead(op.c, op.u, op.m);
    case "markUnread":
      return model.markUnread(op.c, op.u, op.m);
    case "memberState":
      return model.memberState(op.c, op.u);
    case "userUnread":
      return model.userUnread(op.u);
    case "channelInfo":
      return model.channelInfo(op.c);
    case "receipts":
      return model.receipts(op.c, op.m, receiptsQuery(op));
    case "deleteChannel":
      return model.deleteChannel(op.c);
  }
}

function postInput(op: Extract<Op, { kind: "post" }>) {
  return {
    messageId: op.m,
    senderId: op.sender,
    ...(op.mentions === undefined ? {} : { mentions: op.mentions }),
    ...(op.mentionAll === undefined ? {} : { mentionAll: op.mentionAll }),
  };
}

function receiptsQuery(op: Extract<Op, { kind: "receipts" }>) {
  return {
    ...(op.limit === undefined ? {} : { limit: op.limit }),
    ...(op.after === undefined ? {} : { after: op.after }),
  };
}

/** How the wipeMidFlush ops of a property went: a flush held, or none to hold (it finished at once). */
const midFlushOutcomes = { held: 0, idle: 0 };

/** API ops run, and those still answered `unavailable` after their retries (tiny-TTL runs only). */
const answers = { total: 0, unavailable: 0 };

interface RunnerOptions {
  /**
   * Where the cache TTL is tiny on purpose, a channel may leave the cache again each time it is
   * loaded for an op, and the op answers `unavailable` having changed nothing (every script checks
   * the channel is loaded before it writes). It is retried this many times; still unavailable, it
   * counts as a 503 the model does not run. Elsewhere `unavailable` is a failure.
   */
  unavailableRetries?: number;
}

class Runner {
  readonly model = new ReadStateModel();
  /** The model as of the last completed flush: what PostgreSQL holds (nothing at first). */
  private durable = this.model.snapshot();
  private readonly stamps = new Stamps();
  private readonly log: string[] = [];

  constructor(
    private readonly engines: readonly Engine[],
    private readonly space: TestSpace,
    private readonly options: RunnerOptions = {},
  ) {}

  private engine(op: Op): Engine {
    const engine = this.engines[op.on ?? 0];
    if (!engine) throw new Error(`no engine ${op.on} in this run`);
    return engine;
  }

  async run(raw: RawOp): Promise<void> {
    const op = resolve(this.model, raw);
    this.log.push(describeOp(op));
    switch (op.kind) {
      case "flush":
        await this.flush(op);
        return;
      case "wipe":
        await this.flush(op);
        await wipeRedis(this.space);
        return;
      case "wipeMidFlush":
        await this.wipeMidFlush(op);
        return;
      case "sleep":
        await new Promise((resolve) => setTimeout(resolve, op.ms));
        return;
      default:
        await this.compare(op);
    }
  }

  /** Every engine flushes everything dirty (one dirty index per space): PostgreSQL holds the model. */
  private async flush(op: Op): Promise<void> {
    await this.engine(op).flush();
    this.durable = this.model.snapshot();
  }

  private async wipeMidFlush(op: Op): Promise<void> {
    const hold = await holdFlushes(this.space);
    const flush = this.engine(op).flush();
    try {
      if ((await hold.untilFlushWaits(flush)) === "done") {
        // Nothing to write to the held tables (nothing was dirty): a completed flush.
        await flush;
        this.durable = this.model.snapshot();
        midFlushOutcomes.idle += 1;
      } else {
        midFlushOutcomes.held += 1;
      }
      await wipeRedis(this.space);
      this.model.restore(this.durable);
      // Each load takes the channel's next generation, while the held batch still carries the one it
      // claimed. Compared: the reloaded copy is the last completed flush's state.
      for (const [i, c] of CHANNELS.entries()) {
        await this.run({ kind: "channelInfo", c, ...(this.engines.length > 1 ? { on: i % 2 } : {}) });
      }
    } finally {
      flush.catch(() => {}); // awaited below; a failure above must not leave it unhandled
      await hold.release();
    }
    await flush;
  }

  private async compare(op: ApiOp): Promise<void> {
    const { model } = this;
    const stampsBefore = model.stampCount;
    const from = Date.now();
    const actual = await this.attempt(onEngine(this.engine(op), op));
    answers.total += 1;
    if (!actual.ok && actual.code === "unavailable" && this.options.unavailableRetries !== undefined) {
      answers.unavailable += 1;
      this.log[this.log.length - 1] += " → unavailable (not run on the model)";
      return;
    }
    const expected = onModel(model, op);
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

  private async attempt(call: () => Promise<unknown>): Promise<Actual> {
    for (let retry = 0; ; retry++) {
      const actual = await attempt(call);
      if (actual.ok || actual.code !== "unavailable") return actual;
      if (retry >= (this.options.unavailableRetries ?? 0)) return actual;
    }
  }

  /** Every read the model can answer, over every channel, user and message: read-only. */
  async checkEverything(): Promise<void> {
    for (const [i, c] of CHANNELS.entries()) {
      // With two engines, half of the reads go to each (the end state must read the same on both).
      const on = this.engines.length > 1 ? { on: i % 2 } : {};
      await this.run({ kind: "channelInfo", c, ...on });
      for (const u of USERS) await this.run({ kind: "memberState", c: c, u, ...on });
      // Every posted message, and one never posted (unknown_message, or not_found without channel).
      const posted = this.model.messageIds(c);
      const unposted = MESSAGES.find((m) => !posted.includes(m));
      for (const m of unposted === undefined ? posted : [...posted, unposted]) {
        // Walk every page of the receipts with a small limit, and read them in one page.
        await this.run({ kind: "receipts", c, m, ...on });
        let after: string | undefined;
        for (let page = 0; page < USERS.length + 1; page++) {
          const expected = this.model.receipts(c, m, { limit: 2, ...(after ? { after } : {}) });
          await this.run({ kind: "receipts", c, m, limit: 2, ...(after ? { after } : {}), ...on });
          if (!expected.ok || expected.value.next === null) break;
          after = expected.value.next;
        }
      }
    }
    for (const [i, u] of USERS.entries()) {
      await this.run({ kind: "userUnread", u, ...(this.engines.length > 1 ? { on: i % 2 } : {}) });
    }
  }
}

// ---- the properties -----------------------------------------------------------------------------

const spaces: TestSpace[] = [];
afterAll(async () => {
  // Spaces are removed per run; this catches what a failing run left behind.
  await Promise.all(spaces.map((s) => cleanup(s).catch(() => {})));
});

/** One kind of run: its engines (all on one space) and the ops it draws. */
interface Setup {
  ops: OpOptions;
  maxLength: number;
  /** Options of every engine of the run. */
  engine: Partial<ReadStateConfig>;
  runner?: RunnerOptions;
}

async function withEngines(
  setup: Setup,
  testing: TestingHooks,
  body: (runner: Runner) => Promise<void>,
): Promise<void> {
  const space = testSpace("model");
  spaces.push(space);
  const engines: Engine[] = [];
  try {
    for (let i = 0; i < (setup.ops.engines ?? 1); i++)
      engines.push(await engineFor(space, setup.engine, testing));
    await body(new Runner(engines, space, setup.runner));
  } finally {
    for (const engine of engines) await engine.close().catch(() => {});
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

function sequences(setup: Setup): fc.Arbitrary<RawOp[]> {
  return fc.array(opArbitrary(setup.ops), { minLength: 1, maxLength: setup.maxLength, size: "max" });
}

function sequenceProperty(setup: Setup, testing: TestingHooks = {}) {
  return fc.asyncProperty(sequences(setup), (ops) =>
    withEngines(setup, testing, (runner) => runSequence(runner, ops)),
  );
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

const SINGLE: Setup = { ops: { sleeps: false, midFlush: true }, maxLength: 60, engine: {} };
const TWO_ENGINES: Setup = { ops: { sleeps: false, midFlush: true, engines: 2 }, maxLength: 60, engine: {} };
// cacheTtlMs 1: a clean channel expires about as soon as it is installed, so it leaves the cache
// between a load and the op that asked for it (the op loads again), between ops, and during the
// reloads of a wipeMidFlush. userUnread loads its channels once and answers `unavailable` when one
// of them expired again meanwhile: retried, as a client does on 503.
const TINY_TTL: Setup = {
  ops: { sleeps: true, midFlush: true },
  maxLength: 50,
  engine: { cacheTtlMs: 1 },
  runner: { unavailableRetries: 5 },
};

const UNFENCED = process.env.MODEL_UNFENCED === "1";

describe.skipIf(UNFENCED)("the engine against the model of API.md", () => {
  it("answers every random sequence as the model does (worker off; flushes, wipes and wipes mid-flush)", async () => {
    midFlushOutcomes.held = 0;
    await fc.assert(sequenceProperty(SINGLE), params(40));
    // The action exists to hold a flush: most of the time there is one to hold.
    if (Number(process.env.MODEL_RUNS ?? 40) >= 40) expect(midFlushOutcomes.held).toBeGreaterThan(0);
  }, 300_000);

  it("answers the same with the write-behind worker running in the background", async () => {
    await fc.assert(
      sequenceProperty({
        ops: { sleeps: true, midFlush: false },
        maxLength: 50,
        engine: { worker: true, flushIntervalMs: 50 },
      }),
      params(10),
    );
  }, 300_000);

  it("answers the same with tiny flush batches and a short cache TTL (reloads from PostgreSQL)", async () => {
    await fc.assert(
      sequenceProperty({
        ops: { sleeps: true, midFlush: false },
        maxLength: 50,
        engine: { worker: true, flushIntervalMs: 20, flushBatchRows: 3, cacheTtlMs: 150 },
      }),
      params(10),
    );
  }, 300_000);

  // This property found a channel seen partly expired inside one script (test/core/expiry.test.ts).
  it("answers the same when channels expire between their loads and the ops (cache TTL 1 ms)", async () => {
    answers.total = 0;
    answers.unavailable = 0;
    await fc.assert(sequenceProperty(TINY_TTL), params(10));
    // Retried 503s are allowed, but a run where most ops end unavailable would check nothing.
    expect(answers.unavailable).toBeLessThan(answers.total / 2);
  }, 300_000);

  it("answers the same from either of two engines on one space (read-your-writes across instances)", async () => {
    await fc.assert(sequenceProperty(TWO_ENGINES), params(15));
  }, 300_000);

  it("sorts as the contract does (code-point order), not as the locale does", () => {
    expect([...USERS].sort(compare)).toEqual(["Bob", "Eve", "al", "alice", "carol"]);
    expect([...CHANNELS].sort(compare)).toEqual(["Ch2", "ch1", "ch1:x"]);
  });
});

// ---- the test can fail --------------------------------------------------------------------------
// With the fence off (engines created with unfencedFlushes), a held flush commits the lost copy
// over the reloaded one, and the properties with wipeMidFlush must find it. Not part of the suite:
//   MODEL_UNFENCED=1 npx vitest run test/core/model.test.ts
// Recorded 2026-11-30 (2 shared cores, random seeds, time from start to the first failure):
//   one engine:  seed -1555361786 after 5 runs, 4.0 s; seed 987460838 after 1 run, 0.9 s;
//                seed 332211556 after 2 runs, 1.7 s
//   two engines: seed 716615702 after 2 runs, 1.6 s; seed 971197383 after 5 runs, 3.0 s;
//                seed 194783091 after 6 runs, 3.0 s
// Each test stops at its first failure and prints the seed and the time it took; MODEL_SHRINK=1
// shrinks the failure first (with MODEL_SEED=<seed> to shrink a known one).

describe.runIf(UNFENCED)(
  "without the fence (MODEL_UNFENCED=1), the properties with wipeMidFlush fail",
  () => {
    for (const [name, setup] of [
      ["one engine", SINGLE],
      ["two engines", TWO_ENGINES],
    ] as const) {
      it(`${name}: within 5 minutes`, async () => {
        const started = Date.now();
        const details = await fc.check(sequenceProperty(setup, { unfencedFlushes: true }), {
          ...params(1_000_000),
          endOnFailure: process.env.MODEL_SHRINK !== "1",
          interruptAfterTimeLimit: 300_000,
        });
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        console.info(
          `${name}: seed ${details.seed}, ${details.failed ? "failed" : "did not fail"} after ${details.numRuns} runs, ${seconds} s` +
            (details.failed ? `\n${(details.errorInstance as Error).message}` : ""),
        );
        expect(details.failed).toBe(true);
      }, 330_000);
    }
  },
);

// ---- fixed cases --------------------------------------------------------------------------------

/**
 * Shrunk from the unfenced check's failure (one engine, seed 987460838, MODEL_SHRINK=1). alice's
 * join is claimed by the held flush; Redis loses it and ch1 is loaded again, absent (PostgreSQL
 * only has the row the join's fenced load created); alice, not a member any more, posts m1, which
 * starts ch1 again. Without the fence the held batch commits after the reload. Both copies count
 * their versions up from what PostgreSQL held (plus the gap), so m1's channel row comes with the
 * version the stale one already has and the version guard keeps the stale row: after the final
 * wipe ch1 reads seq 0, no m1, alice a member again. The lost join came back and an acknowledged
 * post was lost. With the fence the held batch is refused and PostgreSQL ends as the model.
 */
const LOST_JOIN_THEN_POST: Op[] = [
  { kind: "join", c: "ch1", u: "alice" },
  { kind: "wipeMidFlush" },
  { kind: "post", c: "ch1", m: "m1", sender: "alice" },
];

describe.skipIf(UNFENCED)("fixed cases", () => {
  it("a join lost with Redis while its flush was held stays lost, and the post after the reload stays", async () => {
    const held = midFlushOutcomes.held;
    await withEngines(SINGLE, {}, (runner) => runSequence(runner, LOST_JOIN_THEN_POST));
    expect(midFlushOutcomes.held).toBe(held + 1);
  });

  it("the same ops differ from the model without the fence (the case catches the stale flush)", async () => {
    await expect(
      withEngines(SINGLE, { unfencedFlushes: true }, (runner) => runSequence(runner, LOST_JOIN_THEN_POST)),
    ).rejects.toThrow(/differs from the model/);
  });
});
