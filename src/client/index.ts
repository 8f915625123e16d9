// readstate/client: a typed client of readstate's HTTP API (docs/API.md) over Node's fetch.
// No run-time imports from the server: the contract's types come in with `import type` only.
//
// Retries. A 503 "applied nothing" (API.md, promise 8), so every call is retried on 503, waiting
// what `Retry-After` says (else an exponential backoff), with jitter, up to `retries` more times.
// A 4xx is never retried, nor a 500 (outside the contract: it may have applied). After a network
// error or a timeout the request may or may not have been applied; it is retried only when applying
// it twice is the same as once: reads, join, post (idempotent per messageId), read/unread, mute,
// follow, thread read/unread, delete message, mark all read (the contract calls a repeat safe),
// tokens, flush. Not retried then: leave, unfollow and delete channel — a repeat of one that did
// apply answers 404, and could undo a join, follow or fresh channel made meanwhile by another
// caller; a batch is retried only when each of its ops is retry-safe.
import type {
  ChannelInfo,
  FlushResult,
  LeftChannel,
  LiveEvent,
  MemberState,
  PostInput,
  PostResult,
  Readiness,
  Receipts,
  ReceiptsQuery,
  SyncStatus,
  ThreadInfo,
  ThreadState,
  UnfollowedThread,
  UserThreads,
  UserThreadsQuery,
  UserUnread,
} from "../core/types.js";
import type { StatsReport } from "../http/stats.js";
import { SseParser } from "./sse.js";

export type {
  ChannelInfo,
  FlushResult,
  LeftChannel,
  LiveEvent,
  MemberState,
  PostInput,
  PostResult,
  Readiness,
  Receipts,
  ReceiptsQuery,
  StatsReport,
  SyncStatus,
  ThreadInfo,
  ThreadState,
  UnfollowedThread,
  UserThreads,
  UserThreadsQuery,
  UserUnread,
};

/** The contract's error codes (API.md, "Errors"), plus the client's own for failures without an answer. */
export type ErrorCode =
  | "validation_failed"
  | "unauthorized"
  | "not_found"
  | "not_a_member"
  | "unknown_message"
  | "not_following"
  | "payload_too_large"
  | "unavailable"
  | "internal_error"
  /** Client-side: no HTTP answer (connection refused or cut, timeout); `status` is 0. */
  | "network_error"
  /** Client-side: an answer outside the contract (not JSON, no error body). */
  | "bad_response";

export class ReadStateClientError extends Error {
  readonly code: ErrorCode;
  /** The HTTP status, 0 when there was no answer. */
  readonly status: number;
  /** Seconds, from the answer's `Retry-After`, when it had one. */
  readonly retryAfterSeconds: number | undefined;
  /** The answer's `x-request-id`, to find the server's log line. */
  readonly requestId: string | undefined;

  constructor(
    code: ErrorCode,
    status: number,
    message: string,
    options: { cause?: unknown; retryAfterSeconds?: number | undefined; requestId?: string | undefined } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "ReadStateClientError";
    this.code = code;
    this.status = status;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.requestId = options.requestId;
  }
}

export function isReadStateClientError(err: unknown): err is ReadStateClientError {
  return err instanceof ReadStateClientError;
}

export interface ClientOptions {
  /** e.g. "http://127.0.0.1:8080" */
  baseUrl: string;
  /** The service token (READSTATE_API_TOKEN), sent as `Authorization: Bearer`. */
  token?: string | undefined;
  /** Per attempt; default 10000. */
  timeoutMs?: number;
  /** Further attempts after the first (503, and network errors of retry-safe calls); default 3. */
  retries?: number;
  /** Upper bound of one wait between attempts, ms; default 30000. */
  maxDelayMs?: number;
}

export interface CallOptions {
  signal?: AbortSignal;
}

// ---- batch -----------------------------------------------------------------------------------

export const MAX_BATCH_OPS = 1000;

