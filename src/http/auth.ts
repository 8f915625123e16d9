// Bearer-token check for /v1/**. Both sides are hashed before the constant-time comparison so that
// neither the token's content nor its length leaks through response timing.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { errorReply } from "./errors.js";
import type { HttpMetrics } from "./metrics.js";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** An onRequest hook that answers 401 unless the request carries `Authorization: Bearer <apiToken>`. */
export function bearerAuth(apiToken: string, metrics: HttpMetrics) {
  const expected = digest(apiToken);
  return async function checkBearerToken(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    const presented = header === undefined ? undefined : BEARER.exec(header)?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return;
    const message =
      header === undefined
        ? "this server needs Authorization: Bearer <token> (the READSTATE_API_TOKEN it was started with)"
        : presented === undefined
          ? "the Authorization header must read: Bearer <token>"
          : "the bearer token is not the one this server was started with (READSTATE_API_TOKEN)";
    metrics.countRejected(request.routeOptions.config.op, "unauthorized");
    const { body } = errorReply(401, "unauthorized", message);
    return reply.code(401).header("www-authenticate", "Bearer").send(body);
  };
}
