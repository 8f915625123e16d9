// The read-state operations of API.md over a hot store (Redis) and a cold store (PostgreSQL).
// Validates input, loads a channel from the cold store on a cache miss (once per channel at a time),
// and shapes results as the contract words them.
import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { ReadStateError } from "./errors.js";
import { OPEN_GATE, type WriteGate } from "./gate.js";
import { assertId, isValidId, MAX_MENTIONS } from "./ids.js";
import {
  ChannelNotLoaded,
  type ColdStore,
  type HotStore,
  type RawMemberState,
  type RawThreadState,
  type RawUserChannel,
  type UserChangeOp,
} from "./ports.js";
import type {
  ChannelInfo,
  MemberState,
  PostInput,
  PostResult,
  Receipts,
  ReceiptsQuery,
  ThreadInfo,
  ThreadState,
  UserThreads,
  UserThreadsQuery,
  UserUnread,
} from "./types.js";

/** A channel can expire again between its load and the retry; this many loads settle it. */
const LOAD_ATTEMPTS = 3;
/** How long a cache miss waits for another instance's load of the same channel before 503. */
const LOAD_WAIT_MS = 5000;

export const RECEIPTS_DEFAULT_LIMIT = 100;
export const RECEIPTS_MAX_LIMIT = 1000;
export const THREADS_DEFAULT_LIMIT = 100;
export const THREADS_MAX_LIMIT = 1000;
/** Channels one mark-all-read may list. */
export const MAX_MARK_ALL_CHANNELS = 1000;
/** `after` of a user's threads: "channelId|threadId" of the last thread of the previous page. */
const PAGE_SEPARATOR = "|";

export class ReadStateService {
  private readonly loading = new Map<string, { promise: Promise<void>; fence: boolean }>();

  constructor(
    private readonly hot: HotStore,
    private readonly cold: ColdStore,
    private readonly onColdError: (err: Error) => void = () => {},
    /** Asked by every write after its input is checked and before anything changes. */
    private readonly gate: WriteGate = OPEN_GATE,
    private readonly onHotError: (err: Error) => void = () => {},
  ) {}

  async join(channelId: string, userId: string): Promise<MemberState> {
    assertId("channelId", channelId);
    assertId("userId", userId);
    this.gate.admitWrite();
    // The user's list first: if the process dies between the two, the list holds an extra channel
    // (filtered on read), never misses one.
    await this.hot.addUserChannel(userId, channelId);
    const { joined, state } = await this.withChannel(channelId, () => this.hot.join(channelId, userId));
    if (joined) await this.tellUser(userId, "join", channelId);
    return memberState(channelId, userId, state);
  }

  async leave(channelId: string, userId: string): Promise<void> {
    assertId("channelId", channelId);
    assertId("userId", userId);
    this.gate.admitWrite();
    await this.withChannel(channelId, () => this.hot.leave(channelId, userId));
    await this.tellUser(userId, "leave", channelId);
  }

  /**
   * Tells the user's live streams on every instance (ports.ts publishUserChange). The change is
   * applied already, so a failure here must not turn the answer into a 503 ("nothing applied"); it
   * is reported, and an instance that missed it gets its streams a fresh snapshot once its own
   * subscription, which broke with the same Redis, is back.
   */
  private async tellUser(userId: string, op: UserChangeOp, channelId: string): Promise<void> {
    try {
      await this.hot.publishUserChange(userId, op, channelId);
    } catch (err) {
      this.onHotError(err as Error);
    }
  }

  async post(channelId: string, message: PostInput): Promise<PostResult> {
    assertId("channelId", channelId);
    assertPost(message);
    this.gate.admitWrite();
    const { created, seq, threadId } = await this.withChannel(channelId, () =>
      this.hot.post(channelId, message),
    );
    return { channelId, messageId: message.messageId, seq, ...(threadId ? { threadId } : {}), created };
  }

  async deleteMessage(channelId: string, messageId: string): Promise<void> {
    assertId("channelId", channelId);
    assertId("messageId", messageId);
    this.gate.admitWrite();
    await this.withChannel(channelId, () => this.hot.deleteMessage(channelId, messageId));
  }

  async setMuted(channelId: string, userId: string, muted: boolean): Promise<MemberState> {
    assertId("channelId", channelId);
    assertId("userId", userId);
    if (typeof muted !== "boolean")
      throw new ReadStateError("validation_failed", "muted must be true or false");
    this.gate.admitWrite();
    const state = await this.withChannel(channelId, () => this.hot.setMuted(channelId, userId, muted));
    return memberState(channelId, userId, state);
  }

