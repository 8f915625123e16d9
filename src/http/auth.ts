// Bearer-token check for /v1/**. Both sides are hashed before the constant-time comparison so that
// neither the token's content nor its length leaks through response timing.
import { createHash, timingSafeEqual } from "node:crypto";
import type { FastifyReply, FastifyRequest } from "fastify";
import { errorReply } from "./errors.js";
import type { HttpMetrics } from "./metrics.js";
import type { UserTokens } from "./tokens.js";

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** When the stream of a request authorized by a user token must end (ms); absent for the service token. */
const tokenExpiry = new WeakMap<FastifyRequest, number>();

export function userTokenExpiry(request: FastifyRequest): number | undefined {
  return tokenExpiry.get(request);
}

/**
 * The onRequest hook of GET /v1/users/{userId}/events: the service token, or a user token for that
 * user (POST /v1/users/{userId}/tokens), as `Authorization: Bearer` or `?access_token=` (EventSource
 * cannot set headers). Every refusal is 401 unauthorized.
 */
export function eventsAuth(apiToken: string, tokens: UserTokens, metrics: HttpMetrics) {
  const expected = digest(apiToken);
  return async function checkEventsToken(request: FastifyRequest, reply: FastifyReply) {
    const header = request.headers.authorization;
    const fromHeader = header === undefined ? undefined : BEARER.exec(header)?.[1];
    const query = request.query as { access_token?: unknown };
    const fromQuery = typeof query.access_token === "string" ? query.access_token : undefined;
    const presented = fromHeader ?? fromQuery;
    let message: string;
    if (presented === undefined) {
      message =
        header === undefined
          ? "this stream needs a user token (?access_token=, from POST /v1/users/{userId}/tokens) or " +
            "Authorization: Bearer <token>"
          : "the Authorization header must read: Bearer <token>";
    } else if (timingSafeEqual(digest(presented), expected)) {
      return;
    } else {
      const { userId } = request.params as { userId?: string };
      const check = tokens.check(presented, userId ?? "");
      if (check.ok) {
        tokenExpiry.set(request, check.expiresAtMs);
        return;
      }
      message = check.reason;
    }
    metrics.countRejected(request.routeOptions.config.op, "unauthorized");
    const { body } = errorReply(401, "unauthorized", message);
    return reply.code(401).header("www-authenticate", "Bearer").send(body);
  };
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
