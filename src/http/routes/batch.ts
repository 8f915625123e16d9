// POST /v1/batch: many ops in one request, each answered on its own.
//
// Decisions where the contract is silent:
// - Only the envelope can fail the whole request: not an object with an `ops` array → 400, more than
//   1000 ops → 413. A malformed op (unknown `op`, bad ID, missing field) fails alone with
//   `{ ok: false, error: { code: "validation_failed" } }`, like an op the engine rejects.
// - Order. "Ops applied in order" holds for everything a client can observe, with as much running
//   side by side as that allows:
//   - Ops naming a channel (every op but userUnread; thread ops included, a thread lives in its
//     channel) run one after another per channel, in request order. Ops of different channels touch
//     disjoint state (the channel is the unit of atomicity; a user's channel list only gains or loses
//     that channel), so they commute and run concurrently: a 100-op batch costs about as many Redis
//     round trips as its busiest channel has ops, not 100.
//   - A userUnread op reads every channel of its user, and which channels those are is only known
//     once it runs. So it is a barrier: it starts after every earlier op of the batch has finished,
//     and every later op starts after it. Its answer is then the user's state after exactly the ops
//     before it, as if the batch ran one op at a time. (A batch of userUnread ops only, the
//     push-notification fan-out, therefore runs them one by one; each is one read.)
//   Results are always in request order.
// - Backpressure (src/sync/backpressure.ts): while writes are refused, a batch whose ops are all
//   writes is refused whole, 503 `unavailable` with `Retry-After`, nothing applied: every op would be
//   refused alone, and answering 250 refusals one by one costs the CPU the worker needs to catch up.
//   A batch holding at least one read op (state, userUnread) or one op that is not a known write
//   (malformed, it fails alone anyway) runs: each write op is admitted or refused as it runs, like a
//   single request, and a refused op gets its own `{ ok: false, error: { code: "unavailable" } }`;
//   read ops are never refused; the response (200) carries `Retry-After`. An empty batch is not
//   refused: it writes nothing.
import type { ValidateFunction } from "ajv";
import type { FastifyBaseLogger } from "fastify";
import type { Static } from "typebox";
import { isReadStateError } from "../../core/errors.js";
import { isWritesRefused } from "../../core/gate.js";
import type { Engine } from "../../engine.js";
import type { App, RouteDeps } from "../context.js";
import { errorReply, INTERNAL_ERROR } from "../errors.js";
import type { HttpMetrics } from "../metrics.js";
import {
  BATCH_OP_NAMES,
  type BatchOpName,
  BatchOps,
  BatchRequestBody,
  BatchRequestDoc,
  BatchResponseBody,
  BatchResponseDoc,
  MAX_BATCH_OPS,
  v1Errors,
} from "../schemas.js";
import { compileBodyValidator, describeValidationError } from "../validation.js";

type BatchResult = { ok: true } & Record<string, unknown>;
type BatchFailure = { ok: false; error: { code: string; message: string } };

/** A checked op: one of the shapes of BatchOps, told apart by `op`. */
type ValidOp = { [Name in BatchOpName]: Static<(typeof BatchOps)[Name]> }[BatchOpName];

/**
 * Whether each op writes. Writes may be refused by backpressure; reads never are. A `Record` over
 * every op name, so a new op cannot be added without deciding.
 */
const OP_WRITES: Record<BatchOpName, boolean> = {
  join: true,
  leave: true,
  post: true,
  read: true,
  unread: true,
  deleteMessage: true,
  mute: true,
  follow: true,
  unfollow: true,
  threadRead: true,
  threadUnread: true,
  state: false,
  userUnread: false,
};

const validators = Object.fromEntries(
  BATCH_OP_NAMES.map((name) => [name, compileBodyValidator(BatchOps[name])]),
) as Record<BatchOpName, ValidateFunction>;

/** Checks one op; returns it typed, or the failure to report in its place. */
export function checkOp(raw: unknown, index: number): { op: ValidOp } | BatchFailure {
  const where = `ops[${index}]`;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    return failure("validation_failed", `${where} must be an object with an "op" field`);
  }
  const name = (raw as { op?: unknown }).op;
  if (typeof name !== "string" || !Object.hasOwn(BatchOps, name)) {
    return failure("validation_failed", `${where}.op must be one of ${BATCH_OP_NAMES.join(", ")}`);
  }
  const validate = validators[name as BatchOpName];
  if (!validate(raw)) {
    const first = validate.errors?.[0];
    return failure(
      "validation_failed",
      first ? describeValidationError(first, where) : `${where} is not valid`,
    );
  }
  return { op: raw as ValidOp };
}

