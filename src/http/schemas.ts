// The contract's shapes (docs/API.md) as TypeBox schemas: one source for request validation, fast
// response serialization and /openapi.json.
//
// Response schemas must name every field: Fastify serializes by schema, so a field missing here is
// dropped from the answer without a word, and a required field the engine fails to return is a 500.
import { type TSchema, Type } from "typebox";
import type { ErrorCode } from "../core/errors.js";
import { ID_PATTERN, MAX_MENTIONS } from "../core/ids.js";
import { INTERNAL_ERROR } from "./errors.js";

export const MAX_BATCH_OPS = 1000;
export const MAX_MARK_ALL_READ_CHANNELS = 1000;
export const PAGE_LIMIT = { min: 1, max: 1000, default: 100 } as const;
/** Room for any cursor the engine makes of a channelId and a threadId (128 characters each). */
export const MAX_THREADS_CURSOR = 1024;

export const Id = Type.String({
  pattern: ID_PATTERN,
  description: "1-128 characters of A-Z a-z 0-9 . _ : @ -, starting with a letter or digit",
});

const IdDescribed = (description: string) => Type.Unsafe<string>({ ...Id, description });

// `type: [..., "null"]` rather than a TypeBox Union: fast-json-stringify serializes a type list
// directly, while an anyOf makes it validate every value against each branch at response time.
const NullableString = (description?: string) =>
  Type.Unsafe<string | null>({ type: ["string", "null"], ...(description ? { description } : {}) });

const Count = Type.Integer({ minimum: 0 });

// ---- errors ----------------------------------------------------------------------------------

type AnyErrorCode = ErrorCode | typeof INTERNAL_ERROR;

const ErrorDetail = (codes: readonly AnyErrorCode[]) =>
  Type.Object({
    code: Type.Unsafe<string>({ type: "string", enum: [...codes] }),
    message: Type.String({ description: "what went wrong and how to fix it" }),
  });

/** The body of every error: `{ "error": { "code", "message" } }`, here with the codes one answer can carry. */
export const errorBody = (codes: readonly AnyErrorCode[], description: string) =>
  Type.Object({ error: ErrorDetail(codes) }, { description });

export const ErrorBody = errorBody(
  [
    "validation_failed",
    "unauthorized",
    "not_found",
    "not_a_member",
    "unknown_message",
    "not_following",
    "payload_too_large",
    "unavailable",
    INTERNAL_ERROR,
  ],
  "every error",
);

/** Why each 404 of the contract happens, worded once for every operation that can answer it. */
export const NOT_FOUND_WHEN = {
  channel: { not_found: "the channel does not exist" },
  member: { not_a_member: "the user is not a member of the channel (or the channel does not exist)" },
  message: { unknown_message: "the messageId was never posted in the channel, as a message or a reply" },
  topLevel: {
    unknown_message: "the messageId is not a top-level message of the channel (never posted, or a reply)",
  },
  reply: { unknown_message: "the messageId is not a reply of that thread" },
  root: {
    unknown_message:
      "the threadId is not a top-level message of the channel (never posted, a reply, or no such channel)",
  },
  following: {
    not_following: "the user does not follow the thread (also when the channel or thread does not exist)",
  },
  thread: { not_found: "the thread has neither a reply nor a follower" },
} as const;

type NotFoundCode = "not_found" | "not_a_member" | "unknown_message" | "not_following";

export interface ErrorAnswers {
  /** Params, query or body are validated: 400 validation_failed. */
  validated?: boolean;
  /** The operation takes a JSON body: 413 payload_too_large over 1 MiB. */
  body?: boolean;
  /** Each 404 code the operation can answer, with when (see NOT_FOUND_WHEN). */
  notFound?: Partial<Record<NotFoundCode, string>>;
  /** What else a 400 means here, beyond malformed input. */
  alsoInvalid?: string;
  /** What else a 413 means here, beyond a body over 1 MiB. */
  alsoTooLarge?: string;
}

/**
 * The error answers of one /v1 operation, for the response schemas and /openapi.json. 401 is added
 * to the document by the collector when the server has a token (openapi.ts): routes do not know.
 */
