// An in-memory model of API.md, v1 and v1.1 (no Redis, no PostgreSQL): the oracle of the model-based
// test. Where API.md is silent, it follows the decisions listed in the header of model.test.ts.
//
// lastReadAt is modelled as a "stamp": null while the cursor never changed since join (or, for a
// thread, since the user started following it), otherwise a number that changes exactly when the
// cursor changes. The test maps each stamp to the first server time it observes for it and then
// demands that same time for as long as the stamp lives. Channel and thread cursors share one
// counter, so a stamp names one change of one cursor.

export type ErrorCode =
  | "not_a_member"
  | "unknown_message"
  | "not_found"
  | "not_following"
  | "validation_failed";

export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode };

export interface ModelMemberState {
  channelId: string;
  userId: string;
  unread: number;
  mentions: number;
  readSeq: number;
  channelSeq: number;
  lastReadMessageId: string | null;
  /** A stamp, not a time: null when never changed since join. */
  lastReadAt: number | null;
  firstUnreadMessageId: string | null;
  muted: boolean;
}

export interface ModelPostInput {
  messageId: string;
  senderId: string;
  mentions?: string[];
  mentionAll?: boolean;
  threadId?: string;
}

export interface ModelPostResult {
  channelId: string;
  messageId: string;
  seq: number;
  /** Only for a reply (absent, not undefined, for a top-level message). */
  threadId?: string;
  created: boolean;
}

export interface ModelThreadTotals {
  unreadThreads: number;
  mentions: number;
}

export interface ModelUserUnread {
  userId: string;
  unread: number;
  mentions: number;
  channels: ModelMemberState[];
  threads: ModelThreadTotals;
}

export interface ModelChannelInfo {
  channelId: string;
  channelSeq: number;
  memberCount: number;
  lastMessageId: string | null;
}

export interface ModelReceipts {
  channelId: string;
  messageId: string;
  seq: number;
  memberCount: number;
  readCount: number;
  readers: { userId: string; readSeq: number }[];
  next: string | null;
}

export interface ModelThreadState {
  channelId: string;
  threadId: string;
  userId: string;
  unread: number;
  mentions: number;
  readSeq: number;
  threadSeq: number;
  lastReadMessageId: string | null;
  /** A stamp, not a time: null when never changed since the user started following. */
  lastReadAt: number | null;
  firstUnreadMessageId: string | null;
}

export interface ModelThreadInfo {
  channelId: string;
  threadId: string;
  threadSeq: number;
  followerCount: number;
  lastMessageId: string | null;
}

export interface ModelUserThreads extends ModelThreadTotals {
  userId: string;
  threads: ModelThreadState[];
  next: string | null;
}

/** A message or a reply. Never changed once posted (deletion is kept beside it, per channel). */
interface Message {
  messageId: string;
  /** The channel's seq for a top-level message, the thread's for a reply. */
  seq: number;
  senderId: string;
  mentions: ReadonlySet<string>;
  mentionAll: boolean;
  /** Set for a reply: its root's messageId. */
  threadId?: string;
}

interface Cursor {
  readSeq: number;
  stamp: number | null;
}

interface Member extends Cursor {
  muted: boolean;
}

interface Thread {
  seq: number;
  /** replies[seq - 1] is the reply with that seq. */
  replies: Message[];
  followers: Map<string, Cursor>;
  /** Users who unfollowed: not made followers again as the root's sender at the first reply. */
  unfollowed: Set<string>;
}

interface Channel {
  seq: number;
  /** Every message of the channel, replies included: a messageId is unique within its channel. */
  byId: Map<string, Message>;
  /** Top-level messages only: bySeq[seq - 1] is the message with that seq. */
  bySeq: Message[];
  members: Map<string, Member>;
  /** messageIds of deleted messages and replies. */
  deleted: Set<string>;
  /** Threads by root messageId: created by a first reply or a first follow. */
  threads: Map<string, Thread>;
}

export const RECEIPTS_DEFAULT_LIMIT = 100;
export const USER_THREADS_DEFAULT_LIMIT = 100;

/** Code-point order, as every sort in the contract. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The opaque `after`/`next` of userThreads, as the engine forms it: channelId "|" threadId. */
export function threadKey(channelId: string, threadId: string): string {
  return `${channelId}|${threadId}`;
}

/** Sorted by channelId, then threadId (not by the joined key: "ch1|x" sorts after "ch1:x|a"). */
function compareThreads(a: { c: string; t: string }, b: { c: string; t: string }): number {
  return compare(a.c, b.c) || compare(a.t, b.t);
}

