// What the service needs from its two stores. Redis and PostgreSQL details stay in their adapters.
import type { ChannelInfo, PostInput, Receipts, ThreadInfo } from "./types.js";

/** A member's state as the hot store computes it; the service adds IDs and formats the time. */
export interface RawMemberState {
  readSeq: number;
  channelSeq: number;
  unread: number;
  mentions: number;
  lastReadMessageId: string | null;
  lastReadAtMs: number | null;
  firstUnreadMessageId: string | null;
  muted: boolean;
}

/** A follower's state in one thread as the hot store computes it. */
export interface RawThreadState {
  readSeq: number;
  threadSeq: number;
  unread: number;
  mentions: number;
  lastReadMessageId: string | null;
  lastReadAtMs: number | null;
  firstUnreadMessageId: string | null;
}

/** One user's state in one channel, with every thread they follow there (sorted by threadId). */
export interface RawUserChannel {
  state: RawMemberState;
  threads: { threadId: string; state: RawThreadState }[];
}

/** Everything PostgreSQL holds of one channel: enough to rebuild its cache exactly. */
export interface ChannelSnapshot {
  channelId: string;
  seq: number;
  lastMessageId: string | null;
  live: boolean;
  /** Highest version written for the channel or any of its rows: new changes continue above it. */
  version: number;
  /** Version of the last delete; rows older than it belong to an earlier incarnation. */
  resetVersion: number;
  /**
   * The fencing generation this load took in PostgreSQL (docs/DESIGN.md, "Fencing"); 0 with
   * `fenced: false` for a channel PostgreSQL has never seen, loaded for a read.
   */
  generation: number;
  /** False: loaded without a generation, so nothing may be written to it before a fenced load. */
  fenced: boolean;
  members: {
    userId: string;
    readSeq: number;
    lastReadAtMs: number | null;
    lastReadMessageId: string | null;
    muted: boolean;
  }[];
  /** Replies carry their thread's root in threadId and the thread's seq in seq. */
  messages: {
    messageId: string;
    seq: number;
    threadId: string | null;
    senderId: string;
    mentions: string[];
    mentionAll: boolean;
    deleted: boolean;
  }[];
  /** Users following a thread, and users who unfollowed one (following: false). */
  followers: ThreadFollower[];
}

export interface ThreadFollower {
  threadId: string;
  userId: string;
  following: boolean;
  readSeq: number;
  lastReadAtMs: number | null;
  lastReadMessageId: string | null;
}

/**
 * Raised by the hot store when a channel is not cached: load it from the cold store, then retry.
 * `fence`: the channel is cached only as "absent, unfenced" and the operation would create it, so
 * the load must take a generation in PostgreSQL first.
 */
export class ChannelNotLoaded extends Error {
  constructor(
    readonly channelId: string,
    readonly fence = false,
  ) {
    super(`channel ${channelId} is not loaded`);
    this.name = "ChannelNotLoaded";
  }
}

/** The write store (Redis): one atomic script per operation. */
export interface HotStore {
  join(channelId: string, userId: string): Promise<{ joined: boolean; state: RawMemberState }>;
  leave(channelId: string, userId: string): Promise<void>;
  /** A reply when message.threadId is set. `threadId`: what the messageId was first posted as. */
  post(
    channelId: string,
    message: PostInput,
  ): Promise<{ created: boolean; seq: number; threadId: string | null }>;
  deleteMessage(channelId: string, messageId: string): Promise<void>;
  setMuted(channelId: string, userId: string, muted: boolean): Promise<RawMemberState>;
  follow(channelId: string, threadId: string, userId: string): Promise<RawThreadState>;
  unfollow(channelId: string, threadId: string, userId: string): Promise<void>;
  threadState(channelId: string, threadId: string, userId: string): Promise<RawThreadState>;
  markThreadRead(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string | undefined,
  ): Promise<RawThreadState>;
  markThreadUnread(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string,
  ): Promise<RawThreadState>;
  threadInfo(channelId: string, threadId: string): Promise<Omit<ThreadInfo, "channelId" | "threadId">>;
  markRead(channelId: string, userId: string, messageId: string | undefined): Promise<RawMemberState>;
  markUnread(channelId: string, userId: string, messageId: string): Promise<RawMemberState>;
  memberState(channelId: string, userId: string): Promise<RawMemberState>;
  /**
   * One user's state in many channels, with their followed threads, in few round trips; a channel
   * not cached comes back "not_loaded".
   */
  memberStates(
    userId: string,
    channelIds: string[],
  ): Promise<Map<string, RawUserChannel | "not_loaded" | "not_a_member">>;
  channelInfo(channelId: string): Promise<Omit<ChannelInfo, "channelId">>;
  receipts(
    channelId: string,
    messageId: string,
    limit: number,
    after: string,
  ): Promise<Omit<Receipts, "channelId" | "messageId">>;
  deleteChannel(channelId: string): Promise<void>;
  /**
   * Takes the channel's load lease (one loader at a time across every instance). "loaded": nothing
   * to do; "busy": another loader holds the lease; "go": read the snapshot, then installLoad.
   */
  beginLoad(channelId: string, token: string, fence: boolean): Promise<"loaded" | "busy" | "go">;
  /**
   * Puts a snapshot in place if this loader still holds the lease; false when the lease was lost
   * (it expired, or Redis lost its data): the snapshot may be outdated and is dropped.
   */
  installLoad(snapshot: ChannelSnapshot, token: string): Promise<boolean>;
  /** Gives the lease back after a failed load. */
  abortLoad(channelId: string, token: string): Promise<void>;
  /**
   * The user's channel list. `complete`: merged with the cold store's list when every earlier join
   * had been flushed, so it lacks none. `mergedAt`: the pending mark of a merge made without that
   * guarantee (Redis time; null if none).
   */
  userChannels(userId: string): Promise<{ channelIds: string[]; complete: boolean; mergedAt: number | null }>;
  addUserChannel(userId: string, channelId: string): Promise<void>;
  /**
   * Adds the cold store's list. `complete`: every change made before the pending mark `mergedAt`
   * was flushed before the cold store was read; completes the list if that mark is still there,
   * else leaves a new pending mark.
   */
  mergeUserChannels(
    userId: string,
    channelIds: string[],
    merge: { complete: boolean; mergedAt: number | null },
  ): Promise<void>;
  /**
   * Whether every change made before `timeMs` (Redis time) has been written to the cold store, as
   * the write-behind worker last saw it (false while no worker has said so).
   */
  flushedBefore(timeMs: number): Promise<boolean>;
  /**
   * Tells the user's live streams, on every instance, that the user joined or left a channel (the
   * channel's own feed reaches only instances already listening to that channel).
   */
  publishUserChange(userId: string, op: UserChangeOp, channelId: string): Promise<void>;
}

