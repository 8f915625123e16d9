// The contract's shapes (API.md) as TypeBox schemas: one source for request validation, fast response
// serialization and /openapi.json.
import { type TSchema, Type } from "typebox";
import { ID_PATTERN, MAX_MENTIONS } from "../core/ids.js";

export const MAX_BATCH_OPS = 1000;
export const RECEIPTS_LIMIT = { min: 1, max: 1000, default: 100 } as const;

export const Id = Type.String({
  pattern: ID_PATTERN,
  description: "1-128 characters of A-Z a-z 0-9 . _ : @ -, starting with a letter or digit",
});

// `type: [..., "null"]` rather than a TypeBox Union: fast-json-stringify serializes a type list
// directly, while an anyOf makes it validate every value against each branch at response time.
const NullableString = (description?: string) =>
  Type.Unsafe<string | null>({ type: ["string", "null"], ...(description ? { description } : {}) });

const Count = Type.Integer({ minimum: 0 });

export const ErrorBody = Type.Object(
  {
    error: Type.Object({
      code: Type.String({
        description:
          "validation_failed, unauthorized, not_found, not_a_member, unknown_message, payload_too_large, unavailable",
      }),
      message: Type.String({ description: "what went wrong and how to fix it" }),
    }),
  },
  { description: "every error" },
);

export const ChannelParams = Type.Object({ channelId: Id });
export const MemberParams = Type.Object({ channelId: Id, userId: Id });
export const UserParams = Type.Object({ userId: Id });
export const MessageParams = Type.Object({ channelId: Id, messageId: Id });

export const MemberStateBody = Type.Object(
  {
    channelId: Id,
    userId: Id,
    unread: Count,
    mentions: Count,
    readSeq: Count,
    channelSeq: Count,
    lastReadMessageId: NullableString("the messageId at readSeq; null when readSeq is 0 or unknown"),
    lastReadAt: NullableString("server time of the last change of the cursor; null if never changed"),
  },
  { description: "one member's read state" },
);

export const PostMessageBody = Type.Object({
  messageId: Id,
  senderId: Id,
  mentions: Type.Optional(Type.Array(Id, { maxItems: MAX_MENTIONS })),
  mentionAll: Type.Optional(Type.Boolean({ description: "@channel: mentions every member but the sender" })),
});

export const PostResultBody = Type.Object({
  channelId: Id,
  messageId: Id,
  seq: Type.Integer({ minimum: 1 }),
  created: Type.Boolean({ description: "false when the messageId was posted before (status 200)" }),
});

export const MarkReadBody = Type.Object({
  userId: Id,
  messageId: Type.Optional(Type.Unsafe<string>({ ...Id, description: "omit to read up to the newest" })),
});

export const MarkUnreadBody = Type.Object({ userId: Id, messageId: Id });

export const UserUnreadBody = Type.Object({
  userId: Id,
  unread: Count,
  mentions: Count,
  channels: Type.Array(MemberStateBody),
});

export const ChannelInfoBody = Type.Object({
  channelId: Id,
  channelSeq: Count,
  memberCount: Count,
  lastMessageId: NullableString(),
});

export const ReceiptsQuery = Type.Object({
  limit: Type.Optional(
    Type.Integer({
      minimum: RECEIPTS_LIMIT.min,
      maximum: RECEIPTS_LIMIT.max,
      default: RECEIPTS_LIMIT.default,
    }),
  ),
  after: Type.Optional(Type.Unsafe<string>({ ...Id, description: "the last userId of the previous page" })),
});

export const ReceiptsBody = Type.Object({
  channelId: Id,
  messageId: Id,
  seq: Type.Integer({ minimum: 1 }),
  memberCount: Count,
  readCount: Count,
  readers: Type.Array(Type.Object({ userId: Id, readSeq: Count })),
  next: NullableString("the last userId of this page while more remain"),
});

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

const DependencyVerdict = Type.Object({ ok: Type.Boolean(), reason: Type.Optional(Type.String()) });

export const ReadinessBody = Type.Object({
  ready: Type.Boolean(),
  redis: DependencyVerdict,
  postgres: DependencyVerdict,
  schema: DependencyVerdict,
  error: Type.Optional(ErrorBody.properties.error),
});

// One op of a batch: the single endpoint's fields plus `op` and `channelId`. Each is validated on
// its own inside the handler so that one malformed op fails alone (see routes/batch.ts).
export const BatchOps = {
  join: Type.Object({ op: Type.Literal("join"), channelId: Id, userId: Id }),
  leave: Type.Object({ op: Type.Literal("leave"), channelId: Id, userId: Id }),
  post: Type.Object({
    op: Type.Literal("post"),
    channelId: Id,
    ...PostMessageBody.properties,
  }),
  read: Type.Object({ op: Type.Literal("read"), channelId: Id, ...MarkReadBody.properties }),
  unread: Type.Object({ op: Type.Literal("unread"), channelId: Id, ...MarkUnreadBody.properties }),
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
// trying each branch, which matters at 1000 results per response.
export const BatchResult = Type.Object(
  {
    ok: Type.Boolean(),
    error: Type.Optional(ErrorBody.properties.error),
    ...Type.Partial(MemberStateBody).properties,
    messageId: Type.Optional(Id),
    seq: Type.Optional(Type.Integer()),
    created: Type.Optional(Type.Boolean()),
  },
  {
    description:
      "{ ok: true, ...the single endpoint's body } (leave: { ok: true }) or { ok: false, error: { code, message } }",
  },
);

export const BatchResponseBody = Type.Object({ results: Type.Array(BatchResult) });

/** Error responses every /v1 route can give; shared so /openapi.json lists them. */
export const V1Errors = { "4xx": ErrorBody, "5xx": ErrorBody } as const;
