// The domain as API.md words it. Field names are the contract's, so the HTTP layer only translates.

/** One member's read state in one channel (API.md, "Member state"). */
export interface MemberState {
  channelId: string;
  userId: string;
  unread: number;
  mentions: number;
  readSeq: number;
  channelSeq: number;
  /** The messageId at readSeq; null when readSeq is 0 or the message is unknown. */
  lastReadMessageId: string | null;
  /** ISO-8601 server time of the last change of the cursor; null if it never changed. */
  lastReadAt: string | null;
  /** The oldest non-deleted message above readSeq ("jump to first unread"); null when unread is 0. */
  firstUnreadMessageId: string | null;
  /** Left out of the user's total unread (never out of mentions); false until set. */
  muted: boolean;
}

export interface PostInput {
  messageId: string;
  senderId: string;
  mentions?: string[];
  mentionAll?: boolean;
  /** A reply: the messageId of the thread's root (a top-level message of the channel). */
  threadId?: string;
}

export interface PostResult {
  channelId: string;
  messageId: string;
  seq: number;
  /** Set for a reply: the thread it belongs to (its seq is the thread's). Absent for a top-level message. */
  threadId?: string;
  /** False when the messageId was posted before (idempotent repeat): HTTP answers 200 instead of 201. */
  created: boolean;
}

export interface ThreadTotals {
  /** Followed threads with unread replies, leaving out those of muted channels. */
  unreadThreads: number;
  /** Mentions waiting in every followed thread, muted channels included. */
  mentions: number;
}

export interface UserUnread {
  userId: string;
  /** Sum over the channels, leaving out muted ones. */
  unread: number;
  /** Sum over every channel, muted ones included. */
  mentions: number;
  channels: MemberState[];
  threads: ThreadTotals;
}

/** One follower's read state in one thread: a member state over the thread's replies. */
export interface ThreadState {
  channelId: string;
  threadId: string;
  userId: string;
  unread: number;
  mentions: number;
  readSeq: number;
  threadSeq: number;
  lastReadMessageId: string | null;
  lastReadAt: string | null;
  firstUnreadMessageId: string | null;
}

export interface ThreadInfo {
  channelId: string;
  threadId: string;
  threadSeq: number;
  followerCount: number;
  /** The newest non-deleted reply, or null. */
  lastMessageId: string | null;
}

export interface UserThreadsQuery {
  /** 1–1000, default 100. */
  limit?: number;
  /** The `next` of the previous page (opaque). */
  after?: string;
}

export interface UserThreads extends ThreadTotals {
  userId: string;
  /** One page, sorted by channelId then threadId. */
  threads: ThreadState[];
  /** Pass as `after` for the next page; null on the last page. */
  next: string | null;
}

export interface ChannelInfo {
  channelId: string;
  channelSeq: number;
  memberCount: number;
  lastMessageId: string | null;
}

export interface ReceiptsQuery {
  /** 1–1000, default 100. */
  limit?: number;
  /** The last userId of the previous page. */
  after?: string;
}

export interface Receipts {
  channelId: string;
  messageId: string;
  seq: number;
  memberCount: number;
  readCount: number;
  readers: { userId: string; readSeq: number }[];
  /** The last userId of this page while more readers remain, else null. */
  next: string | null;
}

export interface FlushResult {
  /** Rows written to PostgreSQL by this flush. */
  flushed: number;
  /** Channels still dirty when it returned (changed meanwhile). */
  remaining: number;
}

export interface SyncStatus {
  /** Channels with state not yet written to PostgreSQL. */
  dirty: number;
  oldestDirtyAgeMs: number;
  lastFlushAt: string | null;
  lastFlushRows: number;
  lastFlushMs: number;
  /** Extension: writes are being refused so that the worker catches up (backpressure). */
  shedding: boolean;
  /** Extension: the oldest dirty age past which writes are refused while flushes succeed. */
  backpressureAgeMs: number;
}

/** A live event's data when the user left the channel, or the channel was deleted. */
export interface LeftChannel {
  channelId: string;
  userId: string;
  left: true;
}

/** A live event's data when the user stopped following the thread (unfollow, or a leave). */
export interface UnfollowedThread {
  channelId: string;
  threadId: string;
  userId: string;
  unfollowed: true;
}

/**
 * One event of a user's live stream (API.md, "Live events"), as GET /v1/users/{userId}/events
 * sends it. `id`: every change before it has been delivered on this subscription; pass the last one
 * seen as `lastEventId` to resume.
 */
export type LiveEvent =
  | { id: string; event: "snapshot"; data: UserUnread }
  | { id: string; event: "member"; data: MemberState | LeftChannel }
  | { id: string; event: "thread"; data: ThreadState | UnfollowedThread };

export type LiveEventName = LiveEvent["event"];