export function v1Errors(answers: ErrorAnswers): Partial<Record<400 | 404 | 413 | 500 | 503, TSchema>> {
  const out: Partial<Record<400 | 404 | 413 | 500 | 503, TSchema>> = {};
  if (answers.validated) {
    out[400] = errorBody(
      ["validation_failed"],
      "validation_failed: malformed JSON, a bad ID, a missing field or one of the wrong type, a value out of range" +
        (answers.alsoInvalid ? `; ${answers.alsoInvalid}` : ""),
    );
  }
  const notFound = Object.entries(answers.notFound ?? {}) as [NotFoundCode, string][];
  if (notFound.length > 0) {
    out[404] = errorBody(
      notFound.map(([code]) => code),
      notFound.map(([code, when]) => `${code}: ${when}`).join("; "),
    );
  }
  if (answers.body) {
    out[413] = errorBody(
      ["payload_too_large"],
      "payload_too_large: the body is over 1 MiB" +
        (answers.alsoTooLarge ? `, or ${answers.alsoTooLarge}` : ""),
    );
  }
  out[500] = errorBody(
    [INTERNAL_ERROR],
    "internal_error (outside the contract): an unexpected failure; the message carries the request id of the log line",
  );
  out[503] = errorBody(
    ["unavailable"],
    "unavailable: nothing was applied. Redis unreachable, hung or full; a write refused while the " +
      "write-behind catches up (with Retry-After); or the server is shutting down",
  );
  return out;
}

// ---- path and query parameters ---------------------------------------------------------------

export const ChannelParams = Type.Object({ channelId: Id });
export const MemberParams = Type.Object({ channelId: Id, userId: Id });
export const UserParams = Type.Object({ userId: Id });
export const MessageParams = Type.Object({ channelId: Id, messageId: Id });
export const ThreadParams = Type.Object({
  channelId: Id,
  threadId: IdDescribed("the messageId of the thread's root"),
});
export const FollowerParams = Type.Object({ ...ThreadParams.properties, userId: Id });

const PageLimit = Type.Integer({
  minimum: PAGE_LIMIT.min,
  maximum: PAGE_LIMIT.max,
  default: PAGE_LIMIT.default,
});

export const ReceiptsQuery = Type.Object({
  limit: Type.Optional(PageLimit),
  after: Type.Optional(IdDescribed("the last userId of the previous page")),
});

export const UserThreadsQuery = Type.Object({
  limit: Type.Optional(PageLimit),
  after: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: MAX_THREADS_CURSOR,
      description: "the `next` of the previous page, passed back as it came (opaque)",
    }),
  ),
});

// ---- members and messages ---------------------------------------------------------------------

export const MemberStateBody = Type.Object(
  {
    channelId: Id,
    userId: Id,
    unread: Type.Integer({ minimum: 0, description: "non-deleted messages above readSeq" }),
    mentions: Type.Integer({
      minimum: 0,
      description: "non-deleted messages above readSeq that mention the user",
    }),
    readSeq: Count,
    channelSeq: Count,
    lastReadMessageId: NullableString(
      "the messageId at readSeq (possibly deleted); null when readSeq is 0 or unknown",
    ),
    lastReadAt: NullableString("server time of the last change of the cursor; null if never changed"),
    firstUnreadMessageId: NullableString(
      "the oldest non-deleted message above readSeq; null when unread is 0",
    ),
    muted: Type.Boolean({ description: "left out of the user's total unread, never out of mentions" }),
  },
  { description: "one member's read state" },
);

export const MuteBody = Type.Object({ muted: Type.Boolean() });

export const PostMessageBody = Type.Object({
  messageId: Id,
  senderId: Id,
  mentions: Type.Optional(Type.Array(Id, { maxItems: MAX_MENTIONS })),
  mentionAll: Type.Optional(Type.Boolean({ description: "@channel: mentions every member but the sender" })),
  threadId: Type.Optional(
    IdDescribed("post a reply: the messageId of the thread's root, a top-level message of the channel"),
  ),
});

export const PostResultBody = Type.Object({
  channelId: Id,
  messageId: Id,
  seq: Type.Integer({ minimum: 1, description: "in the channel, or in the thread for a reply" }),
  threadId: Type.Optional(IdDescribed("present for a reply: the thread it was first posted in")),
  created: Type.Boolean({ description: "false when the messageId was posted before (status 200)" }),
});