async function applyOp(engine: Engine, metrics: HttpMetrics, op: ValidOp): Promise<BatchResult> {
  switch (op.op) {
    case "join":
      return { ok: true, ...(await metrics.run("join", () => engine.join(op.channelId, op.userId))) };
    case "leave":
      await metrics.run("leave", () => engine.leave(op.channelId, op.userId));
      return { ok: true };
    case "post": {
      const { messageId, senderId, mentions, mentionAll, threadId } = op;
      const message = { messageId, senderId, mentions, mentionAll, threadId };
      return { ok: true, ...(await metrics.run("post", () => engine.post(op.channelId, message))) };
    }
    case "read":
      return {
        ok: true,
        ...(await metrics.run("read", () => engine.markRead(op.channelId, op.userId, op.messageId))),
      };
    case "unread":
      return {
        ok: true,
        ...(await metrics.run("unread", () => engine.markUnread(op.channelId, op.userId, op.messageId))),
      };
    case "deleteMessage":
      await metrics.run("delete_message", () => engine.deleteMessage(op.channelId, op.messageId));
      return { ok: true };
    case "mute":
      return {
        ok: true,
        ...(await metrics.run("mute", () => engine.setMuted(op.channelId, op.userId, op.muted))),
      };
    case "follow":
      return {
        ok: true,
        ...(await metrics.run("follow", () => engine.follow(op.channelId, op.threadId, op.userId))),
      };
    case "unfollow":
      await metrics.run("unfollow", () => engine.unfollow(op.channelId, op.threadId, op.userId));
      return { ok: true };
    case "threadRead":
      return {
        ok: true,
        ...(await metrics.run("thread_read", () =>
          engine.markThreadRead(op.channelId, op.threadId, op.userId, op.messageId),
        )),
      };
    case "threadUnread":
      return {
        ok: true,
        ...(await metrics.run("thread_unread", () =>
          engine.markThreadUnread(op.channelId, op.threadId, op.userId, op.messageId),
        )),
      };
    case "state":
      return {
        ok: true,
        ...(await metrics.run("member_state", () => engine.memberState(op.channelId, op.userId))),
      };
    case "userUnread":
      return { ok: true, ...(await metrics.run("user_unread", () => engine.userUnread(op.userId))) };
  }
}

/** A well-formed write or a malformed op naming a write: refused whole while writes are refused. */
function isWriteOp(raw: unknown): boolean {
  if (typeof raw !== "object" || raw === null) return false;
  const name = String((raw as { op?: unknown }).op);
  return Object.hasOwn(OP_WRITES, name) && OP_WRITES[name as BatchOpName];
}

function failure(code: string, message: string): BatchFailure {
  return { ok: false, error: { code, message } };
}

function failureOf(err: unknown, requestId: string): BatchFailure {
  if (isReadStateError(err)) return { ok: false, error: { code: err.code, message: err.message } };
  return failure(
    INTERNAL_ERROR,
    `unexpected server error; the logs have the details (request id ${requestId})`,
  );
}

async function applyBatch(
  engine: Engine,
  metrics: HttpMetrics,
  ops: unknown[],
  log: FastifyBaseLogger,
  requestId: string,
): Promise<{ results: (BatchResult | BatchFailure)[]; retryAfterSeconds: number | undefined }> {
  const results: (BatchResult | BatchFailure)[] = new Array(ops.length);
  let retryAfterSeconds: number | undefined;
  // Per channel, a promise chain in request order; chains of different channels run side by side.
  // `barrier` is the last userUnread op so far (see the header): a channel's chain begun after it
  // starts from it. Every `run` settles (it catches), so a chain never rejects.
  const chains = new Map<string, Promise<void>>();
  let barrier: Promise<void> | undefined;
  const barriers: Promise<void>[] = [];
  ops.forEach((raw, index) => {
    const checked = checkOp(raw, index);
    if (!("op" in checked)) {
      results[index] = checked;
      return;
    }
    const { op } = checked;
    const run = async () => {
      try {
        results[index] = await applyOp(engine, metrics, op);
      } catch (err) {
        if (!isReadStateError(err)) log.error({ err, op: index }, "batch op failed");
        if (isWritesRefused(err)) {
          retryAfterSeconds = Math.max(retryAfterSeconds ?? 0, err.retryAfterSeconds ?? 0);
        }
        results[index] = failureOf(err, requestId);
      }
    };
    if (op.op === "userUnread") {
      const earlier = [...chains.values(), ...(barrier ? [barrier] : [])];
      barrier = earlier.length > 0 ? Promise.all(earlier).then(run) : run();
      barriers.push(barrier);
      // The chains so far are all behind the barrier now; later ops wait for the barrier alone.
      chains.clear();
      return;
    }
    const previous = chains.get(op.channelId) ?? barrier;
    chains.set(op.channelId, previous ? previous.then(run) : run());
  });
  await Promise.all([...chains.values(), ...barriers]);
  return { results, retryAfterSeconds };
}

export function batchRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.post(
    "/v1/batch",
    {
      config: { op: "batch", openapi: { body: BatchRequestDoc, ok: BatchResponseDoc } },
      schema: {
        operationId: "applyBatch",
        summary: `Apply up to ${MAX_BATCH_OPS} ops in order; each gets its own result`,
        description:
          `Ops: ${BATCH_OP_NAMES.join(", ")}. Each takes the single endpoint's fields plus the IDs of ` +
          "its path; each result is { ok: true, ...that endpoint's body } or { ok: false, error }. A " +
          "malformed op fails alone. While writes are refused, a batch of writes only is refused whole " +
          "(503); otherwise a refused write fails alone and the answer carries Retry-After.",
        tags: ["batch"],
        body: BatchRequestBody,
        response: {
          200: BatchResponseBody,
          ...v1Errors({
            validated: true,
            body: true,
            alsoInvalid: "the body is not { ops: [...] }",
            alsoTooLarge: `a batch of more than ${MAX_BATCH_OPS} ops`,
          }),
        },
      },
    },
    async (request, reply) => {
      const { ops } = request.body;
      if (ops.length > MAX_BATCH_OPS) {
        metrics.countRejected("batch", "payload_too_large");
        const { body } = errorReply(
          413,
          "payload_too_large",
          `a batch holds at most ${MAX_BATCH_OPS} ops, this one has ${ops.length}; split it`,
        );
        return reply.code(413).send(body);
      }
      const { results, retryAfterSeconds } = await metrics.run("batch", async () => {
        if (ops.length > 0 && ops.every(isWriteOp)) engine.admitWrite();
        return applyBatch(engine, metrics, ops, request.log, request.id);
      });
      if (retryAfterSeconds !== undefined) reply.header("retry-after", String(retryAfterSeconds));
      return { results };
    },
  );
}