  async follow(channelId: string, threadId: string, userId: string): Promise<ThreadState> {
    assertThreadIds(channelId, threadId, userId);
    this.gate.admitWrite();
    const state = await this.withChannel(channelId, () => this.hot.follow(channelId, threadId, userId));
    return threadState(channelId, threadId, userId, state);
  }

  async unfollow(channelId: string, threadId: string, userId: string): Promise<void> {
    assertThreadIds(channelId, threadId, userId);
    this.gate.admitWrite();
    await this.withChannel(channelId, () => this.hot.unfollow(channelId, threadId, userId));
  }

  async threadState(channelId: string, threadId: string, userId: string): Promise<ThreadState> {
    assertThreadIds(channelId, threadId, userId);
    const state = await this.withChannel(channelId, () => this.hot.threadState(channelId, threadId, userId));
    return threadState(channelId, threadId, userId, state);
  }

  async markThreadRead(
    channelId: string,
    threadId: string,
    userId: string,
    messageId?: string,
  ): Promise<ThreadState> {
    assertThreadIds(channelId, threadId, userId);
    if (messageId !== undefined) assertId("messageId", messageId);
    this.gate.admitWrite();
    const state = await this.withChannel(channelId, () =>
      this.hot.markThreadRead(channelId, threadId, userId, messageId),
    );
    return threadState(channelId, threadId, userId, state);
  }

  async markThreadUnread(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string,
  ): Promise<ThreadState> {
    assertThreadIds(channelId, threadId, userId);
    assertId("messageId", messageId);
    this.gate.admitWrite();
    const state = await this.withChannel(channelId, () =>
      this.hot.markThreadUnread(channelId, threadId, userId, messageId),
    );
    return threadState(channelId, threadId, userId, state);
  }

  async threadInfo(channelId: string, threadId: string): Promise<ThreadInfo> {
    assertId("channelId", channelId);
    assertId("threadId", threadId);
    const info = await this.withChannel(channelId, () => this.hot.threadInfo(channelId, threadId));
    return { channelId, threadId, ...info };
  }

  async markRead(channelId: string, userId: string, messageId?: string): Promise<MemberState> {
    assertId("channelId", channelId);
    assertId("userId", userId);
    if (messageId !== undefined) assertId("messageId", messageId);
    this.gate.admitWrite();
    const state = await this.withChannel(channelId, () => this.hot.markRead(channelId, userId, messageId));
    return memberState(channelId, userId, state);
  }

  async markUnread(channelId: string, userId: string, messageId: string): Promise<MemberState> {
    assertId("channelId", channelId);
    assertId("userId", userId);
    assertId("messageId", messageId);
    this.gate.admitWrite();
    const state = await this.withChannel(channelId, () => this.hot.markUnread(channelId, userId, messageId));
    return memberState(channelId, userId, state);
  }

  async memberState(channelId: string, userId: string): Promise<MemberState> {
    assertId("channelId", channelId);
    assertId("userId", userId);
    const state = await this.withChannel(channelId, () => this.hot.memberState(channelId, userId));
    return memberState(channelId, userId, state);
  }

  async userUnread(userId: string): Promise<UserUnread> {
    assertId("userId", userId);
    return userUnreadOf(userId, await this.userChannelStates(userId));
  }

  /**
   * userUnread, with the threads the user follows in each channel (what a live stream must know to
   * tell which replies concern its user): the same reads.
   */
  async userOverview(userId: string): Promise<{ unread: UserUnread; followed: Map<string, string[]> }> {
    assertId("userId", userId);
    const channels = await this.userChannelStates(userId);
    const followed = new Map<string, string[]>();
    for (const [channelId, { threads }] of channels) {
      followed.set(
        channelId,
        threads.map((t) => t.threadId),
      );
    }
    return { unread: userUnreadOf(userId, channels), followed };
  }

  /** The user's state in these channels, with the threads followed there; absent: not a member. */
  async channelsOverview(
    userId: string,
    channelIds: string[],
  ): Promise<Map<string, { state: MemberState; threads: ThreadState[] }>> {
    assertId("userId", userId);
    const found = new Map<string, { state: MemberState; threads: ThreadState[] }>();
    for (const [channelId, channel] of await this.channelStates(userId, channelIds)) {
      found.set(channelId, {
        state: memberState(channelId, userId, channel.state),
        threads: channel.threads.map((t) => threadState(channelId, t.threadId, userId, t.state)),
      });
    }
    return found;
  }