/** The write operations, as each names itself on its channel's feed. */
export type ChannelChangeOp =
  | "join"
  | "leave"
  | "post"
  | "reply"
  | "mark_read"
  | "mark_unread"
  | "mute"
  | "delete_message"
  | "delete_channel"
  | "follow"
  | "unfollow"
  | "thread_read"
  | "thread_unread";

export type UserChangeOp = "join" | "leave";

/** One change of a channel, as its feed tells it (published by the script that made it). */
export interface ChannelChange {
  channelId: string;
  op: ChannelChangeOp;
  /**
   * The member it concerns; empty when it concerns every member (post, delete_message,
   * delete_channel) or every follower (reply: these are the users the reply made followers).
   */
  users: string[];
  /** The thread it concerns ('' none); a leave lists the threads the user stopped following. */
  threads: string[];
  /** When it was published, in Redis's time (ms). */
  publishedAt: number;
}

/** A user joined or left a channel (published by the service right after the change). */
export interface UserChange {
  userId: string;
  op: UserChangeOp;
  channelId: string;
  publishedAt: number;
}

/** What the change feed tells its listener. */
export interface FeedListener {
  channelChanged(change: ChannelChange): void;
  userChanged(change: UserChange): void;
  /**
   * Changes may have been missed: the subscription broke and is back ("reconnected"), or the store
   * lost its data ("data_lost"). Every stream needs a fresh snapshot.
   */
  resync(reason: "reconnected" | "data_lost"): void;
}

/**
 * The change feed (Redis sharded pub/sub): one subscription per instance, to the feeds of the
 * channels and users its live streams need. The caller counts references; each channel or user is
 * listened to once and forgotten once.
 */
export interface ChangeFeed {
  /** Connects and starts telling `listener`; idempotent. */
  start(listener: FeedListener): Promise<void>;
  /** Resolves once the store confirmed: every change published from then on arrives. */
  listenChannels(channelIds: string[]): Promise<void>;
  forgetChannels(channelIds: string[]): void;
  listenUsers(userIds: string[]): Promise<void>;
  forgetUsers(userIds: string[]): void;
  /** The store's time now (ms) as this instance estimates it: the clock of `publishedAt`. */
  now(): number;
  close(): Promise<void>;
}

/** The durable store (PostgreSQL), as the service reads it on a cache miss. */
export interface ColdStore {
  /**
   * Reads the channel and, in the same transaction, takes the next fencing generation: no flush
   * claimed from an earlier copy of the channel can commit after this. `fence: false` leaves a
   * channel PostgreSQL has never seen without a row (a read of an unknown channel writes nothing).
   */
  loadChannel(channelId: string, fence: boolean): Promise<ChannelSnapshot>;
  userChannels(userId: string): Promise<string[]>;
}

/** What one claim read of a dirty channel: absolute values with versions, never deltas. */
export interface ChannelChanges {
  channelId: string;
  seq: number;
  lastMessageId: string | null;
  live: boolean;
  /** Version of the channel at the claim: the channel row's version. */
  version: number;
  /** Fencing generation of the Redis copy the claim read. */
  generation: number;
  resetVersion: number;
  /** The channel was deleted since the last flush: older rows must go. */
  resetPending: boolean;
  claimedAtMs: number;
  /** Every dirty entry fit in the claim's row budget. */
  complete: boolean;
  /** Version of the last change to the channel's own row (seq, last message, live, reset). */
  rowVersion: number;
  /** The channel's own row changed since it was last written; cursor moves alone leave it as is. */
  rowDirty: boolean;
  /** readSeq null: the member left (written as a tombstone). */
  members: {
    userId: string;
    readSeq: number | null;
    lastReadAtMs: number | null;
    lastReadMessageId: string | null;
    muted: boolean;
    version: number;
  }[];
  /** Thread entries: following, unfollowed, or neither (dropped by a leave: a tombstone). */
  followers: {
    threadId: string;
    userId: string;
    following: boolean;
    unfollowed: boolean;
    readSeq: number;
    lastReadAtMs: number | null;
    lastReadMessageId: string | null;
    version: number;
  }[];
  messages: {
    messageId: string;
    seq: number;
    threadId: string | null;
    senderId: string;
    mentions: string[];
    mentionAll: boolean;
    deleted: boolean;
    version: number;
  }[];
}