function parseThreadKey(key: string): { c: string; t: string } {
  const bar = key.indexOf("|");
  if (bar < 0) throw new Error(`the model only takes "channelId|threadId" as after, not ${key}`);
  return { c: key.slice(0, bar), t: key.slice(bar + 1) };
}

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(code: ErrorCode): Result<T> => ({ ok: false, code });

/**
 * unread, mentions and the first unread of one cursor over `messages` (sorted by seq, index = seq - 1):
 * non-deleted messages above readSeq; mentions by name or mentionAll, never the user's own.
 */
function counts(
  messages: readonly Message[],
  deleted: ReadonlySet<string>,
  userId: string,
  readSeq: number,
): { unread: number; mentions: number; firstUnreadMessageId: string | null } {
  let unread = 0;
  let mentions = 0;
  let firstUnreadMessageId: string | null = null;
  for (const message of messages.slice(readSeq)) {
    if (deleted.has(message.messageId)) continue;
    unread += 1;
    firstUnreadMessageId ??= message.messageId;
    if (message.senderId !== userId && (message.mentionAll || message.mentions.has(userId))) mentions += 1;
  }
  return { unread, mentions, firstUnreadMessageId };
}

/** The newest non-deleted message of `messages`, or null. */
function lastLive(messages: readonly Message[], deleted: ReadonlySet<string>): string | null {
  for (let i = messages.length - 1; i >= 0; i--) {
    const id = (messages[i] as Message).messageId;
    if (!deleted.has(id)) return id;
  }
  return null;
}

/** A thread has a summary (and is listed) while it has a reply or a follower. */
function visible(thread: Thread | undefined): thread is Thread {
  return thread !== undefined && (thread.seq > 0 || thread.followers.size > 0);
}

export class ReadStateModel {
  /** Live channels only: a deleted channel is gone, a later join or post starts it at seq 0. */
  private readonly channels = new Map<string, Channel>();
  private stamps = 0;

  /** Stamps are unique over the whole run, so a stamp names one change of one cursor. */
  private nextStamp(): number {
    this.stamps += 1;
    return this.stamps;
  }

  private channelFor(channelId: string): Channel {
    let channel = this.channels.get(channelId);
    if (!channel) {
      channel = {
        seq: 0,
        byId: new Map(),
        bySeq: [],
        members: new Map(),
        deleted: new Set(),
        threads: new Map(),
      };
      this.channels.set(channelId, channel);
    }
    return channel;
  }

  private threadFor(channel: Channel, threadId: string): Thread {
    let thread = channel.threads.get(threadId);
    if (!thread) {
      thread = { seq: 0, replies: [], followers: new Map(), unfollowed: new Set() };
      channel.threads.set(threadId, thread);
    }
    return thread;
  }

  private state(channelId: string, userId: string, channel: Channel, member: Member): ModelMemberState {
    const { readSeq } = member;
    return {
      channelId,
      userId,
      ...counts(channel.bySeq, channel.deleted, userId, readSeq),
      readSeq,
      channelSeq: channel.seq,
      lastReadMessageId: readSeq > 0 ? (channel.bySeq[readSeq - 1]?.messageId ?? null) : null,
      lastReadAt: member.stamp,
      muted: member.muted,
    };
  }

  private followerState(
    channelId: string,
    threadId: string,
    userId: string,
    channel: Channel,
    thread: Thread,
    cursor: Cursor,
  ): ModelThreadState {
    const { readSeq } = cursor;
    return {
      channelId,
      threadId,
      userId,
      ...counts(thread.replies, channel.deleted, userId, readSeq),
      readSeq,
      threadSeq: thread.seq,
      lastReadMessageId: readSeq > 0 ? (thread.replies[readSeq - 1]?.messageId ?? null) : null,
      lastReadAt: cursor.stamp,
    };
  }

  /** The channel and the member, or the error member-level calls answer (not_a_member). */
  private member(channelId: string, userId: string): { channel: Channel; member: Member } | undefined {
    const channel = this.channels.get(channelId);
    const member = channel?.members.get(userId);
    return channel && member ? { channel, member } : undefined;
  }