  async userThreads(userId: string, query: UserThreadsQuery = {}): Promise<UserThreads> {
    assertId("userId", userId);
    const limit = query.limit ?? THREADS_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > THREADS_MAX_LIMIT) {
      throw new ReadStateError(
        "validation_failed",
        `limit must be a whole number from 1 to ${THREADS_MAX_LIMIT}`,
      );
    }
    const after = query.after === undefined ? undefined : parsePageKey(query.after);
    const channels = await this.userChannelStates(userId);
    const all: ThreadState[] = [];
    for (const [channelId, { threads }] of channels) {
      for (const t of threads) all.push(threadState(channelId, t.threadId, userId, t.state));
    }
    const totals = threadTotals(channels);
    const from = after
      ? all.findIndex((t) => comparePage(t.channelId, t.threadId, after.channelId, after.threadId) > 0)
      : 0;
    const page = from < 0 ? [] : all.slice(from, from + limit);
    const last = page[page.length - 1];
    const more = from >= 0 && from + limit < all.length;
    return {
      userId,
      ...totals,
      threads: page,
      next: more && last ? `${last.channelId}${PAGE_SEPARATOR}${last.threadId}` : null,
    };
  }

  async markAllRead(userId: string, channelIds?: string[]): Promise<UserUnread> {
    assertId("userId", userId);
    if (channelIds !== undefined) assertChannelList(channelIds);
    this.gate.admitWrite();
    // Every channel is loaded (and its membership known) before any is changed: PostgreSQL down
    // answers 503 with nothing applied.
    const states =
      channelIds === undefined
        ? await this.userChannelStates(userId)
        : await this.channelStates(userId, [...new Set(channelIds)]);
    // Issued in one tick, the marks share one script call per hash tag group (batcher.ts).
    const behind = [...states].filter(([, c]) => c.state.readSeq < c.state.channelSeq);
    await Promise.all(
      behind.map(async ([channelId, channel]) => {
        try {
          const state = await this.withChannel(channelId, () =>
            this.hot.markRead(channelId, userId, undefined),
          );
          states.set(channelId, { ...channel, state });
        } catch (err) {
          // Left the channel (or it was deleted) since it was read: a non-member's channel is left alone.
          if (!(err instanceof ReadStateError && err.code === "not_a_member")) throw err;
          states.delete(channelId);
        }
      }),
    );
    // Every channel of the user was read above (and threads are not touched): its answer is at hand.
    // A list names only some channels, and the answer covers all of them.
    return channelIds === undefined ? userUnreadOf(userId, states) : this.userUnread(userId);
  }

  /** The user's state in each of their channels, with their threads, sorted by channelId. */
  private async userChannelStates(userId: string): Promise<Map<string, RawUserChannel>> {
    const list = await this.hot.userChannels(userId);
    let { channelIds } = list;
    // PostgreSQL's list lacks the joins not yet flushed, and the Redis list may have lost some (on
    // Cluster its node can lose its data while the channel's node keeps an unflushed join). So the
    // first merge only leaves a pending mark; the list is then used as it is, and merged once more,
    // for good, when the worker reports everything before that mark flushed (checked before the
    // PostgreSQL read, so that read sees them all).
    const merge = list.complete
      ? "none"
      : list.mergedAt === null
        ? "first"
        : (await this.hot.flushedBefore(list.mergedAt))
          ? "final"
          : "none";
    if (merge !== "none") {
      const stored = await this.fromCold(() => this.cold.userChannels(userId));
      channelIds = [...new Set([...channelIds, ...stored])];
      // An unknown user leaves no trace: remembering every probed ID would grow Redis without bound.
      if (channelIds.length > 0) {
        await this.hot.mergeUserChannels(userId, stored, {
          complete: merge === "final",
          mergedAt: list.mergedAt,
        });
      }
    }
    return this.channelStates(userId, channelIds);
  }

  /** The user's state in the given channels they are a member of, loading those not cached. */
  private async channelStates(userId: string, channelIds: string[]): Promise<Map<string, RawUserChannel>> {
    const found = await this.hot.memberStates(userId, channelIds);
    const missing = channelIds.filter((channelId) => found.get(channelId) === "not_loaded");
    if (missing.length > 0) {
      await Promise.all(missing.map((channelId) => this.load(channelId)));
      for (const [channelId, state] of await this.hot.memberStates(userId, missing))
        found.set(channelId, state);
    }
    const states = new Map<string, RawUserChannel>();
    for (const channelId of [...found.keys()].sort(compare)) {
      const state = found.get(channelId);
      // The list may name channels the user left or that were deleted.
      if (state === "not_a_member" || state === undefined) continue;
      if (state === "not_loaded") {
        throw new ReadStateError(
          "unavailable",
          `channel ${channelId} expired again while it was being loaded`,
        );
      }
      states.set(channelId, state);
    }
    return states;
  }

  async channelInfo(channelId: string): Promise<ChannelInfo> {
    assertId("channelId", channelId);
    const info = await this.withChannel(channelId, () => this.hot.channelInfo(channelId));
    return { channelId, ...info };
  }

  async receipts(channelId: string, messageId: string, query: ReceiptsQuery = {}): Promise<Receipts> {
    assertId("channelId", channelId);
    assertId("messageId", messageId);
    const limit = query.limit ?? RECEIPTS_DEFAULT_LIMIT;
    if (!Number.isInteger(limit) || limit < 1 || limit > RECEIPTS_MAX_LIMIT) {
      throw new ReadStateError(
        "validation_failed",
        `limit must be a whole number from 1 to ${RECEIPTS_MAX_LIMIT}`,
      );
    }
    if (query.after !== undefined) assertId("after", query.after);
    const page = await this.withChannel(channelId, () =>
      this.hot.receipts(channelId, messageId, limit, query.after ?? ""),
    );
    return { channelId, messageId, ...page };
  }

  async deleteChannel(channelId: string): Promise<void> {
    assertId("channelId", channelId);
    this.gate.admitWrite();
    await this.withChannel(channelId, () => this.hot.deleteChannel(channelId));
  }

  /** Runs op; on a cache miss loads the channel from the cold store and runs it again. */
  private async withChannel<T>(channelId: string, op: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      let fence = false;
      try {
        return await op();
      } catch (err) {
        if (!(err instanceof ChannelNotLoaded)) throw err;
        if (attempt > LOAD_ATTEMPTS) {
          throw new ReadStateError(
            "unavailable",
            `channel ${channelId} left the cache again each time it was loaded; retry`,
          );
        }
        fence = err.fence;
      }
      await this.load(channelId, fence);
    }
  }

  /**
   * Single-flight: concurrent misses on one channel in this process share one load, and the
   * channel's load lease in Redis keeps loaders of other instances out meanwhile. A writer that
   * found the channel cached as absent needs a fenced load: it waits for any load under way first.
   */
  private async load(channelId: string, fence = false): Promise<void> {
    for (;;) {
      const pending = this.loading.get(channelId);
      if (!pending) break;
      await pending.promise.catch(() => {});
      if (pending.fence || !fence) return;
    }
    const promise = this.loadOnce(channelId, fence).finally(() => this.loading.delete(channelId));
    this.loading.set(channelId, { promise, fence });
    return promise;
  }

  private async loadOnce(channelId: string, fence: boolean): Promise<void> {
    const token = randomUUID();
    const waitUntil = Date.now() + LOAD_WAIT_MS;
    for (let pause = 5; ; pause = Math.min(pause * 2, 100)) {
      const begun = await this.hot.beginLoad(channelId, token, fence).catch(async (err) => {
        // A hung Redis may still run the call later and hold the lease for nothing: give it back
        // (the release is queued behind it).
        await this.hot.abortLoad(channelId, token).catch(() => {});
        throw err;
      });
      if (begun === "loaded") return;
      if (begun === "go") break;
      if (Date.now() >= waitUntil) {
        throw new ReadStateError(
          "unavailable",
          `channel ${channelId} is being loaded from PostgreSQL by another instance; retry`,
        );
      }
      await sleep(pause);
    }
    try {
      const snapshot = await this.fromCold(() => this.cold.loadChannel(channelId, fence));
      // false: the lease ran out while PostgreSQL answered; the caller's retry loads again.
      await this.hot.installLoad(snapshot, token);
    } catch (err) {
      await this.hot.abortLoad(channelId, token).catch(() => {});
      throw err;
    }
  }

  private async fromCold<T>(read: () => Promise<T>): Promise<T> {
    try {
      return await read();
    } catch (err) {
      this.onColdError(err as Error);
      throw new ReadStateError(
        "unavailable",
        `PostgreSQL is unavailable and the state is not cached in Redis: ${(err as Error).message}`,
        { cause: err },
      );
    }
  }
}