export type BatchOp =
  | { op: "join"; channelId: string; userId: string }
  | { op: "leave"; channelId: string; userId: string }
  | ({ op: "post"; channelId: string } & PostInput)
  | { op: "read"; channelId: string; userId: string; messageId?: string }
  | { op: "unread"; channelId: string; userId: string; messageId: string }
  | { op: "deleteMessage"; channelId: string; messageId: string }
  | { op: "mute"; channelId: string; userId: string; muted: boolean }
  | { op: "follow"; channelId: string; threadId: string; userId: string }
  | { op: "unfollow"; channelId: string; threadId: string; userId: string }
  | { op: "threadRead"; channelId: string; threadId: string; userId: string; messageId?: string }
  | { op: "threadUnread"; channelId: string; threadId: string; userId: string; messageId: string }
  | { op: "state"; channelId: string; userId: string }
  | { op: "userUnread"; userId: string };

export type BatchOpName = BatchOp["op"];

/** What a successful op answers, by op (API.md, "Batch"). */
export interface BatchOpResults {
  join: MemberState;
  leave: Record<never, never>;
  post: PostResult;
  read: MemberState;
  unread: MemberState;
  deleteMessage: Record<never, never>;
  mute: MemberState;
  follow: ThreadState;
  unfollow: Record<never, never>;
  threadRead: ThreadState;
  threadUnread: ThreadState;
  state: MemberState;
  userUnread: UserUnread;
}

export type BatchError = { ok: false; error: { code: ErrorCode; message: string } };
export type BatchResult<Op extends BatchOp = BatchOp> =
  | ({ ok: true } & BatchOpResults[Op["op"]])
  | BatchError;
/** The results of a tuple (or array) of ops, position by position. */
export type BatchResults<Ops extends readonly BatchOp[]> = { [K in keyof Ops]: BatchResult<Ops[K]> };

/** Typed builders of batch ops: `ops.post("general", { messageId: "m1", senderId: "bob" })`. */
export const ops = {
  join: (channelId: string, userId: string) => ({ op: "join", channelId, userId }) as const,
  leave: (channelId: string, userId: string) => ({ op: "leave", channelId, userId }) as const,
  post: (channelId: string, message: PostInput) => ({ op: "post", channelId, ...message }) as const,
  read: (channelId: string, userId: string, messageId?: string) =>
    ({ op: "read", channelId, userId, ...(messageId === undefined ? {} : { messageId }) }) as const,
  unread: (channelId: string, userId: string, messageId: string) =>
    ({ op: "unread", channelId, userId, messageId }) as const,
  deleteMessage: (channelId: string, messageId: string) =>
    ({ op: "deleteMessage", channelId, messageId }) as const,
  mute: (channelId: string, userId: string, muted: boolean) =>
    ({ op: "mute", channelId, userId, muted }) as const,
  follow: (channelId: string, threadId: string, userId: string) =>
    ({ op: "follow", channelId, threadId, userId }) as const,
  unfollow: (channelId: string, threadId: string, userId: string) =>
    ({ op: "unfollow", channelId, threadId, userId }) as const,
  threadRead: (channelId: string, threadId: string, userId: string, messageId?: string) =>
    ({
      op: "threadRead",
      channelId,
      threadId,
      userId,
      ...(messageId === undefined ? {} : { messageId }),
    }) as const,
  threadUnread: (channelId: string, threadId: string, userId: string, messageId: string) =>
    ({ op: "threadUnread", channelId, threadId, userId, messageId }) as const,
  state: (channelId: string, userId: string) => ({ op: "state", channelId, userId }) as const,
  userUnread: (userId: string) => ({ op: "userUnread", userId }) as const,
} satisfies { [K in BatchOpName]: (...args: never[]) => Extract<BatchOp, { op: K }> };

