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
}

export interface PostInput {
  messageId: string;
  senderId: string;
  mentions?: string[];
  mentionAll?: boolean;
}

export interface PostResult {
  channelId: string;
  messageId: string;
  seq: number;
  /** False when the messageId was posted before (idempotent repeat): HTTP answers 200 instead of 201. */
  created: boolean;
}

export interface UserUnread {
  userId: string;
  unread: number;
  mentions: number;
  channels: MemberState[];
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
}