export const MarkReadBody = Type.Object({
  userId: Id,
  messageId: Type.Optional(IdDescribed("omit to read up to the newest message")),
});

export const MarkUnreadBody = Type.Object({ userId: Id, messageId: Id });

// ---- users -----------------------------------------------------------------------------------

export const ThreadTotalsBody = Type.Object({
  unreadThreads: Type.Integer({
    minimum: 0,
    description: "followed threads with unread replies, leaving out those of muted channels",
  }),
  mentions: Type.Integer({
    minimum: 0,
    description: "mentions in every followed thread, muted channels included",
  }),
});

export const UserUnreadBody = Type.Object({
  userId: Id,
  unread: Type.Integer({ minimum: 0, description: "sum over the channels, leaving out muted ones" }),
  mentions: Type.Integer({ minimum: 0, description: "sum over every channel, muted ones included" }),
  channels: Type.Array(MemberStateBody, { description: "every channel of the user, sorted by channelId" }),
  threads: ThreadTotalsBody,
});

/** The body of POST /v1/users/{userId}/read; an empty body or `{}` means every channel. */
export const MarkAllReadBody = Type.Object({
  channelIds: Type.Optional(
    Type.Array(Id, {
      minItems: 1,
      maxItems: MAX_MARK_ALL_READ_CHANNELS,
      description: "the channels to mark read (repeats count once); omit for every channel of the user",
    }),
  ),
});

/** What the validator sees: the body, or null when none was sent (Fastify validates a missing body as null). */
export const MarkAllReadRequest = Type.Unsafe<{ channelIds?: string[] } | null>({
  anyOf: [MarkAllReadBody, Type.Null()],
});

// ---- threads ---------------------------------------------------------------------------------

export const ThreadStateBody = Type.Object(
  {
    channelId: Id,
    threadId: Id,
    userId: Id,
    unread: Type.Integer({ minimum: 0, description: "non-deleted replies above readSeq" }),
    mentions: Type.Integer({
      minimum: 0,
      description: "non-deleted replies above readSeq that mention the user",
    }),
    readSeq: Count,
    threadSeq: Count,
    lastReadMessageId: NullableString("the reply at readSeq (possibly deleted); null when readSeq is 0"),
    lastReadAt: NullableString("server time of the last change of the cursor; null if never changed"),
    firstUnreadMessageId: NullableString("the oldest non-deleted reply above readSeq; null when unread is 0"),
  },
  { description: "one follower's read state in a thread" },
);

export const ThreadInfoBody = Type.Object({
  channelId: Id,
  threadId: Id,
  threadSeq: Count,
  followerCount: Count,
  lastMessageId: NullableString("the newest non-deleted reply; null when there is none"),
});

export const UserThreadsBody = Type.Object({
  userId: Id,
  ...ThreadTotalsBody.properties,
  threads: Type.Array(ThreadStateBody, { description: "one page, sorted by channelId then threadId" }),
  next: NullableString("pass as `after` for the next page; null on the last page"),
});

// ---- channels --------------------------------------------------------------------------------

export const ChannelInfoBody = Type.Object({
  channelId: Id,
  channelSeq: Count,
  memberCount: Count,
  lastMessageId: NullableString("the newest non-deleted top-level message; null when there is none"),
});

export const ReceiptsBody = Type.Object({
  channelId: Id,
  messageId: Id,
  seq: Type.Integer({ minimum: 1 }),
  memberCount: Type.Integer({
    minimum: 0,
    description: "the channel's members, or a reply's thread followers",
  }),
  readCount: Count,
  readers: Type.Array(Type.Object({ userId: Id, readSeq: Count })),
  next: NullableString("the last userId of this page while more remain"),
});

// ---- admin and ops ---------------------------------------------------------------------------

export const FlushBody = Type.Object({ flushed: Count, remaining: Count });

export const SyncStatusBody = Type.Object({
  dirty: Count,
  oldestDirtyAgeMs: Type.Number({ minimum: 0 }),
  lastFlushAt: NullableString(),
  lastFlushRows: Count,
  lastFlushMs: Type.Number({ minimum: 0 }),
  shedding: Type.Boolean(),
  backpressureAgeMs: Count,
});

const NullableNumber = (description: string) =>
  Type.Unsafe<number | null>({ type: ["number", "null"], minimum: 0, description });

