// Model-based test: long random sequences of operations over a few channels, threads and users,
// every answer of the engine compared with the in-memory model of API.md, v1 and v1.1
// (test/core/model.ts; its own cases in test/core/model-v11.test.ts).
//
// Besides the API operations, "fault" commands run at random points:
//   flush         engine.flush(): nothing observable changes;
//   wipe          engine.flush() then wipeRedis(space): everything was flushed, so every later answer
//                 is identical (sequences continue; cursors, mentions, lastReadMessageId, lastReadAt
//                 survive, and so do deletions, firstUnreadMessageId, mute settings, threads with their
//                 seqs, followers, thread cursors and unfollow marks);
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
// changes take new stamps. Unread and mention counts, lastReadMessageId, memberships, user lists,
// deleted channels, deleted messages, mutes, threads, followers and unfollow marks follow the
// reverted channels the same way. Every sequence ends with every read the model can answer (each
// member and thread state, summary, receipts page and user list), then a wipe, then all of it again.
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
// v1.1, decided by the engine's side: a reply to a root in a channel that does not exist →
// unknown_message (nothing created); a reply whose threadId names a reply → validation_failed;
// userThreads' opaque after/next is channelId "|" threadId of the last thread of the page; a deleted
// message's mentions stop counting; setMuted on a non-member (or a missing channel) → not_a_member;
// deleteMessage on a missing channel → not_found; the receipts of a reply count its sender if it
// follows; markAllRead of an unknown user → zeros (and `threads` zeros).
//
// v1.1, decided here (the obvious reading where API.md is silent; the engine is to follow them):
// - lastReadAt of a thread state is null when the user starts following (follow, a mention, the
//   root's sender at the first reply), as join's; the reply's sender gets a time, its cursor having
//   moved to the reply (a new follower's too). Thread read/unread change it as channel ones do; a
//   no-op (older reply, the same position) does not. Deletes, mutes and follows change no cursor.
// - A non-member may reply (as it may post): it does not follow; its reply counts for the followers.
//   Mentions of non-members in replies are stored (they count if the user follows later and marks
//   unread below them).
// - The root's sender follows at the reply that takes thread seq 1 only if it is a channel member
//   then (never later by this rule), also when the root is deleted.
// - An unfollow mark is set by a successful unfollow only (unfollow of a non-follower → not_following,
//   no mark), and cleared by following again (follow, own reply, mention by name); mentionAll never
//   makes anyone follow.
// - A repeat (known messageId) changes nothing: no follows, no cursor moves, whatever its mentions
//   or threadId say; the answer is the first post's, with threadId only for a reply.
// - deleteMessage works on replies as on top-level messages; deleting a root changes only the
//   channel's counts. lastReadMessageId may name a deleted message (fine print).
// - threadInfo → not_found for a missing channel, a messageId never posted, a reply, or a root whose
//   thread has neither reply nor follower (never unknown_message); followerCount counts followers.
// - threadState/markThreadRead/markThreadUnread/unfollow → not_following first (missing channel or
//   thread too); then markThreadRead/markThreadUnread naming a top-level message, a reply of another
//   thread or a messageId never posted → unknown_message.
// - follow of a deleted root is allowed; a root followed without replies has threadSeq 0.
// - markAllRead: listed channels that do not exist are left alone (not created); a channel already
//   read keeps its lastReadAt; its answer's `threads` totals are userUnread's. An empty list is never
//   sent (HTTP refuses it: 1–1000 IDs); the engine's answer to one is not pinned.
// - userThreads: after = "c|t" places the page after (c, t) in (channelId, threadId) order whether
//   or not the user still follows t (as receipts' after needs no reader); next is set only while
//   threads remain after the page, so paging by next never reaches an empty page (the fine print's
//   "empty only when the user follows no thread"); an after at or past the last thread answers an
//   empty page with next null. Unknown user → zeros, [] and null. Thread states carry no `muted`.
// - Receipts of a reply on a missing channel → not_found, unknown reply → unknown_message; paging
//   as for messages. A reply's receipts never count channel members who do not follow.
//
// How the test draws ops (not the contract): most sequences open with joins, posts, replies and
// follows (then maybe a flush), and thread ops pick channels with threads, existing threads,
// followers and replies, so that they do more than answer errors (raw IDs now and then for the
// errors). With the tiny cache TTL, markAllRead answered `unavailable` after its retries may have
// marked some channels (API.md allows it): the test reads those channels' states from the engine
// and marks in the model the ones the engine marked.
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
import { compare, ReadStateModel, type Result, threadKey } from "./model.js";

// IDs chosen so that code-point order differs from locale order ("Bob" < "Eve" < "al"; "M3" < "m1"),
// with one ID the prefix of another ("al", "alice"; "ch1", "ch1:x"): the mention index ranges by
// "userId|seq", and a user's threads sort by channelId then threadId, which is not the order of
// "channelId|threadId" ("ch1:x|m1" < "ch1|m1").
const CHANNELS = ["ch1", "Ch2", "ch1:x"] as const;
const USERS = ["alice", "Bob", "al", "carol", "Eve"] as const;
const MESSAGES = ["m1", "m2", "M3", "m4", "m5", "m6"] as const;
/**
 * Replies take their messageIds from a pool of their own, mostly: a messageId is unique within its
 * channel, replies included, and the pools overlap now and then on purpose (a reply repeating a
 * top-level message, and the reverse, answer what the messageId was first posted as).
 */
const REPLIES = ["r1", "r2", "r3", "r4", "r5", "r6"] as const;
/** Replies and thread ops go to the first few top-level messages of a channel: few threads, several replies each. */
const ROOTS = 3;

/** `on`: which engine runs it, an index into the run's engines (A = 0 when absent, B = 1). */
type Op = Action & { on?: number };

