// Every failure leaves as the contract's `{ "error": { "code", "message" } }` (API.md, "Errors"),
// whether the engine, the validator, the body parser or the router raised it.
import type { FastifyError, FastifyReply, FastifyRequest } from "fastify";
import { type ErrorCode, isReadStateError } from "../core/errors.js";
import type { HttpMetrics } from "./metrics.js";
import { describeRequestValidation } from "./validation.js";

/** Not in the contract: a bug or an unexpected failure; the message points to the logs. */
export const INTERNAL_ERROR = "internal_error";

export interface ErrorReply {
  status: number;
  body: { error: { code: ErrorCode | typeof INTERNAL_ERROR; message: string } };
}

export function errorReply(
  status: number,
  code: ErrorCode | typeof INTERNAL_ERROR,
  message: string,
): ErrorReply {
  return { status, body: { error: { code, message } } };
}

/** Translates any error thrown while serving a request into the contract's status and body. */
export function toErrorReply(err: unknown, requestId: string): ErrorReply {
  if (isReadStateError(err)) return { status: err.status, body: err.toJSON() };
  const fastifyError = err as Partial<FastifyError> & { validationContext?: string };
  if (fastifyError.validation) {
    return errorReply(
      400,
      "validation_failed",
      describeRequestValidation(fastifyError.validation as never, fastifyError.validationContext),
    );
  }
  switch (fastifyError.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errorReply(
        413,
        "payload_too_large",
        "the request body is over 1 MiB; split it into smaller requests",
      );
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errorReply(
        400,
        "validation_failed",
        "send the body as JSON with Content-Type: application/json",
      );
    case "FST_ERR_CTP_INVALID_JSON_BODY":
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return errorReply(400, "validation_failed", `the body is not valid JSON: ${fastifyError.message}`);
  }
  // The JSON parser reports a syntax error as a 400 SyntaxError; proto poisoning likewise.
  if (fastifyError.statusCode === 400 || err instanceof SyntaxError) {
    return errorReply(400, "validation_failed", `the body is not valid JSON: ${fastifyError.message}`);
  }
  if (fastifyError.statusCode === 413) {
    return errorReply(
      413,
      "payload_too_large",
      "the request body is over 1 MiB; split it into smaller requests",
    );
  }
  return errorReply(
    500,
    INTERNAL_ERROR,
    `unexpected server error; the logs have the details (request id ${requestId})`,
  );
}

export function errorHandler(metrics: HttpMetrics) {
  return function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply) {
    const { status, body } = toErrorReply(err, request.id);
    if (status >= 500) request.log.error({ err }, "request failed");
    else request.log.debug({ err }, "request rejected");
    // Engine errors were counted where the operation ran; count the ones that never reached it.
    if (!metrics.wasCounted(err)) metrics.countRejected(request.routeOptions.config.op, body.error.code);
    if (status === 401) reply.header("www-authenticate", "Bearer");
    if (isReadStateError(err) && err.retryAfterSeconds !== undefined) {
      reply.header("retry-after", String(err.retryAfterSeconds));
    }
    return reply.code(status).send(body);
  };
}

export function notFoundHandler(request: FastifyRequest, reply: FastifyReply) {
  return reply
    .code(404)
    .send(
      errorReply(
        404,
        "not_found",
        `there is no ${request.method} ${request.url.split("?")[0]}; see /openapi.json`,
      ).body,
    );
}