const PerName = (description: string) =>
  Type.Record(Type.String(), Type.Number({ minimum: 0 }), { description });

export const StatsQuery = Type.Object({
  since: Type.Optional(
    Type.Integer({
      minimum: 0,
      description: "only the history points after this one (its `t`): what a page polling every second lacks",
    }),
  ),
});

const StatsPoint = Type.Object(
  {
    t: Type.Integer({ minimum: 0, description: "the second's start, ms since the epoch" }),
    ops: PerName("operations completed in the second, by operation (failed ones included)"),
    p99Ms: PerName("p99 latency in ms of those operations, by operation (to within ~9%)"),
    errors: PerName("requests answered with an error in the second, by error code"),
    dirty: NullableNumber("channels waiting for PostgreSQL; null when the backlog could not be read"),
    oldestDirtyAgeMs: NullableNumber("age of the oldest change waiting for PostgreSQL; null when unknown"),
    shedding: Type.Boolean({ description: "writes were being refused so that the worker catches up" }),
    flushRows: Count,
    flushes: Count,
    flushMs: NullableNumber("the longest flush batch that ended in the second; null when none did"),
    flushErrors: Count,
    openStreams: Count,
  },
  { description: "one second of this process" },
);

export const StatsBody = Type.Object({
  now: Type.String({ description: "the server's time (ISO 8601)" }),
  intervalMs: Type.Integer({ minimum: 1, description: "the spacing of the history points" }),
  durabilityBudgetMs: Type.Integer({
    minimum: 0,
    description: "every acknowledged change reaches PostgreSQL within this (10000)",
  }),
  backpressureAgeMs: Count,
  current: Type.Object({
    windowSeconds: Type.Integer({
      minimum: 0,
      description: "the last whole seconds the rates are taken over",
    }),
    opsPerSecond: PerName("operations per second, by operation"),
    p99Ms: PerName("p99 latency in ms, by operation"),
    errorsPerSecond: PerName("errors per second, by error code"),
    dirty: NullableNumber("channels waiting for PostgreSQL, at the last reading"),
    oldestDirtyAgeMs: NullableNumber("age of the oldest change waiting for PostgreSQL, at the last reading"),
    shedding: Type.Boolean(),
    flushRowsPerSecond: Type.Number({ minimum: 0 }),
    flushMs: NullableNumber("the longest flush batch of the window; null when none ended"),
    lastFlushAt: NullableString("when the last flush batch committed (ISO 8601), or null"),
    openStreams: Count,
  }),
  history: Type.Array(StatsPoint, { description: "one point per second, oldest first, at most 300" }),
});

const DependencyVerdict = Type.Object({ ok: Type.Boolean(), reason: Type.Optional(Type.String()) });

export const ReadinessBody = Type.Object({
  ready: Type.Boolean(),
  redis: DependencyVerdict,
  postgres: DependencyVerdict,
  schema: DependencyVerdict,
  error: Type.Optional(ErrorDetail(["unavailable"])),
});

// ---- batch -----------------------------------------------------------------------------------

// One op of a batch: the single endpoint's fields plus `op` and the path's IDs. Each is validated on
// its own inside the handler so that one malformed op fails alone (see routes/batch.ts).
export const BatchOps = {
  join: Type.Object({ op: Type.Literal("join"), channelId: Id, userId: Id }),
  leave: Type.Object({ op: Type.Literal("leave"), channelId: Id, userId: Id }),
  post: Type.Object({ op: Type.Literal("post"), channelId: Id, ...PostMessageBody.properties }),
  read: Type.Object({ op: Type.Literal("read"), channelId: Id, ...MarkReadBody.properties }),
  unread: Type.Object({ op: Type.Literal("unread"), channelId: Id, ...MarkUnreadBody.properties }),
  deleteMessage: Type.Object({ op: Type.Literal("deleteMessage"), channelId: Id, messageId: Id }),
  mute: Type.Object({ op: Type.Literal("mute"), channelId: Id, userId: Id, ...MuteBody.properties }),
  follow: Type.Object({ op: Type.Literal("follow"), ...FollowerParams.properties }),
  unfollow: Type.Object({ op: Type.Literal("unfollow"), ...FollowerParams.properties }),
  threadRead: Type.Object({
    op: Type.Literal("threadRead"),
    ...ThreadParams.properties,
    ...MarkReadBody.properties,
  }),
  threadUnread: Type.Object({
    op: Type.Literal("threadUnread"),
    ...ThreadParams.properties,
    ...MarkUnreadBody.properties,
  }),
  state: Type.Object({ op: Type.Literal("state"), channelId: Id, userId: Id }),
  userUnread: Type.Object({ op: Type.Literal("userUnread"), userId: Id }),
} satisfies Record<string, TSchema>;