  /** The channel, thread and follower's cursor, or undefined (not_following, whatever is missing). */
  private follower(
    channelId: string,
    threadId: string,
    userId: string,
  ): { channel: Channel; thread: Thread; cursor: Cursor } | undefined {
    const channel = this.channels.get(channelId);
    const thread = channel?.threads.get(threadId);
    const cursor = thread?.followers.get(userId);
    return channel && thread && cursor ? { channel, thread, cursor } : undefined;
  }

  /** A top-level message of the channel (a reply's messageId is unknown at channel level). */
  private topLevel(channel: Channel, messageId: string): Message | undefined {
    const message = channel.byId.get(messageId);
    return message && message.threadId === undefined ? message : undefined;
  }

  /** Moves a cursor forward to `target` only (rules 4, thread reads). */
  private forward(cursor: Cursor, target: number): void {
    if (target > cursor.readSeq) {
      cursor.readSeq = target;
      cursor.stamp = this.nextStamp();
    }
  }

  /** Sets a cursor to `target`, backwards or forwards (rule 5); the same position is a no-op. */
  private setCursor(cursor: Cursor, target: number): void {
    if (target !== cursor.readSeq) {
      cursor.readSeq = target;
      cursor.stamp = this.nextStamp();
    }
  }

  // ---- v1 ---------------------------------------------------------------------------------------

  join(channelId: string, userId: string): Result<ModelMemberState> {
    const channel = this.channelFor(channelId);
    let member = channel.members.get(userId);
    if (!member) {
      member = { readSeq: channel.seq, stamp: null, muted: false };
      channel.members.set(userId, member);
    }
    return ok(this.state(channelId, userId, channel, member));
  }

