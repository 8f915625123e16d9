// POST /v1/batch: many ops in one request, each answered on its own.
//
// Decisions where API.md is silent:
// - Only the envelope can fail the whole request: not an object with an `ops` array → 400, more than
//   1000 ops → 413. A malformed op (unknown `op`, bad ID, missing field) fails alone with
//   `{ ok: false, error: { code: "validation_failed" } }`, like an op the engine rejects.
// - Ops of one channel run one after another in request order. Ops of different channels touch
//   disjoint state (the channel is the unit of atomicity; a user's channel list only gains or loses
//   that channel) so they commute, and run concurrently: a 100-op batch costs about as many Redis
//   round trips as its busiest channel has ops, not 100. Results are always in request order.
// - Backpressure (src/sync/backpressure.ts): while writes are refused, a batch of writes only is
//   refused whole, 503 `unavailable` with `Retry-After`, nothing applied: every op would be refused
//   alone, and answering 250 refusals one by one costs the CPU the worker needs to catch up. Else
//   each write op is admitted or refused as it runs, like a single request: a refused op gets its
//   own `{ ok: false, error: { code: "unavailable" } }`, the other ops still answer (read-only ops are
//   never refused), and the response (200) carries `Retry-After`.
import type { ValidateFunction } from "ajv";
import type { FastifyBaseLogger } from "fastify";
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
  MAX_BATCH_OPS,
  V1Errors,
} from "../schemas.js";
import { compileBodyValidator, describeValidationError } from "../validation.js";

type BatchResult = { ok: true } & Record<string, unknown>;
type BatchFailure = { ok: false; error: { code: string; message: string } };

interface ValidOp {
  op: BatchOpName;
  channelId: string;
  userId?: string;
  messageId?: string;
  senderId?: string;
  mentions?: string[];
  mentionAll?: boolean;
}

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
  // Presence of the required fields was checked by the op's schema; the `as string` below rely on it.
  const { channelId } = op;
  const userId = op.userId as string;
  switch (op.op) {
    case "join":
      return { ok: true, ...(await metrics.run("join", () => engine.join(channelId, userId))) };
    case "leave":
      await metrics.run("leave", () => engine.leave(channelId, userId));
      return { ok: true };
    case "post": {
      const message = {
        messageId: op.messageId as string,
        senderId: op.senderId as string,
        mentions: op.mentions,
        mentionAll: op.mentionAll,
      };
      return { ok: true, ...(await metrics.run("post", () => engine.post(channelId, message))) };
    }
    case "read":
      return {
        ok: true,
        ...(await metrics.run("read", () => engine.markRead(channelId, userId, op.messageId))),
      };
    case "unread": {
      const messageId = op.messageId as string;
      return {
        ok: true,
        ...(await metrics.run("unread", () => engine.markUnread(channelId, userId, messageId))),
      };
    }
  }
}

/** Every op of this version writes; read-only ops (never refused) would be left out here. */
const WRITE_OPS: ReadonlySet<string> = new Set<BatchOpName>(["join", "leave", "post", "read", "unread"]);

function isWriteOp(raw: unknown): boolean {
  return typeof raw === "object" && raw !== null && WRITE_OPS.has(String((raw as { op?: unknown }).op));
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
  const chains = new Map<string, Promise<void>>();
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
    const previous = chains.get(op.channelId);
    chains.set(op.channelId, previous ? previous.then(run) : run());
  });
  await Promise.all(chains.values());
  return { results, retryAfterSeconds };
}

export function batchRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.post(
    "/v1/batch",
    {
      config: { op: "batch", openapiBody: BatchRequestDoc },
      schema: {
        summary: `Apply up to ${MAX_BATCH_OPS} ops (join, leave, post, read, unread); each gets its own result`,
        tags: ["batch"],
        body: BatchRequestBody,
        response: { 200: BatchResponseBody, ...V1Errors },
      },
    },
    async (request, reply) => {
      const { ops } = request.body;
      if (ops.length > MAX_BATCH_OPS) {
        metrics.countRejected("batch", "payload_too_large");
        const { status, body } = errorReply(
          413,
          "payload_too_large",
          `a batch holds at most ${MAX_BATCH_OPS} ops, this one has ${ops.length}; split it`,
        );
        return reply.code(status).send(body);
      }
      const { results, retryAfterSeconds } = await metrics.run("batch", async () => {
        if (ops.every(isWriteOp)) engine.admitWrite();
        return applyBatch(engine, metrics, ops, request.log, request.id);
      });
      if (retryAfterSeconds !== undefined) reply.header("retry-after", String(retryAfterSeconds));
      return { results };
    },
  );
}