export type BatchOpName = keyof typeof BatchOps;
export const BATCH_OP_NAMES = Object.keys(BatchOps) as BatchOpName[];

// Validated loosely (an array) so that the envelope alone decides between 400/413 and per-op results.
export const BatchRequestBody = Type.Object({
  ops: Type.Array(Type.Unknown(), {
    description: `at most ${MAX_BATCH_OPS} ops, applied in order; see BatchOp for each op's fields`,
  }),
});

/** What /openapi.json shows for the batch body: the op shapes the handler checks one by one. */
export const BatchRequestDoc = Type.Object({
  ops: Type.Array(Type.Union(Object.values(BatchOps)), { maxItems: MAX_BATCH_OPS }),
});

// One flat object with optional fields instead of a union: fast-json-stringify serializes it without
// trying each branch, which matters at 1000 results per response. It must hold every field of every
// op's result (member state, post, thread state, user unread), or that field would be dropped.
export const BatchResult = Type.Object(
  {
    ok: Type.Boolean(),
    error: Type.Optional(ErrorBody.properties.error),
    ...Type.Partial(MemberStateBody).properties,
    ...Type.Partial(ThreadStateBody).properties,
    ...Type.Partial(PostResultBody).properties,
    channels: Type.Optional(Type.Array(MemberStateBody)),
    threads: Type.Optional(ThreadTotalsBody),
  },
  {
    description:
      "{ ok: true, ...the single endpoint's body } (leave, deleteMessage, unfollow: { ok: true }) " +
      "or { ok: false, error: { code, message } }",
  },
);

export const BatchResponseBody = Type.Object({ results: Type.Array(BatchResult) });

const Succeeded = <T extends TSchema>(body: { properties: Record<string, T> }, description: string) =>
  Type.Object({ ok: Type.Literal(true), ...body.properties }, { description });

/** What /openapi.json shows for the batch answer: each result's exact shape. */
export const BatchResponseDoc = Type.Object({
  results: Type.Array(
    Type.Union([
      Succeeded(MemberStateBody, "join, read, unread, mute, state: the member state"),
      Succeeded(PostResultBody, "post: the post result"),
      Succeeded(ThreadStateBody, "follow, threadRead, threadUnread: the thread state"),
      Succeeded(UserUnreadBody, "userUnread: the user's unread body"),
      Type.Object({ ok: Type.Literal(true) }, { description: "leave, deleteMessage, unfollow" }),
      Type.Object(
        { ok: Type.Literal(false), error: ErrorBody.properties.error },
        { description: "a failed op" },
      ),
    ]),
    { description: "one per op, in request order" },
  ),
});

// ---- live events -----------------------------------------------------------------------------

export const UserTokenBody = Type.Object({
  token: Type.String({
    description:
      "opaque; pass it to GET /v1/users/{userId}/events as ?access_token= or Authorization: Bearer",
  }),
  expiresAt: Type.String({ format: "date-time", description: "when the token stops opening streams" }),
});

export const EventsQuery = Type.Object({
  access_token: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 4096,
      description:
        "a user token for this user (POST /v1/users/{userId}/tokens), or the service token; for " +
        "EventSource, which cannot send headers",
    }),
  ),
  lastEventId: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 256,
      description:
        "the id of the last event received, as the Last-Event-ID header carries it (which wins when " +
        "both are sent): for a page that opens a new EventSource, which cannot set that header",
    }),
  ),
});

export const EventStreamBody = Type.String({
  description:
    "text/event-stream: `snapshot` (the body of GET /v1/users/{userId}/unread), then `member` " +
    "(a member state, or { channelId, userId, left: true }) and `thread` (a thread state, or " +
    "{ channelId, threadId, userId, unfollowed: true }) events, each with an id; comment lines keep " +
    "the connection open",
});