/** Splits ops into requests of at most `size` (default 1000, the contract's limit), in order. */
export function chunkOps<T>(list: readonly T[], size = MAX_BATCH_OPS): T[][] {
  if (!(size >= 1)) throw new RangeError("chunk size must be at least 1");
  const chunks: T[][] = [];
  for (let i = 0; i < list.length; i += size) chunks.push(list.slice(i, i + size));
  return chunks;
}

/** Ops that may be sent again after a network error: applying them twice is applying them once. */
const REPLAY_UNSAFE_OPS: ReadonlySet<BatchOpName> = new Set(["leave", "unfollow"]);

// ---- live events -----------------------------------------------------------------------------

export interface EventsOptions {
  signal?: AbortSignal;
  /** Resume after this event id (sent as `Last-Event-ID` on the first connection). */
  lastEventId?: string;
  /**
   * The bearer token of the stream: the client's service token by default, or a user token
   * (`createUserToken`); a function is called on every (re)connection, so it can fetch a fresh one.
   */
  token?: string | (() => string | Promise<string>);
  /** Wait before reconnecting when the server sent no `retry:`, ms (default 1000, with jitter). */
  reconnectDelayMs?: number;
  /** Called when a connection is lost and before the next one is made (for logs and tests). */
  onReconnect?: (info: { attempt: number; lastEventId: string | undefined; error?: unknown }) => void;
}

// ---- the client --------------------------------------------------------------------------------

type Method = "GET" | "PUT" | "POST" | "PATCH" | "DELETE";

interface RequestSpec {
  method: Method;
  path: string;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Safe to send again after a network error or timeout (see the top of this file). */
  replaySafe: boolean;
  /** Statuses answered with their JSON body instead of an error (readyz's 503). */
  acceptStatus?: number[];
  signal?: AbortSignal | undefined;
}

const seg = encodeURIComponent;

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** `Retry-After` as seconds (a number, or an HTTP date), or undefined. */
export function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - Date.now()) / 1000);
}