type Action =
  | { kind: "join"; c: string; u: string }
  | { kind: "leave"; c: string; u: string }
  | {
      kind: "post";
      c: string;
      m: string;
      sender: string;
      mentions?: string[];
      mentionAll?: boolean;
      /** A reply: its root. */
      t?: string;
    }
  | { kind: "markRead"; c: string; u: string; m?: string }
  | { kind: "markUnread"; c: string; u: string; m: string }
  | { kind: "memberState"; c: string; u: string }
  | { kind: "userUnread"; u: string }
  | { kind: "channelInfo"; c: string }
  | { kind: "receipts"; c: string; m: string; limit?: number; after?: string }
  | { kind: "deleteChannel"; c: string }
  | { kind: "deleteMessage"; c: string; m: string }
  | { kind: "setMuted"; c: string; u: string; muted: boolean }
  | { kind: "markAllRead"; u: string; channelIds?: string[] }
  | { kind: "follow" | "unfollow" | "threadState"; c: string; t: string; u: string }
  | { kind: "markThreadRead"; c: string; t: string; u: string; m?: string }
  | { kind: "markThreadUnread"; c: string; t: string; u: string; m: string }
  | { kind: "threadInfo"; c: string; t: string }
  | { kind: "userThreads"; u: string; limit?: number; after?: string }
  | { kind: "flush" }
  | { kind: "wipe" }
  | { kind: "wipeMidFlush" }
  | { kind: "sleep"; ms: number };

const ENGINE_NAMES = ["A", "B"] as const;

function describeOp(op: Op): string {
  const text = describeAction(op);
  return op.on === undefined ? text : `${ENGINE_NAMES[op.on] ?? op.on}: ${text}`;
}

/** "name=value" for each option present, joined. */
function options(entries: [string, unknown][], separator = ", "): string {
  return entries
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => `${name}=${Array.isArray(value) ? `[${value.join(",")}]` : String(value)}`)
    .join(separator);
}