export interface SubscribeOptions {
  /**
   * The id of the last event received on an earlier subscription (SSE's Last-Event-ID). If this
   * instance still holds every event after it, those come first instead of a snapshot; otherwise
   * (another instance's id, an old one, anything unrecognised) the subscription starts with a
   * snapshot as usual.
   */
  lastEventId?: string;
  /**
   * Called once if the engine ends the subscription itself: it is closing ("closing"). Not called
   * after the caller's own unsubscribe.
   */
  onEnd?: (reason: "closing") => void;
}

/** Ends a subscription; idempotent. */
export type Unsubscribe = () => void;

/** The read-state engine: every operation of API.md, in process. */
export interface ReadState {
  join(channelId: string, userId: string): Promise<MemberState>;
  leave(channelId: string, userId: string): Promise<void>;
  post(channelId: string, message: PostInput): Promise<PostResult>;
  markRead(channelId: string, userId: string, messageId?: string): Promise<MemberState>;
  markUnread(channelId: string, userId: string, messageId: string): Promise<MemberState>;
  memberState(channelId: string, userId: string): Promise<MemberState>;
  userUnread(userId: string): Promise<UserUnread>;
  channelInfo(channelId: string): Promise<ChannelInfo>;
  receipts(channelId: string, messageId: string, query?: ReceiptsQuery): Promise<Receipts>;
  deleteChannel(channelId: string): Promise<void>;
  /** Deletes a message (or reply): it keeps its seq but no longer counts. Idempotent. */
  deleteMessage(channelId: string, messageId: string): Promise<void>;
  setMuted(channelId: string, userId: string, muted: boolean): Promise<MemberState>;
  /**
   * Marks every listed channel (every channel of the user when omitted) read to its newest message;
   * a listed channel the user is not a member of is left alone. Answers as userUnread after it.
   */
  markAllRead(userId: string, channelIds?: string[]): Promise<UserUnread>;
  follow(channelId: string, threadId: string, userId: string): Promise<ThreadState>;
  unfollow(channelId: string, threadId: string, userId: string): Promise<void>;
  threadState(channelId: string, threadId: string, userId: string): Promise<ThreadState>;
  markThreadRead(
    channelId: string,
    threadId: string,
    userId: string,
    messageId?: string,
  ): Promise<ThreadState>;
  markThreadUnread(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string,
  ): Promise<ThreadState>;
  threadInfo(channelId: string, threadId: string): Promise<ThreadInfo>;
  userThreads(userId: string, query?: UserThreadsQuery): Promise<UserThreads>;
  /**
   * The user's live events, from every instance (API.md, "Live events"): resolves once the first
   * event (a `snapshot`, or the missed events of a resumed subscription) was handed to `onEvent`;
   * then a `member` or `thread` event for every change of the user's state, coalesced to at most
   * one per channel (or thread) every 250 ms. `onEvent` is called synchronously and must not throw.
   * Rejects with `unavailable` (Retry-After) past the instance's stream limit, or while the change
   * feed cannot be reached.
   */
  subscribe(
    userId: string,
    onEvent: (event: LiveEvent) => void,
    options?: SubscribeOptions,
  ): Promise<Unsubscribe>;
  /** Writes everything dirty at the time of the call to PostgreSQL before it resolves. */
  flush(): Promise<FlushResult>;
  syncStatus(): Promise<SyncStatus>;
  /** Flushes, stops the worker and closes the connections. Idempotent. */
  close(): Promise<void>;
}

/** What /readyz reports: each dependency's verdict, with a reason a person can act on. */
export interface Readiness {
  ready: boolean;
  redis: { ok: boolean; reason?: string };
  postgres: { ok: boolean; reason?: string };
  schema: { ok: boolean; reason?: string };
}

/** One flush batch, as the worker reports it (for metrics and logs). */
export interface FlushReport {
  rows: number;
  channels: number;
  ms: number;
  /**
   * Channels the fence refused: claimed from a copy that was loaded again before the batch
   * committed (Redis lost its data, or the channel expired and came back). Not written, not cleared.
   */
  fenced: number;
}

export interface EngineEvents {
  flush: [FlushReport];
  flushError: [Error];
  redisError: [Error];
  postgresError: [Error];
  /**
   * A live event reached `subscriptions` subscriptions; `lagMs`: from the publication of the oldest
   * change it carries (Redis time) to its delivery, null for snapshots and resumed events.
   */
  liveDelivered: [event: LiveEventName, subscriptions: number, lagMs: number | null];
  /** Changes folded into an event already due (coalescing). */
  liveCoalesced: [changes: number];
  /** Every subscription gets a fresh snapshot: the change feed broke and is back, or Redis lost its data. */
  liveResync: [reason: "reconnected" | "data_lost"];
  /**
   * A post answered 503 had reached Redis and run there all the same (its reply was lost or late),
   * and was retracted: the 503 holds (src/redis/retractions.ts).
   */
  postRetracted: [channelId: string, messageId: string];
  /** A post answered 503 whose outcome could not be settled (`why`): it may have been applied. */
  postUnresolved: [channelId: string, messageId: string, why: string];
}