function memberState(channelId: string, userId: string, raw: RawMemberState): MemberState {
  return {
    channelId,
    userId,
    unread: raw.unread,
    mentions: raw.mentions,
    readSeq: raw.readSeq,
    channelSeq: raw.channelSeq,
    lastReadMessageId: raw.lastReadMessageId,
    lastReadAt: isoTime(raw.lastReadAtMs),
    firstUnreadMessageId: raw.firstUnreadMessageId,
    muted: raw.muted,
  };
}

function threadState(channelId: string, threadId: string, userId: string, raw: RawThreadState): ThreadState {
  return {
    channelId,
    threadId,
    userId,
    unread: raw.unread,
    mentions: raw.mentions,
    readSeq: raw.readSeq,
    threadSeq: raw.threadSeq,
    lastReadMessageId: raw.lastReadMessageId,
    lastReadAt: isoTime(raw.lastReadAtMs),
    firstUnreadMessageId: raw.firstUnreadMessageId,
  };
}

function isoTime(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

/** The totals rule: a muted channel leaves the unread totals, never the mention totals. */
function userUnreadOf(userId: string, channels: Map<string, RawUserChannel>): UserUnread {
  const states = [...channels].map(([channelId, c]) => memberState(channelId, userId, c.state));
  return {
    userId,
    unread: states.reduce((sum, s) => sum + (s.muted ? 0 : s.unread), 0),
    mentions: states.reduce((sum, s) => sum + s.mentions, 0),
    channels: states,
    threads: threadTotals(channels),
  };
}

function threadTotals(channels: Map<string, RawUserChannel>): { unreadThreads: number; mentions: number } {
  let unreadThreads = 0;
  let mentions = 0;
  for (const { state, threads } of channels.values()) {
    for (const t of threads) {
      if (t.state.unread > 0 && !state.muted) unreadThreads++;
      mentions += t.state.mentions;
    }
  }
  return { unreadThreads, mentions };
}

function parsePageKey(after: string): { channelId: string; threadId: string } {
  const [channelId = "", threadId = "", ...rest] =
    typeof after === "string" ? after.split(PAGE_SEPARATOR) : [];
  if (rest.length > 0 || !isValidId(channelId) || !isValidId(threadId)) {
    throw new ReadStateError(
      "validation_failed",
      "after must be the `next` of the previous page, as it was returned",
    );
  }
  return { channelId, threadId };
}

/** Threads sort by channelId, then threadId. */
function comparePage(channelA: string, threadA: string, channelB: string, threadB: string): number {
  return compare(channelA, channelB) || compare(threadA, threadB);
}

function assertThreadIds(channelId: string, threadId: string, userId: string): void {
  assertId("channelId", channelId);
  assertId("threadId", threadId);
  assertId("userId", userId);
}

function assertChannelList(channelIds: string[]): void {
  if (!Array.isArray(channelIds) || channelIds.length < 1 || channelIds.length > MAX_MARK_ALL_CHANNELS) {
    throw new ReadStateError(
      "validation_failed",
      `channelIds must list 1 to ${MAX_MARK_ALL_CHANNELS} channelIds (omit it for every channel)`,
    );
  }
  for (const [i, channelId] of channelIds.entries()) assertId(`channelIds[${i}]`, channelId);
}

function assertPost(message: PostInput): void {
  if (typeof message !== "object" || message === null) {
    throw new ReadStateError(
      "validation_failed",
      "the message must be an object with messageId and senderId",
    );
  }
  assertId("messageId", message.messageId);
  assertId("senderId", message.senderId);
  if (message.threadId !== undefined) assertId("threadId", message.threadId);
  if (message.mentionAll !== undefined && typeof message.mentionAll !== "boolean") {
    throw new ReadStateError("validation_failed", "mentionAll must be true or false");
  }
  if (message.mentions !== undefined) {
    if (!Array.isArray(message.mentions)) {
      throw new ReadStateError("validation_failed", "mentions must be a list of userIds");
    }
    if (message.mentions.length > MAX_MENTIONS) {
      throw new ReadStateError("validation_failed", `mentions may list at most ${MAX_MENTIONS} userIds`);
    }
    for (const [i, userId] of message.mentions.entries()) assertId(`mentions[${i}]`, userId);
  }
}

/** Code-point order, as every sort in the contract. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