function describeAction(op: Op): string {
  switch (op.kind) {
    case "join":
    case "leave":
    case "memberState":
      return `${op.kind}(${op.c}, ${op.u})`;
    case "post": {
      const extras = options([
        ["threadId", op.t],
        ["mentions", op.mentions],
        ["mentionAll", op.mentionAll],
      ]);
      return `post(${op.c}, ${op.m}, from ${op.sender}${extras ? `, ${extras}` : ""})`;
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
      const query = options(
        [
          ["limit", op.limit],
          ["after", op.after],
        ],
        " ",
      );
      return `receipts(${op.c}, ${op.m}${query ? `, ${query}` : ""})`;
    }
    case "deleteMessage":
      return `deleteMessage(${op.c}, ${op.m})`;
    case "setMuted":
      return `setMuted(${op.c}, ${op.u}, ${op.muted})`;
    case "markAllRead":
      return `markAllRead(${op.u}${op.channelIds === undefined ? "" : `, [${op.channelIds.join(",")}]`})`;
    case "follow":
    case "unfollow":
    case "threadState":
      return `${op.kind}(${op.c}, ${op.t}, ${op.u})`;
    case "markThreadRead":
      return `markThreadRead(${op.c}, ${op.t}, ${op.u}${op.m === undefined ? "" : `, ${op.m}`})`;
    case "markThreadUnread":
      return `markThreadUnread(${op.c}, ${op.t}, ${op.u}, ${op.m})`;
    case "threadInfo":
      return `threadInfo(${op.c}, ${op.t})`;
    case "userThreads": {
      const query = options(
        [
          ["limit", op.limit],
          ["after", op.after],
        ],
        " ",
      );
      return `userThreads(${op.u}${query ? `, ${query}` : ""})`;
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
// Uniform IDs rarely line up (a member marking unread a message of its channel, a follower reading a
// reply of its thread...), so most ops name a user, message or thread through a "pick", resolved
// against the model's state when the op runs:
//   rooted    a channel with top-level messages (replies and follows);
//   threaded  a channel with threads (ops on threads);
//   member    one of the channel's current members;
//   stranger  one of the users who are not members of the channel (joins that change something);
//   follower  one of the thread's followers (else a member);
//   posted    one of the channel's top-level messages;
//   any       one of the channel's messages, replies included;
//   root      one of the channel's first ROOTS top-level messages (a thread's root);
//   thread    one of the channel's threads (with a reply or a follower), else a root;
//   reply     one of the thread's replies (else one of the channel's);
//   followed  the key (channelId|threadId) of one of the threads the user follows (userThreads' after);
// each falling back to the whole pool when there is none. The failure report prints the resolved,
// concrete sequence.

type PickKind =
  | "rooted"
  | "threaded"
  | "member"
  | "stranger"
  | "follower"
  | "posted"
  | "any"
  | "root"
  | "thread"
  | "reply"
  | "followed";
type Ref = string | { pick: PickKind; n: number };

type RawOp = RawAction & { on?: number };

type RawAction =
  | { kind: "join" | "leave" | "memberState"; c: string; u: Ref }
  | { kind: "post"; c: Ref; m: string; sender: Ref; mentions?: string[]; mentionAll?: boolean; t?: Ref }
  | { kind: "markRead"; c: string; u: Ref; m?: Ref }
  | { kind: "markUnread"; c: string; u: Ref; m: Ref }
  | { kind: "userUnread"; u: string }
  | { kind: "channelInfo" | "deleteChannel"; c: string }
  | { kind: "receipts"; c: string; m: Ref; limit?: number; after?: string }
  | { kind: "deleteMessage"; c: string; m: Ref }
  | { kind: "setMuted"; c: string; u: Ref; muted: boolean }
  | { kind: "markAllRead"; u: string; channelIds?: string[] }
  | { kind: "follow" | "unfollow" | "threadState"; c: Ref; t: Ref; u: Ref }
  | { kind: "markThreadRead"; c: Ref; t: Ref; u: Ref; m?: Ref }
  | { kind: "markThreadUnread"; c: Ref; t: Ref; u: Ref; m: Ref }
  | { kind: "threadInfo"; c: Ref; t: Ref }
  | { kind: "userThreads"; u: string; limit?: number; after?: Ref }
  | { kind: "flush" | "wipe" | "wipeMidFlush" }
  | { kind: "sleep"; ms: number };

function describeRef(ref: Ref | undefined): string {
  if (ref === undefined || typeof ref === "string") return String(ref);
  return `<${ref.pick} ${ref.n}>`;
}

function describeRaw(op: RawOp): string {
  const copy: Record<string, unknown> = { ...op };
  for (const key of ["c", "u", "m", "sender", "t", "after"]) {
    if (key in copy && typeof copy[key] === "object") copy[key] = describeRef(copy[key] as Ref);
  }
  return describeOp(copy as Op);
}

// State builds up where ops concentrate: most go to ch1, enough to the others for their order
// ("Ch2" < "ch1" < "ch1:x") to matter in user lists and in a user's threads.
const channel = fc.oneof(
  { weight: 4, arbitrary: fc.constant(CHANNELS[0]) },
  { weight: 2, arbitrary: fc.constant(CHANNELS[1]) },
  { weight: 2, arbitrary: fc.constant(CHANNELS[2]) },
);
const user = fc.constantFrom(...USERS);
const message = fc.constantFrom(...MESSAGES);
const replyId = fc.constantFrom(...REPLIES);
/** Any messageId, a reply's or not: naming the wrong kind of message is an error the engine must give. */
const anyId = fc.constantFrom(...MESSAGES, ...REPLIES);
const pickIndex = fc.nat({ max: 9 });

/** A pick of `kind` (weight `weight`), else (weight 1) a raw ID. */
function ref(kind: PickKind, weight: number, raw: fc.Arbitrary<string>): fc.Arbitrary<Ref> {
  return fc.oneof(
    { weight: 1, arbitrary: raw },
    { weight, arbitrary: pickIndex.map((n) => ({ pick: kind, n })) },
  );
}

const rootedRef = ref("rooted", 3, channel);
const threadedRef = ref("threaded", 6, channel);
const memberRef = ref("member", 3, user);
const strangerRef = ref("stranger", 2, user);
const followerRef = ref("follower", 4, user);
const postedRef = ref("posted", 4, anyId);
const anyPostedRef = ref("any", 4, anyId);
const rootRef = ref("root", 5, anyId);
const threadRef = ref("thread", 8, anyId);
const replyRef = ref("reply", 4, anyId);
const followedRef = ref(
  "followed",
  3,
  fc.tuple(channel, message).map(([c, m]) => threadKey(c, m)),
);
// Duplicates and the sender itself happen on purpose.
const mentions = fc.array(user, { maxLength: 3 });
const mentionAll = fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, fc.constant(true));

interface OpOptions {
  sleeps: boolean;
  /** wipeMidFlush among the ops: only where no worker flushes in the background. */
  midFlush: boolean;
  /** How many engines share the space; each op goes to one of them at random. */
  engines?: number;
}

const joinOp = fc.record({ kind: fc.constant("join" as const), c: channel, u: strangerRef });
const postOp = fc.record(
  {
    kind: fc.constant("post" as const),
    c: channel,
    m: fc.oneof({ weight: 6, arbitrary: message }, { weight: 1, arbitrary: replyId }),
    sender: memberRef,
    mentions,
    mentionAll,
  },
  { requiredKeys: ["kind", "c", "m", "sender"] },
);
const replyOp = fc.record(
  {
    kind: fc.constant("post" as const),
    c: rootedRef,
    m: fc.oneof({ weight: 5, arbitrary: replyId }, { weight: 1, arbitrary: message }),
    sender: memberRef,
    t: rootRef,
    mentions,
    mentionAll,
  },
  { requiredKeys: ["kind", "c", "m", "sender", "t"] },
);
const followOp = fc.record({ kind: fc.constant("follow" as const), c: rootedRef, t: rootRef, u: memberRef });

/** Each op on one engine of the run, printed readably in fast-check's counterexamples. */
function onEngines(options: OpOptions, ops: fc.WeightedArbitrary<RawOp>[]): fc.Arbitrary<RawOp> {
  const engines = options.engines ?? 1;
  const op: fc.Arbitrary<RawOp> =
    engines > 1
      ? fc.tuple(fc.oneof(...ops), fc.nat({ max: engines - 1 })).map(([action, on]) => ({ ...action, on }))
      : fc.oneof(...ops);
  return op.map((raw) => Object.assign(raw, { [fc.toStringMethod]: () => describeRaw(raw) }));
}

/**
 * The opening of most sequences, in this order: joins, top-level messages, replies and follows, and
 * now and then a flush (a wipe mid-flush goes back to the last flush), so that the ops after it find
 * members, roots and threads with followers to work on: drawn from the whole mix, most thread ops
 * would answer not_a_member or not_following on a still empty space. One sequence in five starts
 * empty.
 */
function buildUpArbitrary(options: OpOptions): fc.Arbitrary<RawOp[]> {
  const some = (ops: fc.WeightedArbitrary<RawOp>[], maxLength: number) =>
    fc.array(onEngines(options, ops), { minLength: 1, maxLength });
  const buildUp = fc
    .tuple(
      some([{ weight: 1, arbitrary: joinOp }], 6),
      some([{ weight: 1, arbitrary: postOp }], 3),
      some(
        [
          { weight: 3, arbitrary: replyOp },
          { weight: 1, arbitrary: followOp },
        ],
        5,
      ),
      fc.array(onEngines(options, [{ weight: 1, arbitrary: fc.constant({ kind: "flush" as const }) }]), {
        maxLength: 1,
      }),
    )
    .map((parts) => parts.flat());
  return fc.oneof({ weight: 1, arbitrary: fc.constant<RawOp[]>([]) }, { weight: 4, arbitrary: buildUp });
}

function opArbitrary(options: OpOptions): fc.Arbitrary<RawOp> {
  const ops: fc.WeightedArbitrary<RawOp>[] = [
    // Members are what most ops need: joins weigh more than their share of the ops.
    { weight: 8, arbitrary: joinOp },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("leave" as const), c: channel, u: memberRef }) },
    { weight: 6, arbitrary: postOp },
    { weight: 6, arbitrary: replyOp },
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
          m: anyPostedRef,
          limit: fc.integer({ min: 1, max: 3 }),
          after: user,
        },
        { requiredKeys: ["kind", "c", "m"] },
      ),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("deleteChannel" as const), c: channel }) },
    {
      weight: 2,
      arbitrary: fc.record({ kind: fc.constant("deleteMessage" as const), c: channel, m: anyPostedRef }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("setMuted" as const),
        c: channel,
        u: memberRef,
        muted: fc.boolean(),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record(
        {
          kind: fc.constant("markAllRead" as const),
          u: user,
          // 1–1000 IDs in the contract (an empty list is refused by HTTP); repeats on purpose.
          channelIds: fc.array(channel, { minLength: 1, maxLength: 4 }),
        },
        { requiredKeys: ["kind", "u"] },
      ),
    },
    { weight: 2, arbitrary: followOp },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("unfollow" as const),
        c: threadedRef,
        t: threadRef,
        u: followerRef,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        kind: fc.constant("threadState" as const),
        c: threadedRef,
        t: threadRef,
        u: followerRef,
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record(
        {
          kind: fc.constant("markThreadRead" as const),
          c: threadedRef,
          t: threadRef,
          u: followerRef,
          m: replyRef,
        },
        { requiredKeys: ["kind", "c", "t", "u"] },
      ),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("markThreadUnread" as const),
        c: threadedRef,
        t: threadRef,
        u: followerRef,
        m: replyRef,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ kind: fc.constant("threadInfo" as const), c: threadedRef, t: threadRef }),
    },
    {
      weight: 2,
      arbitrary: fc.record(
        {
          kind: fc.constant("userThreads" as const),
          u: user,
          limit: fc.integer({ min: 1, max: 3 }),
          after: followedRef,
        },
        { requiredKeys: ["kind", "u"] },
      ),
    },
    // Faults and sleeps weigh about as much of the whole as before v1.1 doubled the API ops.
    { weight: 2, arbitrary: fc.constant({ kind: "flush" as const }) },
    { weight: 2, arbitrary: fc.constant({ kind: "wipe" as const }) },
  ];
  if (options.midFlush) {
    ops.push({ weight: 2, arbitrary: fc.constant({ kind: "wipeMidFlush" as const }) });
  }
  if (options.sleeps) {
    ops.push({
      weight: 5,
      arbitrary: fc.record({ kind: fc.constant("sleep" as const), ms: fc.integer({ min: 0, max: 80 }) }),
    });
  }
  return onEngines(options, ops);
}