  /** Also drops the mute setting, the user's thread states and unfollow marks in the channel. */
  leave(channelId: string, userId: string): Result<null> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    found.channel.members.delete(userId);
    for (const thread of found.channel.threads.values()) {
      thread.followers.delete(userId);
      thread.unfollowed.delete(userId);
    }
    return ok(null);
  }

  post(channelId: string, input: ModelPostInput): Result<ModelPostResult> {
    // Repeats first: what the messageId was first posted as, before threadId is looked at.
    const existing = this.channels.get(channelId)?.byId.get(input.messageId);
    if (existing) return ok(postResult(channelId, existing, false));
    if (input.threadId !== undefined) return this.reply(channelId, input.threadId, input);
    const channel = this.channelFor(channelId);
    channel.seq += 1;
    const message: Message = {
      messageId: input.messageId,
      seq: channel.seq,
      senderId: input.senderId,
      mentions: new Set(input.mentions ?? []),
      mentionAll: input.mentionAll ?? false,
    };
    channel.byId.set(message.messageId, message);
    channel.bySeq.push(message);
    const sender = channel.members.get(input.senderId);
    if (sender) {
      sender.readSeq = message.seq;
      sender.stamp = this.nextStamp();
    }
    return ok(postResult(channelId, message, true));
  }

  private reply(channelId: string, threadId: string, input: ModelPostInput): Result<ModelPostResult> {
    // A reply into a channel that does not exist: the root is not there, nothing is created.
    const channel = this.channels.get(channelId);
    if (!channel) return fail("unknown_message");
    const root = channel.byId.get(threadId);
    if (!root) return fail("unknown_message");
    if (root.threadId !== undefined) return fail("validation_failed");
    const thread = this.threadFor(channel, threadId);
    thread.seq += 1;
    const reply: Message = {
      messageId: input.messageId,
      seq: thread.seq,
      senderId: input.senderId,
      mentions: new Set(input.mentions ?? []),
      mentionAll: input.mentionAll ?? false,
      threadId,
    };
    channel.byId.set(reply.messageId, reply);
    thread.replies.push(reply);
    // New followers (channel members only) start just before the reply. The sender and users named
    // in mentions follow even after an unfollow; the root's sender, at the first reply, does not.
    const startFollowing = (userId: string, overridesUnfollow: boolean): void => {
      if (!channel.members.has(userId) || thread.followers.has(userId)) return;
      if (!overridesUnfollow && thread.unfollowed.has(userId)) return;
      thread.unfollowed.delete(userId);
      thread.followers.set(userId, { readSeq: reply.seq - 1, stamp: null });
    };
    startFollowing(reply.senderId, true);
    for (const userId of reply.mentions) startFollowing(userId, true);
    if (reply.seq === 1) startFollowing(root.senderId, false);
    const sender = thread.followers.get(reply.senderId);
    if (sender) {
      sender.readSeq = reply.seq;
      sender.stamp = this.nextStamp();
    }
    return ok(postResult(channelId, reply, true));
  }

  markRead(channelId: string, userId: string, messageId?: string): Result<ModelMemberState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    const { channel, member } = found;
    let target = channel.seq;
    if (messageId !== undefined) {
      const message = this.topLevel(channel, messageId);
      if (!message) return fail("unknown_message");
      target = message.seq;
    }
    this.forward(member, target);
    return ok(this.state(channelId, userId, channel, member));
  }

  markUnread(channelId: string, userId: string, messageId: string): Result<ModelMemberState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    const { channel, member } = found;
    const message = this.topLevel(channel, messageId);
    if (!message) return fail("unknown_message");
    this.setCursor(member, message.seq - 1);
    return ok(this.state(channelId, userId, channel, member));
  }

  memberState(channelId: string, userId: string): Result<ModelMemberState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    return ok(this.state(channelId, userId, found.channel, found.member));
  }

  userUnread(userId: string): Result<ModelUserUnread> {
    const channels: ModelMemberState[] = [];
    for (const channelId of this.channelIds()) {
      const state = this.memberState(channelId, userId);
      if (state.ok) channels.push(state.value);
    }
    const { unreadThreads, mentions } = this.followedThreads(userId);
    return ok({
      userId,
      unread: channels.reduce((sum, s) => sum + (s.muted ? 0 : s.unread), 0),
      mentions: channels.reduce((sum, s) => sum + s.mentions, 0),
      channels,
      threads: { unreadThreads, mentions },
    });
  }

  channelInfo(channelId: string): Result<ModelChannelInfo> {
    const channel = this.channels.get(channelId);
    if (!channel) return fail("not_found");
    return ok({
      channelId,
      channelSeq: channel.seq,
      memberCount: channel.members.size,
      lastMessageId: lastLive(channel.bySeq, channel.deleted),
    });
  }

  /** Of a top-level message: the channel's members; of a reply: its thread's followers. */
  receipts(
    channelId: string,
    messageId: string,
    query: { limit?: number; after?: string } = {},
  ): Result<ModelReceipts> {
    const channel = this.channels.get(channelId);
    if (!channel) return fail("not_found");
    const message = channel.byId.get(messageId);
    if (!message) return fail("unknown_message");
    const cursors: ReadonlyMap<string, Cursor> =
      message.threadId === undefined
        ? channel.members
        : (channel.threads.get(message.threadId)?.followers ?? new Map());
    const readers = [...cursors]
      .filter(([, m]) => m.readSeq >= message.seq)
      .map(([userId, m]) => ({ userId, readSeq: m.readSeq }))
      .sort((a, b) => compare(a.userId, b.userId));
    const after = query.after;
    const candidates = after === undefined ? readers : readers.filter((r) => r.userId > after);
    const limit = query.limit ?? RECEIPTS_DEFAULT_LIMIT;
    const page = candidates.slice(0, limit);
    return ok({
      channelId,
      messageId,
      seq: message.seq,
      memberCount: cursors.size,
      readCount: readers.length,
      readers: page,
      next: candidates.length > page.length ? (page.at(-1)?.userId ?? null) : null,
    });
  }

  deleteChannel(channelId: string): Result<null> {
    if (!this.channels.delete(channelId)) return fail("not_found");
    return ok(null);
  }

  // ---- v1.1 -------------------------------------------------------------------------------------

  /** Keeps its seq, stops counting; idempotent; a root's thread stays as it is. */
  deleteMessage(channelId: string, messageId: string): Result<null> {
    const channel = this.channels.get(channelId);
    if (!channel) return fail("not_found");
    if (!channel.byId.has(messageId)) return fail("unknown_message");
    channel.deleted.add(messageId);
    return ok(null);
  }

  setMuted(channelId: string, userId: string, muted: boolean): Result<ModelMemberState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    found.member.muted = muted;
    return ok(this.state(channelId, userId, found.channel, found.member));
  }

  /** Every listed channel (each once) or every channel of the user, read to its newest message. */
  markAllRead(userId: string, channelIds?: readonly string[]): Result<ModelUserUnread> {
    const listed = channelIds === undefined ? this.channelIds() : [...new Set(channelIds)];
    for (const channelId of listed) {
      const found = this.member(channelId, userId);
      if (found) this.forward(found.member, found.channel.seq);
    }
    return this.userUnread(userId);
  }

  follow(channelId: string, threadId: string, userId: string): Result<ModelThreadState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    const { channel } = found;
    if (!this.topLevel(channel, threadId)) return fail("unknown_message");
    const thread = this.threadFor(channel, threadId);
    let cursor = thread.followers.get(userId);
    if (!cursor) {
      cursor = { readSeq: thread.seq, stamp: null };
      thread.followers.set(userId, cursor);
      thread.unfollowed.delete(userId);
    }
    return ok(this.followerState(channelId, threadId, userId, channel, thread, cursor));
  }

  unfollow(channelId: string, threadId: string, userId: string): Result<null> {
    const found = this.follower(channelId, threadId, userId);
    if (!found) return fail("not_following");
    found.thread.followers.delete(userId);
    found.thread.unfollowed.add(userId);
    return ok(null);
  }

  threadState(channelId: string, threadId: string, userId: string): Result<ModelThreadState> {
    const found = this.follower(channelId, threadId, userId);
    if (!found) return fail("not_following");
    return ok(this.followerState(channelId, threadId, userId, found.channel, found.thread, found.cursor));
  }

  /** A reply of that thread, or undefined (unknown_message). */
  private replyOf(channel: Channel, threadId: string, messageId: string): Message | undefined {
    const message = channel.byId.get(messageId);
    return message && message.threadId === threadId ? message : undefined;
  }

  markThreadRead(
    channelId: string,
    threadId: string,
    userId: string,
    messageId?: string,
  ): Result<ModelThreadState> {
    const found = this.follower(channelId, threadId, userId);
    if (!found) return fail("not_following");
    const { channel, thread, cursor } = found;
    let target = thread.seq;
    if (messageId !== undefined) {
      const reply = this.replyOf(channel, threadId, messageId);
      if (!reply) return fail("unknown_message");
      target = reply.seq;
    }
    this.forward(cursor, target);
    return ok(this.followerState(channelId, threadId, userId, channel, thread, cursor));
  }

  markThreadUnread(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string,
  ): Result<ModelThreadState> {
    const found = this.follower(channelId, threadId, userId);
    if (!found) return fail("not_following");
    const { channel, thread, cursor } = found;
    const reply = this.replyOf(channel, threadId, messageId);
    if (!reply) return fail("unknown_message");
    this.setCursor(cursor, reply.seq - 1);
    return ok(this.followerState(channelId, threadId, userId, channel, thread, cursor));
  }

  threadInfo(channelId: string, threadId: string): Result<ModelThreadInfo> {
    const channel = this.channels.get(channelId);
    const thread = channel?.threads.get(threadId);
    if (!channel || !visible(thread)) return fail("not_found");
    return ok({
      channelId,
      threadId,
      threadSeq: thread.seq,
      followerCount: thread.followers.size,
      lastMessageId: lastLive(thread.replies, channel.deleted),
    });
  }

  userThreads(userId: string, query: { limit?: number; after?: string } = {}): Result<ModelUserThreads> {
    const { states, unreadThreads, mentions } = this.followedThreads(userId);
    const after = query.after === undefined ? undefined : parseThreadKey(query.after);
    const candidates =
      after === undefined
        ? states
        : states.filter((s) => compareThreads({ c: s.channelId, t: s.threadId }, after) > 0);
    const page = candidates.slice(0, query.limit ?? USER_THREADS_DEFAULT_LIMIT);
    const last = page.at(-1);
    return ok({
      userId,
      unreadThreads,
      mentions,
      threads: page,
      next: candidates.length > page.length && last ? threadKey(last.channelId, last.threadId) : null,
    });
  }

  /** Every thread the user follows, sorted, with the totals (muted channels out of unreadThreads). */
  private followedThreads(userId: string): { states: ModelThreadState[] } & ModelThreadTotals {
    const states: ModelThreadState[] = [];
    let unreadThreads = 0;
    let mentions = 0;
    for (const channelId of this.channelIds()) {
      const channel = this.channels.get(channelId) as Channel;
      const muted = channel.members.get(userId)?.muted ?? false;
      for (const threadId of [...channel.threads.keys()].sort(compare)) {
        const thread = channel.threads.get(threadId) as Thread;
        const cursor = thread.followers.get(userId);
        if (!cursor) continue;
        const state = this.followerState(channelId, threadId, userId, channel, thread, cursor);
        states.push(state);
        if (state.unread > 0 && !muted) unreadThreads += 1;
        mentions += state.mentions;
      }
    }
    return { states, unreadThreads, mentions };
  }

  // ---- for the test -----------------------------------------------------------------------------

  /**
   * A copy of the state as it is now, to come back to with restore(): what a completed flush made
   * durable. The copy holds every channel (seqs, messages and replies with their mentions, deletions,
   * memberships, cursors with their stamps, mute settings, threads with their followers' cursors and
   * unfollow marks); user lists, lastReadMessageId, firstUnreadMessageId, totals and unread/mention
   * counts follow from those, and a deleted channel is one the copy lacks. The stamp counter is not
   * part of it.
   */
  snapshot(): ReadStateModel {
    const copy = new ReadStateModel();
    copyChannels(this.channels, copy.channels);
    return copy;
  }

  /**
   * Back to a snapshot's state: Redis lost everything after it. Stamps keep counting from where they
   * are, so a cursor changed again after the restore never reuses the stamp of a lost change.
   */
  restore(snapshot: ReadStateModel): void {
    copyChannels(snapshot.channels, this.channels);
  }

  /** How many cursor changes happened so far: stamps 1..stampCount exist. */
  get stampCount(): number {
    return this.stamps;
  }

  /** Every channel the model knows (live), sorted. */
  channelIds(): string[] {
    return [...this.channels.keys()].sort(compare);
  }

  /** The members of a live channel, sorted ([] for a missing channel). */
  memberIds(channelId: string): string[] {
    return [...(this.channels.get(channelId)?.members.keys() ?? [])].sort(compare);
  }

  /** The top-level messageIds of a live channel, in seq order ([] for a missing channel). */
  messageIds(channelId: string): string[] {
    return this.channels.get(channelId)?.bySeq.map((m) => m.messageId) ?? [];
  }

  /** Every messageId of a live channel, replies included, in posting order of each sequence. */
  allMessageIds(channelId: string): string[] {
    return [...(this.channels.get(channelId)?.byId.keys() ?? [])];
  }

  /** The threads of a live channel that have a reply or a follower, sorted by threadId. */
  threadIds(channelId: string): string[] {
    const threads = this.channels.get(channelId)?.threads ?? new Map<string, Thread>();
    return [...threads]
      .filter(([, t]) => visible(t))
      .map(([id]) => id)
      .sort(compare);
  }

  /** The replies of a thread, in seq order ([] when there is none). */
  replyIds(channelId: string, threadId: string): string[] {
    return (
      this.channels
        .get(channelId)
        ?.threads.get(threadId)
        ?.replies.map((m) => m.messageId) ?? []
    );
  }

  /** Every reply of a channel, whatever its thread. */
  allReplyIds(channelId: string): string[] {
    const channel = this.channels.get(channelId);
    return channel
      ? [...channel.byId.values()].filter((m) => m.threadId !== undefined).map((m) => m.messageId)
      : [];
  }

  /** The followers of a thread, sorted ([] when there is none). */
  followerIds(channelId: string, threadId: string): string[] {
    return [...(this.channels.get(channelId)?.threads.get(threadId)?.followers.keys() ?? [])].sort(compare);
  }

  /** The keys (channelId "|" threadId) of the threads a user follows, in the order userThreads lists them. */
  followedThreadKeys(userId: string): string[] {
    return this.followedThreads(userId).states.map((s) => threadKey(s.channelId, s.threadId));
  }
}

function postResult(channelId: string, message: Message, created: boolean): ModelPostResult {
  return {
    channelId,
    messageId: message.messageId,
    seq: message.seq,
    ...(message.threadId === undefined ? {} : { threadId: message.threadId }),
    created,
  };
}

/** Replaces `to`'s channels by copies of `from`'s; messages are never changed, so they are shared. */
function copyChannels(from: ReadonlyMap<string, Channel>, to: Map<string, Channel>): void {
  to.clear();
  for (const [channelId, channel] of from) {
    to.set(channelId, {
      seq: channel.seq,
      byId: new Map(channel.byId),
      bySeq: [...channel.bySeq],
      members: new Map([...channel.members].map(([userId, member]) => [userId, { ...member }])),
      deleted: new Set(channel.deleted),
      threads: new Map(
        [...channel.threads].map(([threadId, thread]) => [
          threadId,
          {
            seq: thread.seq,
            replies: [...thread.replies],
            followers: new Map([...thread.followers].map(([userId, cursor]) => [userId, { ...cursor }])),
            unfollowed: new Set(thread.unfollowed),
          },
        ]),
      ),
    });
  }
}