export class ReadStateClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #maxDelayMs: number;

  constructor(options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, "");
    this.#token = options.token;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = Math.max(0, options.retries ?? 3);
    this.#maxDelayMs = options.maxDelayMs ?? 30_000;
  }

  /** The wait before attempt `attempt + 1`: Retry-After plus up to 20% jitter, else full-jitter backoff. */
  #delay(attempt: number, retryAfterSeconds: number | undefined): number {
    const ms =
      retryAfterSeconds === undefined
        ? Math.random() * Math.min(this.#maxDelayMs, 100 * 2 ** attempt)
        : retryAfterSeconds * 1000 * (1 + Math.random() * 0.2);
    return Math.min(this.#maxDelayMs, ms);
  }

  #url(path: string, query?: Record<string, string | number | undefined>): string {
    const url = new URL(this.baseUrl + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    return url.toString();
  }

  async #request<T>(spec: RequestSpec): Promise<{ status: number; body: T; headers: Headers }> {
    const headers: Record<string, string> = { accept: "application/json" };
    if (this.#token !== undefined) headers.authorization = `Bearer ${this.#token}`;
    if (spec.body !== undefined) headers["content-type"] = "application/json";
    const url = this.#url(spec.path, spec.query);
    for (let attempt = 0; ; attempt++) {
      const signals = [AbortSignal.timeout(this.#timeoutMs)];
      if (spec.signal) signals.push(spec.signal);
      let response: Response;
      let text: string;
      try {
        response = await fetch(url, {
          method: spec.method,
          headers,
          ...(spec.body === undefined ? {} : { body: JSON.stringify(spec.body) }),
          signal: AbortSignal.any(signals),
        });
        text = await response.text();
      } catch (cause) {
        if (spec.signal?.aborted) throw spec.signal.reason;
        if (spec.replaySafe && attempt < this.#retries) {
          await sleep(this.#delay(attempt, undefined), spec.signal);
          continue;
        }
        const timedOut = cause instanceof Error && cause.name === "TimeoutError";
        throw new ReadStateClientError(
          "network_error",
          0,
          `${spec.method} ${url}: ${timedOut ? `no answer within ${this.#timeoutMs} ms` : String((cause as Error)?.message ?? cause)}`,
          { cause },
        );
      }
      const requestId = response.headers.get("x-request-id") ?? undefined;
      const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
      let body: unknown;
      try {
        body = text === "" ? undefined : JSON.parse(text);
      } catch {
        body = text;
      }
      if (response.ok || spec.acceptStatus?.includes(response.status)) {
        return { status: response.status, body: body as T, headers: response.headers };
      }
      if (response.status === 503 && attempt < this.#retries) {
        await sleep(this.#delay(attempt, retryAfterSeconds), spec.signal);
        continue;
      }
      const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
      if (error && typeof error.code === "string") {
        throw new ReadStateClientError(
          error.code as ErrorCode,
          response.status,
          String(error.message ?? ""),
          {
            retryAfterSeconds,
            requestId,
          },
        );
      }
      throw new ReadStateClientError(
        response.status === 503 ? "unavailable" : "bad_response",
        response.status,
        `${spec.method} ${url}: HTTP ${response.status} without an error body`,
        { retryAfterSeconds, requestId },
      );
    }
  }

  async #json<T>(spec: RequestSpec): Promise<T> {
    return (await this.#request<T>(spec)).body;
  }

  async #none(spec: RequestSpec): Promise<void> {
    await this.#request<undefined>(spec);
  }

  // ---- members ----

  join(channelId: string, userId: string, o: CallOptions = {}): Promise<MemberState> {
    return this.#json({
      method: "PUT",
      path: `/v1/channels/${seg(channelId)}/members/${seg(userId)}`,
      replaySafe: true,
      signal: o.signal,
    });
  }

  leave(channelId: string, userId: string, o: CallOptions = {}): Promise<void> {
    return this.#none({
      method: "DELETE",
      path: `/v1/channels/${seg(channelId)}/members/${seg(userId)}`,
      replaySafe: false,
      signal: o.signal,
    });
  }

  memberState(channelId: string, userId: string, o: CallOptions = {}): Promise<MemberState> {
    return this.#json({
      method: "GET",
      path: `/v1/channels/${seg(channelId)}/members/${seg(userId)}`,
      replaySafe: true,
      signal: o.signal,
    });
  }

  setMuted(channelId: string, userId: string, muted: boolean, o: CallOptions = {}): Promise<MemberState> {
    return this.#json({
      method: "PATCH",
      path: `/v1/channels/${seg(channelId)}/members/${seg(userId)}`,
      body: { muted },
      replaySafe: true,
      signal: o.signal,
    });
  }

  markRead(channelId: string, userId: string, messageId?: string, o: CallOptions = {}): Promise<MemberState> {
    return this.#json({
      method: "POST",
      path: `/v1/channels/${seg(channelId)}/read`,
      body: messageId === undefined ? { userId } : { userId, messageId },
      replaySafe: true,
      signal: o.signal,
    });
  }

  markUnread(
    channelId: string,
    userId: string,
    messageId: string,
    o: CallOptions = {},
  ): Promise<MemberState> {
    return this.#json({
      method: "POST",
      path: `/v1/channels/${seg(channelId)}/unread`,
      body: { userId, messageId },
      replaySafe: true,
      signal: o.signal,
    });
  }

  // ---- messages and channels ----

  /** A message, or a reply with `threadId`. `created` is false for a repeat of a known messageId. */
  post(channelId: string, message: PostInput, o: CallOptions = {}): Promise<PostResult> {
    return this.#json({
      method: "POST",
      path: `/v1/channels/${seg(channelId)}/messages`,
      body: message,
      replaySafe: true,
      signal: o.signal,
    });
  }

  deleteMessage(channelId: string, messageId: string, o: CallOptions = {}): Promise<void> {
    return this.#none({
      method: "DELETE",
      path: `/v1/channels/${seg(channelId)}/messages/${seg(messageId)}`,
      replaySafe: true,
      signal: o.signal,
    });
  }

  channelInfo(channelId: string, o: CallOptions = {}): Promise<ChannelInfo> {
    return this.#json({
      method: "GET",
      path: `/v1/channels/${seg(channelId)}`,
      replaySafe: true,
      signal: o.signal,
    });
  }

  receipts(
    channelId: string,
    messageId: string,
    query: ReceiptsQuery = {},
    o: CallOptions = {},
  ): Promise<Receipts> {
    return this.#json({
      method: "GET",
      path: `/v1/channels/${seg(channelId)}/messages/${seg(messageId)}/receipts`,
      query: { limit: query.limit, after: query.after },
      replaySafe: true,
      signal: o.signal,
    });
  }

  deleteChannel(channelId: string, o: CallOptions = {}): Promise<void> {
    return this.#none({
      method: "DELETE",
      path: `/v1/channels/${seg(channelId)}`,
      replaySafe: false,
      signal: o.signal,
    });
  }

  // ---- threads ----

  #follower(channelId: string, threadId: string, userId: string): string {
    return `/v1/channels/${seg(channelId)}/threads/${seg(threadId)}/followers/${seg(userId)}`;
  }

  follow(channelId: string, threadId: string, userId: string, o: CallOptions = {}): Promise<ThreadState> {
    return this.#json({
      method: "PUT",
      path: this.#follower(channelId, threadId, userId),
      replaySafe: true,
      signal: o.signal,
    });
  }

  unfollow(channelId: string, threadId: string, userId: string, o: CallOptions = {}): Promise<void> {
    return this.#none({
      method: "DELETE",
      path: this.#follower(channelId, threadId, userId),
      replaySafe: false,
      signal: o.signal,
    });
  }

  threadState(
    channelId: string,
    threadId: string,
    userId: string,
    o: CallOptions = {},
  ): Promise<ThreadState> {
    return this.#json({
      method: "GET",
      path: this.#follower(channelId, threadId, userId),
      replaySafe: true,
      signal: o.signal,
    });
  }

  markThreadRead(
    channelId: string,
    threadId: string,
    userId: string,
    messageId?: string,
    o: CallOptions = {},
  ): Promise<ThreadState> {
    return this.#json({
      method: "POST",
      path: `/v1/channels/${seg(channelId)}/threads/${seg(threadId)}/read`,
      body: messageId === undefined ? { userId } : { userId, messageId },
      replaySafe: true,
      signal: o.signal,
    });
  }

  markThreadUnread(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string,
    o: CallOptions = {},
  ): Promise<ThreadState> {
    return this.#json({
      method: "POST",
      path: `/v1/channels/${seg(channelId)}/threads/${seg(threadId)}/unread`,
      body: { userId, messageId },
      replaySafe: true,
      signal: o.signal,
    });
  }

  threadInfo(channelId: string, threadId: string, o: CallOptions = {}): Promise<ThreadInfo> {
    return this.#json({
      method: "GET",
      path: `/v1/channels/${seg(channelId)}/threads/${seg(threadId)}`,
      replaySafe: true,
      signal: o.signal,
    });
  }

  // ---- users ----

  userUnread(userId: string, o: CallOptions = {}): Promise<UserUnread> {
    return this.#json({
      method: "GET",
      path: `/v1/users/${seg(userId)}/unread`,
      replaySafe: true,
      signal: o.signal,
    });
  }

  /** Every channel of the user, or only `channelIds`, read to the newest message. */
  markAllRead(userId: string, channelIds?: string[], o: CallOptions = {}): Promise<UserUnread> {
    return this.#json({
      method: "POST",
      path: `/v1/users/${seg(userId)}/read`,
      body: channelIds === undefined ? {} : { channelIds },
      replaySafe: true,
      signal: o.signal,
    });
  }

  userThreads(userId: string, query: UserThreadsQuery = {}, o: CallOptions = {}): Promise<UserThreads> {
    return this.#json({
      method: "GET",
      path: `/v1/users/${seg(userId)}/threads`,
      query: { limit: query.limit, after: query.after },
      replaySafe: true,
      signal: o.signal,
    });
  }

  /** A token that opens this user's event stream only (for a browser's EventSource). */
  createUserToken(userId: string, o: CallOptions = {}): Promise<{ token: string; expiresAt: string }> {
    return this.#json({
      method: "POST",
      path: `/v1/users/${seg(userId)}/tokens`,
      replaySafe: true,
      signal: o.signal,
    });
  }

  // ---- batch ----

  /** One request of at most 1000 ops (413 above; see `batchAll`). Results in the order of the ops. */
  async batch<const Ops extends readonly BatchOp[]>(
    list: Ops,
    o: CallOptions = {},
  ): Promise<BatchResults<Ops>> {
    const body = await this.#json<{ results: BatchResults<Ops> }>({
      method: "POST",
      path: "/v1/batch",
      body: { ops: list },
      replaySafe: list.every((op) => !REPLAY_UNSAFE_OPS.has(op.op)),
      signal: o.signal,
    });
    return body.results;
  }

  /**
   * Any number of ops, sent as consecutive requests of at most `chunkSize` (default 1000), one after
   * another so that the order of the ops holds across requests. Results in the order of the ops.
   */
  async batchAll<Op extends BatchOp>(
    list: readonly Op[],
    o: CallOptions & { chunkSize?: number } = {},
  ): Promise<BatchResult<Op>[]> {
    const results: BatchResult<Op>[] = [];
    for (const chunk of chunkOps(list, o.chunkSize)) {
      results.push(...((await this.batch(chunk, o)) as BatchResult<Op>[]));
    }
    return results;
  }

  // ---- admin and operations ----

  flush(o: CallOptions = {}): Promise<FlushResult> {
    return this.#json({ method: "POST", path: "/v1/admin/flush", replaySafe: true, signal: o.signal });
  }

  syncStatus(o: CallOptions = {}): Promise<SyncStatus> {
    return this.#json({ method: "GET", path: "/v1/admin/sync", replaySafe: true, signal: o.signal });
  }

  /** `since`: a `t` of an earlier answer, to get only the newer history points. */
  stats(since?: number, o: CallOptions = {}): Promise<StatsReport> {
    return this.#json({
      method: "GET",
      path: "/v1/admin/stats",
      query: { since },
      replaySafe: true,
      signal: o.signal,
    });
  }

  health(o: CallOptions = {}): Promise<{ status: "ok" }> {
    return this.#json({ method: "GET", path: "/healthz", replaySafe: true, signal: o.signal });
  }

  /** Readiness, 200 or 503 alike (a 503 is an answer here, not an error, and is not retried). */
  async ready(o: CallOptions = {}): Promise<Readiness & { error?: { code: ErrorCode; message: string } }> {
    const spec: RequestSpec = {
      method: "GET",
      path: "/readyz",
      replaySafe: true,
      acceptStatus: [503],
      signal: o.signal,
    };
    return this.#json(spec);
  }

  /** The Prometheus text of /metrics. */
  async metrics(o: CallOptions = {}): Promise<string> {
    return this.#json({ method: "GET", path: "/metrics", replaySafe: true, signal: o.signal });
  }

  /** The served OpenAPI document. */
  openApi(o: CallOptions = {}): Promise<Record<string, unknown>> {
    return this.#json({ method: "GET", path: "/openapi.json", replaySafe: true, signal: o.signal });
  }

  // ---- live events ----

  /**
   * The user's live events, for `for await`. Reconnects by itself whenever the stream ends or
   * breaks (after the server's `retry:` or `reconnectDelayMs`, with jitter; a 503 waits its
   * Retry-After), sending the last event id seen as `Last-Event-ID`, so the server replays what was
   * missed or starts with a fresh snapshot. Ends when `signal` aborts or the loop breaks; throws a
   * ReadStateClientError on a 4xx (a bad userId, 401).
   */
  async *events(userId: string, options: EventsOptions = {}): AsyncGenerator<LiveEvent, void, undefined> {
    const { signal } = options;
    let lastEventId = options.lastEventId;
    let retryMs = options.reconnectDelayMs ?? 1000;
    let failures = 0;
    const url = this.#url(`/v1/users/${seg(userId)}/events`);
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) return;
      const controller = new AbortController();
      const onAbort = () => controller.abort(signal?.reason);
      signal?.addEventListener("abort", onAbort, { once: true });
      let wait = retryMs;
      /** A Retry-After is a floor: jitter only adds to it. */
      let floor = false;
      let lostWith: unknown;
      try {
        const token =
          typeof options.token === "function" ? await options.token() : (options.token ?? this.#token);
        const headers: Record<string, string> = { accept: "text/event-stream" };
        if (token !== undefined) headers.authorization = `Bearer ${token}`;
        if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
        const response = await fetch(url, { headers, signal: controller.signal });
        if (!response.ok || !response.body) {
          const text = await response.text().catch(() => "");
          const retryAfterSeconds = parseRetryAfter(response.headers.get("retry-after"));
          let error: { code?: string; message?: string } | undefined;
          try {
            error = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
          } catch {}
          const clientError = new ReadStateClientError(
            (error?.code as ErrorCode | undefined) ??
              (response.status === 503 ? "unavailable" : "bad_response"),
            response.status,
            error?.message ?? `GET ${url}: HTTP ${response.status}`,
            { retryAfterSeconds, requestId: response.headers.get("x-request-id") ?? undefined },
          );
          if (response.status < 500) throw clientError;
          lostWith = clientError;
          failures++;
          floor = retryAfterSeconds !== undefined;
          wait =
            retryAfterSeconds !== undefined
              ? retryAfterSeconds * 1000
              : retryMs * Math.min(2 ** failures, 30);
        } else {
          failures = 0;
          const queue: LiveEvent[] = [];
          const parser = new SseParser({
            onMessage: (message) => {
              if (message.event !== "snapshot" && message.event !== "member" && message.event !== "thread")
                return;
              queue.push({
                id: message.id ?? "",
                event: message.event,
                data: JSON.parse(message.data),
              } as LiveEvent);
            },
            onRetry: (ms) => {
              retryMs = ms;
            },
          });
          const decoder = new TextDecoder();
          const reader = response.body.getReader();
          try {
            for (;;) {
              const { value, done } = await reader.read();
              if (done) break;
              parser.push(decoder.decode(value, { stream: true }));
              while (queue.length > 0) {
                const event = queue.shift() as LiveEvent;
                if (event.id !== "") lastEventId = event.id;
                yield event;
              }
            }
          } catch (error) {
            lostWith = error;
          } finally {
            // Abort first: a cancel alone can wait on a stream that never ends.
            controller.abort();
            reader.cancel().catch(() => {});
          }
          wait = retryMs;
        }
      } catch (error) {
        if (signal?.aborted) return;
        if (error instanceof ReadStateClientError) throw error;
        lostWith = error;
        failures++;
        wait = retryMs * Math.min(2 ** failures, 30);
      } finally {
        signal?.removeEventListener("abort", onAbort);
        controller.abort();
      }
      if (signal?.aborted) return;
      options.onReconnect?.({
        attempt: attempt + 1,
        lastEventId,
        ...(lostWith === undefined ? {} : { error: lostWith }),
      });
      try {
        await sleep(
          Math.min(this.#maxDelayMs, wait * (floor ? 1 + Math.random() * 0.2 : 0.5 + Math.random())),
          signal,
        );
      } catch {
        return;
      }
    }
  }
}

/** The client of one readstate deployment. */
export function createClient(options: ClientOptions): ReadStateClient {
  return new ReadStateClient(options);
}