/** What a pick may name in the model's current state (the first non-empty pool). */
function candidates(
  model: ReadStateModel,
  kind: PickKind,
  c: string,
  t: string,
  u: string,
): readonly string[] {
  const first = (...pools: (readonly string[])[]): readonly string[] =>
    pools.find((pool) => pool.length > 0) ?? [];
  switch (kind) {
    case "rooted":
      return first(
        model.channelIds().filter((id) => model.messageIds(id).length > 0),
        CHANNELS,
      );
    case "threaded":
      return first(
        model.channelIds().filter((id) => model.threadIds(id).length > 0),
        CHANNELS,
      );
    case "member":
      return first(model.memberIds(c), USERS);
    case "stranger": {
      const members = model.memberIds(c);
      return first(
        USERS.filter((u) => !members.includes(u)),
        USERS,
      );
    }
    case "follower":
      return first(model.followerIds(c, t), model.memberIds(c), USERS);
    case "posted":
      return first(model.messageIds(c), MESSAGES);
    case "any":
      return first(model.allMessageIds(c), MESSAGES);
    case "root":
      return first(model.messageIds(c).slice(0, ROOTS), MESSAGES.slice(0, ROOTS));
    case "thread":
      return first(model.threadIds(c), model.messageIds(c).slice(0, ROOTS), MESSAGES.slice(0, ROOTS));
    case "reply":
      return first(model.replyIds(c, t), model.allReplyIds(c), REPLIES);
    case "followed":
      return first(model.followedThreadKeys(u), [threadKey(CHANNELS[0], MESSAGES[0])]);
  }
}

/** The concrete op a raw op names in the model's current state. */
function resolve(model: ReadStateModel, raw: RawOp): Op {
  // The context a pick is resolved in: the op's channel, thread (resolved first) and user.
  const pick = (ref: Ref, c = "", t = "", u = ""): string => {
    if (typeof ref === "string") return ref;
    const pool = candidates(model, ref.pick, c, t, u);
    return pool[ref.n % pool.length] as string;
  };
  switch (raw.kind) {
    case "join":
    case "leave":
    case "memberState":
      return { ...raw, kind: raw.kind, u: pick(raw.u, raw.c) };
    case "setMuted":
      return { ...raw, u: pick(raw.u, raw.c) };
    case "post": {
      const { t, ...rest } = raw;
      const c = pick(raw.c);
      return { ...rest, c, sender: pick(raw.sender, c), ...(t === undefined ? {} : { t: pick(t, c) }) };
    }
    case "markRead": {
      const { m, ...rest } = raw;
      return { ...rest, u: pick(raw.u, raw.c), ...(m === undefined ? {} : { m: pick(m, raw.c) }) };
    }
    case "markUnread":
      return { ...raw, u: pick(raw.u, raw.c), m: pick(raw.m, raw.c) };
    case "receipts":
    case "deleteMessage":
      return { ...raw, kind: raw.kind, m: pick(raw.m, raw.c) };
    case "follow":
    case "unfollow":
    case "threadState": {
      const c = pick(raw.c);
      const t = pick(raw.t, c);
      return { ...raw, kind: raw.kind, c, t, u: pick(raw.u, c, t) };
    }
    case "markThreadRead": {
      const { m, ...rest } = raw;
      const c = pick(raw.c);
      const t = pick(raw.t, c);
      return { ...rest, c, t, u: pick(raw.u, c, t), ...(m === undefined ? {} : { m: pick(m, c, t) }) };
    }
    case "markThreadUnread": {
      const c = pick(raw.c);
      const t = pick(raw.t, c);
      return { ...raw, c, t, u: pick(raw.u, c, t), m: pick(raw.m, c, t) };
    }
    case "threadInfo": {
      const c = pick(raw.c);
      return { ...raw, c, t: pick(raw.t, c) };
    }
    case "userThreads": {
      const { after, ...rest } = raw;
      return { ...rest, ...(after === undefined ? {} : { after: pick(after, "", "", raw.u) }) };
    }
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

/** What the engine answers with a lastReadAt: a member state or a thread state. */
interface Cursor {
  channelId: string;
  userId: string;
  threadId?: string;
  lastReadAt: string | null;
}

/** The expected side of a Cursor: the model's stamp in place of the time. */
interface ExpectedCursor {
  channelId: string;
  userId: string;
  threadId?: string;
  lastReadAt: number | null;
}

function normalizeCursor(stamps: Stamps, expected: ExpectedCursor | undefined, actual: unknown): unknown {
  if (!expected || typeof actual !== "object" || actual === null) return actual;
  const state = actual as Cursor;
  if (
    state.channelId !== expected.channelId ||
    state.userId !== expected.userId ||
    state.threadId !== expected.threadId
  ) {
    return actual;
  }
  return { ...state, lastReadAt: stamps.check(expected.lastReadAt, state.lastReadAt) };
}

/** The same for each state of a list (`key` of the answer), compared with the model's in order. */
function normalizeList(stamps: Stamps, key: string, expected: unknown, actual: unknown): unknown {
  const want = (expected as Record<string, ExpectedCursor[]>)[key] ?? [];
  const got = (actual as Record<string, unknown> | null)?.[key];
  if (!Array.isArray(got)) return actual;
  return { ...(actual as object), [key]: got.map((s, i) => normalizeCursor(stamps, want[i], s)) };
}

/** Ops answering one member state or one thread state. */
const CURSOR_KINDS: ReadonlySet<Op["kind"]> = new Set([
  "join",
  "markRead",
  "markUnread",
  "memberState",
  "setMuted",
  "follow",
  "threadState",
  "markThreadRead",
  "markThreadUnread",
]);

/** Replaces the engine's lastReadAt times by the model's stamps where they are consistent. */
function normalize(stamps: Stamps, kind: Op["kind"], expected: Result<unknown>, actual: Actual): Actual {
  if (!expected.ok || !actual.ok) return actual;
  if (CURSOR_KINDS.has(kind)) {
    return { ok: true, value: normalizeCursor(stamps, expected.value as ExpectedCursor, actual.value) };
  }
  if (kind === "userUnread" || kind === "markAllRead") {
    return { ok: true, value: normalizeList(stamps, "channels", expected.value, actual.value) };
  }
  if (kind === "userThreads") {
    return { ok: true, value: normalizeList(stamps, "threads", expected.value, actual.value) };
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
      return () => engine.receipts(op.c, op.m, pageQuery(op));
    case "deleteChannel":
      return () => engine.deleteChannel(op.c);
    case "deleteMessage":
      return () => engine.deleteMessage(op.c, op.m);
    case "setMuted":
      return () => engine.setMuted(op.c, op.u, op.muted);
    case "markAllRead":
      return () =>
        op.channelIds === undefined ? engine.markAllRead(op.u) : engine.markAllRead(op.u, op.channelIds);
    case "follow":
      return () => engine.follow(op.c, op.t, op.u);
    case "unfollow":
      return () => engine.unfollow(op.c, op.t, op.u);
    case "threadState":
      return () => engine.threadState(op.c, op.t, op.u);
    case "markThreadRead":
      return () => engine.markThreadRead(op.c, op.t, op.u, op.m);
    case "markThreadUnread":
      return () => engine.markThreadUnread(op.c, op.t, op.u, op.m);
    case "threadInfo":
      return () => engine.threadInfo(op.c, op.t);
    case "userThreads":
      return () => engine.userThreads(op.u, pageQuery(op));
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
      return model.receipts(op.c, op.m, pageQuery(op));
    case "deleteChannel":
      return model.deleteChannel(op.c);
    case "deleteMessage":
      return model.deleteMessage(op.c, op.m);
    case "setMuted":
      return model.setMuted(op.c, op.u, op.muted);
    case "markAllRead":
      return model.markAllRead(op.u, op.channelIds);
    case "follow":
      return model.follow(op.c, op.t, op.u);
    case "unfollow":
      return model.unfollow(op.c, op.t, op.u);
    case "threadState":
      return model.threadState(op.c, op.t, op.u);
    case "markThreadRead":
      return model.markThreadRead(op.c, op.t, op.u, op.m);
    case "markThreadUnread":
      return model.markThreadUnread(op.c, op.t, op.u, op.m);
    case "threadInfo":
      return model.threadInfo(op.c, op.t);
    case "userThreads":
      return model.userThreads(op.u, pageQuery(op));
  }
}

function postInput(op: Extract<Op, { kind: "post" }>) {
  return {
    messageId: op.m,
    senderId: op.sender,
    ...(op.mentions === undefined ? {} : { mentions: op.mentions }),
    ...(op.mentionAll === undefined ? {} : { mentionAll: op.mentionAll }),
    ...(op.t === undefined ? {} : { threadId: op.t }),
  };
}

/** The paging query of receipts and userThreads. */
function pageQuery(op: { limit?: number; after?: string }) {
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
      if (op.kind === "markAllRead") {
        this.log[this.log.length - 1] += " → unavailable (the model marks what the engine marked)";
        await this.markedSoFar(op, from);
        return;
      }
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

  /**
   * markAllRead answered `unavailable` is the one 503 that may have changed something: each channel
   * changes atomically, the call as a whole does not, and the channels already marked stay marked
   * (API.md). Each listed channel with something to mark is read from the engine: marked (its cursor
   * at the newest message), the model marks it too; otherwise it was left alone.
   */
  private async markedSoFar(op: Extract<Op, { kind: "markAllRead" }>, from: number): Promise<void> {
    const { model } = this;
    const listed = op.channelIds === undefined ? model.channelIds() : [...new Set(op.channelIds)];
    for (const c of listed) {
      const before = model.memberState(c, op.u);
      if (!before.ok || before.value.readSeq === before.value.channelSeq) continue;
      let actual: Actual;
      for (let retry = 0; ; retry++) {
        actual = await attempt(() => this.engine(op).memberState(c, op.u));
        if (actual.ok || actual.code !== "unavailable" || retry >= 50) break;
      }
      if (!actual.ok) {
        throw new Error(
          `after ${describeOp(op)} answered unavailable, memberState(${c}, ${op.u}): ${actual.code}`,
        );
      }
      if ((actual.value as MemberState).readSeq !== before.value.channelSeq) continue;
      const stampsBefore = model.stampCount;
      model.markRead(c, op.u);
      this.stamps.made(stampsBefore + 1, model.stampCount, from, Date.now());
    }
  }

  private async attempt(call: () => Promise<unknown>): Promise<Actual> {
    for (let retry = 0; ; retry++) {
      const actual = await attempt(call);
      if (actual.ok || actual.code !== "unavailable") return actual;
      if (retry >= (this.options.unavailableRetries ?? 0)) return actual;
    }
  }

  /**
   * Every read the model can answer, over every channel, thread, user and message: read-only. With
   * two engines, the reads of every other channel and user go to the second one (the end state must
   * read the same on both).
   */
  async checkEverything(): Promise<void> {
    const on = (i: number) => (this.engines.length > 1 ? { on: i % 2 } : {});
    for (const [i, c] of CHANNELS.entries()) {
      await this.run({ kind: "channelInfo", c, ...on(i) });
      for (const u of USERS) await this.run({ kind: "memberState", c, u, ...on(i) });
      // Every posted message, and one never posted (unknown_message, or not_found without channel).
      const posted = this.model.messageIds(c);
      const unposted = MESSAGES.find((m) => !posted.includes(m));
      for (const m of unposted === undefined ? posted : [...posted, unposted]) {
        await this.checkReceipts(c, m, on(i));
      }
      // Every thread (with a reply or a follower): its summary, each user's state in it
      // (not_following for non-followers) and the receipts of each reply, page by page. Then one
      // messageId that is no thread (not_found, not_following).
      const threads = this.model.threadIds(c);
      for (const t of threads) {
        await this.run({ kind: "threadInfo", c, t, ...on(i) });
        for (const u of USERS) await this.run({ kind: "threadState", c, t, u, ...on(i) });
        for (const m of this.model.replyIds(c, t)) await this.checkReceipts(c, m, on(i), { onePage: false });
      }
      const noThread = MESSAGES.find((m) => !threads.includes(m));
      if (noThread !== undefined) {
        await this.run({ kind: "threadInfo", c, t: noThread, ...on(i) });
        await this.run({
          kind: "threadState",
          c,
          t: noThread,
          u: USERS[i % USERS.length] as string,
          ...on(i),
        });
      }
    }
    for (const [i, u] of USERS.entries()) {
      await this.run({ kind: "userUnread", u, ...on(i) });
      // The user's threads in one page, then page by page with a small limit to the last page.
      await this.run({ kind: "userThreads", u, ...on(i) });
      let after: string | undefined;
      for (let page = 0; page <= CHANNELS.length * MESSAGES.length; page++) {
        const expected = this.model.userThreads(u, { limit: 2, ...(after ? { after } : {}) });
        await this.run({ kind: "userThreads", u, limit: 2, ...(after ? { after } : {}), ...on(i) });
        if (!expected.ok || expected.value.next === null) break;
        after = expected.value.next;
      }
    }
  }

  /** The receipts of a message or reply in one page (unless told not to), and page by page with a small limit. */
  private async checkReceipts(
    c: string,
    m: string,
    on: { on?: number },
    { onePage = true }: { onePage?: boolean } = {},
  ): Promise<void> {
    if (onePage) await this.run({ kind: "receipts", c, m, ...on });
    let after: string | undefined;
    for (let page = 0; page < USERS.length + 1; page++) {
      const expected = this.model.receipts(c, m, { limit: 2, ...(after ? { after } : {}) });
      await this.run({ kind: "receipts", c, m, limit: 2, ...(after ? { after } : {}), ...on });
      if (!expected.ok || expected.value.next === null) break;
      after = expected.value.next;
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

/** A build-up of up to 15 ops, then up to maxLength ops of the whole mix. */
function sequences(setup: Setup): fc.Arbitrary<RawOp[]> {
  return fc
    .tuple(
      buildUpArbitrary(setup.ops),
      fc.array(opArbitrary(setup.ops), { minLength: 1, maxLength: setup.maxLength, size: "max" }),
    )
    .map(([buildUp, ops]) => [...buildUp, ...ops]);
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

const SINGLE: Setup = { ops: { sleeps: false, midFlush: true }, maxLength: 70, engine: {} };
const TWO_ENGINES: Setup = { ops: { sleeps: false, midFlush: true, engines: 2 }, maxLength: 70, engine: {} };
// cacheTtlMs 1: a clean channel expires about as soon as it is installed, so it leaves the cache
// between a load and the op that asked for it (the op loads again), between ops, and during the
// reloads of a wipeMidFlush. userUnread (and userThreads, markAllRead) load their channels once and
// answer `unavailable` when one of them expired again meanwhile: retried, as a client does on 503
// (markAllRead still unavailable after its retries: see Runner.markedSoFar).
const TINY_TTL: Setup = {
  ops: { sleeps: true, midFlush: true },
  maxLength: 60,
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
        maxLength: 60,
        engine: { worker: true, flushIntervalMs: 50 },
      }),
      params(10),
    );
  }, 300_000);

  it("answers the same with tiny flush batches and a short cache TTL (reloads from PostgreSQL)", async () => {
    await fc.assert(
      sequenceProperty({
        ops: { sleeps: true, midFlush: false },
        maxLength: 60,
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
    expect([...MESSAGES].sort(compare)).toEqual(["M3", "m1", "m2", "m4", "m5", "m6"]);
    // A user's threads sort by channelId then threadId, which the joined keys would not.
    expect([threadKey("ch1:x", "m1"), threadKey("ch1", "m1")].sort(compare)).toEqual(["ch1:x|m1", "ch1|m1"]);
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

// ---- fixed v1.1 cases ---------------------------------------------------------------------------
// API.md's v1.1 cases that random sequences reach only now and then, through the engine. Each one
// ends as every sequence does: everything read, a wipe of Redis, everything read again.

const V11_CASES: [string, Op[]][] = [
  [
    "unfollow wins over the root's sender at the first reply, across a wipe; a mention by name brings back, mentionAll does not",
    [
      { kind: "join", c: "ch1", u: "alice" },
      { kind: "join", c: "ch1", u: "Bob" },
      { kind: "join", c: "ch1", u: "carol" },
      { kind: "post", c: "ch1", m: "m1", sender: "alice" },
      { kind: "follow", c: "ch1", t: "m1", u: "alice" },
      { kind: "unfollow", c: "ch1", t: "m1", u: "alice" },
      { kind: "unfollow", c: "ch1", t: "m1", u: "alice" },
      { kind: "threadInfo", c: "ch1", t: "m1" },
      { kind: "wipe" },
      { kind: "post", c: "ch1", m: "r1", sender: "Bob", t: "m1" },
      { kind: "threadState", c: "ch1", t: "m1", u: "alice" },
      { kind: "post", c: "ch1", m: "r2", sender: "Bob", t: "m1", mentionAll: true },
      { kind: "threadInfo", c: "ch1", t: "m1" },
      { kind: "post", c: "ch1", m: "r3", sender: "carol", t: "m1", mentions: ["alice"] },
      { kind: "threadState", c: "ch1", t: "m1", u: "alice" },
      { kind: "unfollow", c: "ch1", t: "m1", u: "alice" },
      { kind: "post", c: "ch1", m: "r4", sender: "alice", t: "m1" },
      { kind: "threadState", c: "ch1", t: "m1", u: "alice" },
    ],
  ],
  [
    "the first reply makes the root's sender follow; mentions follow from just before their reply; thread reads, unreads and receipts",
    [
      { kind: "join", c: "Ch2", u: "alice" },
      { kind: "join", c: "Ch2", u: "Bob" },
      { kind: "join", c: "Ch2", u: "carol" },
      { kind: "post", c: "Ch2", m: "m1", sender: "alice" },
      { kind: "post", c: "Ch2", m: "r1", sender: "Bob", t: "m1", mentions: ["Bob"] },
      { kind: "post", c: "Ch2", m: "r2", sender: "Bob", t: "m1", mentions: ["carol", "al", "carol"] },
      { kind: "post", c: "Ch2", m: "r3", sender: "Eve", t: "m1", mentionAll: true },
      { kind: "post", c: "Ch2", m: "r4", sender: "Bob", t: "r1" },
      { kind: "post", c: "Ch2", m: "r4", sender: "Bob", t: "m9" },
      { kind: "post", c: "ch1", m: "r4", sender: "Bob", t: "m1" },
      { kind: "memberState", c: "Ch2", u: "carol" },
      { kind: "markThreadRead", c: "Ch2", t: "m1", u: "alice", m: "r1" },
      { kind: "markThreadRead", c: "Ch2", t: "m1", u: "alice", m: "m1" },
      { kind: "markThreadUnread", c: "Ch2", t: "m1", u: "carol", m: "r1" },
      { kind: "markThreadRead", c: "Ch2", t: "m1", u: "Eve" },
      { kind: "markRead", c: "Ch2", u: "carol", m: "r1" },
      { kind: "receipts", c: "Ch2", m: "r1", limit: 1 },
      { kind: "flush" },
      { kind: "markThreadRead", c: "Ch2", t: "m1", u: "carol" },
      { kind: "userThreads", u: "carol" },
      // The root's sender, not a member at the first reply, does not follow at a later one.
      { kind: "post", c: "Ch2", m: "m2", sender: "Eve" },
      { kind: "post", c: "Ch2", m: "r5", sender: "Bob", t: "m2" },
      { kind: "join", c: "Ch2", u: "Eve" },
      { kind: "post", c: "Ch2", m: "r6", sender: "Bob", t: "m2" },
      { kind: "threadState", c: "Ch2", t: "m2", u: "Eve" },
    ],
  ],
  [
    "deleted messages and replies stop counting; reposts answer 200 and stay deleted; reads at a deleted message",
    [
      { kind: "join", c: "ch1:x", u: "alice" },
      { kind: "join", c: "ch1:x", u: "Bob" },
      { kind: "post", c: "ch1:x", m: "m1", sender: "alice", mentions: ["Bob"] },
      { kind: "post", c: "ch1:x", m: "m2", sender: "alice", mentionAll: true },
      { kind: "post", c: "ch1:x", m: "M3", sender: "alice" },
      { kind: "post", c: "ch1:x", m: "r1", sender: "alice", t: "m1", mentions: ["Bob"] },
      { kind: "post", c: "ch1:x", m: "r2", sender: "alice", t: "m1" },
      { kind: "deleteMessage", c: "ch1:x", m: "m1" },
      { kind: "deleteMessage", c: "ch1:x", m: "r1" },
      { kind: "deleteMessage", c: "ch1:x", m: "r1" },
      { kind: "deleteMessage", c: "ch1:x", m: "M3" },
      { kind: "deleteMessage", c: "ch1:x", m: "m9" },
      { kind: "deleteMessage", c: "Ch2", m: "m1" },
      { kind: "post", c: "ch1:x", m: "m1", sender: "Bob" },
      { kind: "post", c: "ch1:x", m: "r1", sender: "Bob", t: "m2" },
      { kind: "memberState", c: "ch1:x", u: "Bob" },
      { kind: "wipe" },
      { kind: "memberState", c: "ch1:x", u: "Bob" },
      { kind: "markRead", c: "ch1:x", u: "Bob", m: "M3" },
      { kind: "markUnread", c: "ch1:x", u: "Bob", m: "M3" },
      { kind: "post", c: "ch1:x", m: "r3", sender: "Bob", t: "m1" },
      { kind: "deleteMessage", c: "ch1:x", m: "m2" },
      { kind: "markRead", c: "ch1:x", u: "alice" },
    ],
  ],
  [
    "mute and mark all read: totals without muted unread, with muted mentions; lists with repeats and foreign channels",
    [
      { kind: "join", c: "ch1", u: "alice" },
      { kind: "join", c: "Ch2", u: "alice" },
      { kind: "join", c: "ch1:x", u: "Bob" },
      { kind: "post", c: "ch1", m: "m1", sender: "Bob", mentions: ["alice"] },
      { kind: "post", c: "Ch2", m: "m1", sender: "Bob", mentions: ["alice"] },
      { kind: "post", c: "ch1:x", m: "m1", sender: "Bob" },
      { kind: "post", c: "Ch2", m: "r1", sender: "Bob", t: "m1", mentions: ["alice"] },
      { kind: "setMuted", c: "Ch2", u: "alice", muted: true },
      { kind: "setMuted", c: "Ch2", u: "carol", muted: true },
      { kind: "setMuted", c: "ch2", u: "alice", muted: true },
      { kind: "userUnread", u: "alice" },
      { kind: "userThreads", u: "alice" },
      { kind: "markAllRead", u: "alice", channelIds: ["ch1:x", "Ch2", "Ch2", "ch2"] },
      { kind: "wipe" },
      { kind: "userUnread", u: "alice" },
      { kind: "markAllRead", u: "alice" },
      { kind: "markAllRead", u: "nobody" },
      { kind: "leave", c: "Ch2", u: "alice" },
      { kind: "join", c: "Ch2", u: "alice" },
      { kind: "userThreads", u: "alice" },
    ],
  ],
  [
    "a user's threads across ch1, ch1:x and Ch2, paged; leaving and deleting the channel drop them",
    [
      { kind: "join", c: "ch1", u: "alice" },
      { kind: "join", c: "ch1:x", u: "alice" },
      { kind: "join", c: "Ch2", u: "alice" },
      { kind: "post", c: "ch1", m: "m1", sender: "Bob" },
      { kind: "post", c: "ch1", m: "m2", sender: "Bob" },
      { kind: "post", c: "ch1:x", m: "m1", sender: "Bob" },
      { kind: "post", c: "Ch2", m: "M3", sender: "Bob" },
      { kind: "post", c: "Ch2", m: "m2", sender: "Bob" },
      { kind: "follow", c: "ch1:x", t: "m1", u: "alice" },
      { kind: "follow", c: "ch1", t: "m2", u: "alice" },
      { kind: "follow", c: "Ch2", t: "m2", u: "alice" },
      { kind: "follow", c: "ch1", t: "m1", u: "alice" },
      { kind: "post", c: "Ch2", m: "r1", sender: "Bob", t: "M3", mentions: ["alice"] },
      { kind: "userThreads", u: "alice", limit: 2 },
      { kind: "userThreads", u: "alice", limit: 2, after: "ch1|m1" },
      { kind: "userThreads", u: "alice", limit: 1, after: "ch1:x|m1" },
      { kind: "unfollow", c: "ch1", t: "m1", u: "alice" },
      { kind: "userThreads", u: "alice", limit: 1, after: "ch1|m1" },
      { kind: "leave", c: "Ch2", u: "alice" },
      { kind: "userThreads", u: "alice", limit: 5 },
      { kind: "deleteChannel", c: "ch1:x" },
      { kind: "post", c: "ch1:x", m: "r2", sender: "Bob", t: "m1" },
      { kind: "userThreads", u: "alice" },
    ],
  ],
  [
    "leaving drops thread states and unfollow marks; a thread keeps its replies without followers",
    [
      { kind: "join", c: "ch1", u: "alice" },
      { kind: "join", c: "ch1", u: "Bob" },
      { kind: "post", c: "ch1", m: "m1", sender: "alice" },
      { kind: "follow", c: "ch1", t: "m1", u: "alice" },
      { kind: "unfollow", c: "ch1", t: "m1", u: "alice" },
      { kind: "leave", c: "ch1", u: "alice" },
      { kind: "join", c: "ch1", u: "alice" },
      { kind: "post", c: "ch1", m: "r1", sender: "Bob", t: "m1" },
      { kind: "threadState", c: "ch1", t: "m1", u: "alice" },
      { kind: "leave", c: "ch1", u: "alice" },
      { kind: "leave", c: "ch1", u: "Bob" },
      { kind: "threadInfo", c: "ch1", t: "m1" },
      { kind: "receipts", c: "ch1", m: "r1" },
      { kind: "follow", c: "ch1", t: "m1", u: "alice" },
    ],
  ],
  [
    "an unfollow mark, a delete and a mute a completed flush made durable come back after a wipe mid-flush",
    [
      { kind: "join", c: "ch1", u: "alice" },
      { kind: "join", c: "ch1", u: "Bob" },
      { kind: "post", c: "ch1", m: "m1", sender: "alice" },
      { kind: "post", c: "ch1", m: "m2", sender: "Bob", mentions: ["alice"] },
      { kind: "post", c: "ch1", m: "M3", sender: "Bob" },
      { kind: "follow", c: "ch1", t: "m1", u: "alice" },
      { kind: "unfollow", c: "ch1", t: "m1", u: "alice" },
      { kind: "deleteMessage", c: "ch1", m: "m2" },
      { kind: "setMuted", c: "ch1", u: "alice", muted: true },
      { kind: "flush" },
      // Lost with the held flush: these.
      { kind: "setMuted", c: "ch1", u: "alice", muted: false },
      { kind: "deleteMessage", c: "ch1", m: "M3" },
      { kind: "join", c: "Ch2", u: "carol" },
      { kind: "wipeMidFlush" },
      { kind: "userUnread", u: "alice" },
      // The mark came back: the first reply does not make the root's sender follow.
      { kind: "post", c: "ch1", m: "r1", sender: "Bob", t: "m1" },
      { kind: "threadInfo", c: "ch1", t: "m1" },
      { kind: "threadState", c: "ch1", t: "m1", u: "alice" },
    ],
  ],
  [
    "follows, unfollows, replies and deletes lost with Redis while their flush was held stay lost",
    [
      { kind: "join", c: "ch1", u: "alice" },
      { kind: "join", c: "ch1", u: "Bob" },
      { kind: "post", c: "ch1", m: "m1", sender: "alice" },
      { kind: "post", c: "ch1", m: "r1", sender: "Bob", t: "m1" },
      { kind: "flush" },
      { kind: "unfollow", c: "ch1", t: "m1", u: "alice" },
      { kind: "follow", c: "ch1", t: "m1", u: "Bob" },
      { kind: "post", c: "ch1", m: "r2", sender: "Bob", t: "m1", mentions: ["alice"] },
      { kind: "deleteMessage", c: "ch1", m: "r1" },
      { kind: "setMuted", c: "ch1", u: "alice", muted: true },
      { kind: "wipeMidFlush" },
      { kind: "threadState", c: "ch1", t: "m1", u: "alice" },
      { kind: "post", c: "ch1", m: "r2", sender: "alice", t: "m1" },
    ],
  ],
];

describe.skipIf(UNFENCED)("fixed v1.1 cases", () => {
  for (const [name, ops] of V11_CASES) {
    it(name, async () => {
      const held = midFlushOutcomes.held;
      await withEngines(SINGLE, {}, (runner) => runSequence(runner, ops));
      // A wipe mid-flush of these cases has something to lose: its flush was held, not idle.
      expect(midFlushOutcomes.held - held).toBe(ops.filter((op) => op.kind === "wipeMidFlush").length);
    });
  }
});
