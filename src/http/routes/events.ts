// Live events over Server-Sent Events (API.md, "Live events"), a thin layer over engine.subscribe,
// and the user tokens that let a browser open its own stream.
import type { LiveEvent } from "../../core/types.js";
import { eventsAuth, userTokenExpiry } from "../auth.js";
import type { App, RouteDeps } from "../context.js";
import { EventStreamBody, EventsQuery, UserParams, UserTokenBody, v1Errors } from "../schemas.js";
import type { SseStream } from "../sse.js";

/** Under /v1, behind the service token like every other /v1 call. */
export function tokenRoutes(app: App, { metrics, tokens }: RouteDeps): void {
  app.post(
    "/v1/users/:userId/tokens",
    {
      config: { op: "create_token" },
      schema: {
        operationId: "createUserToken",
        summary: "A signed, expiring token that opens this user's event stream, and nothing else",
        description:
          "For browsers: pass it to GET /v1/users/{userId}/events as ?access_token=. Valid on every " +
          "instance (signed with READSTATE_TOKEN_SECRET, or a key derived from READSTATE_API_TOKEN) " +
          "for READSTATE_USER_TOKEN_TTL_S seconds; a stream opened with it ends when it expires. No body.",
        tags: ["users"],
        params: UserParams,
        response: { 200: UserTokenBody, ...v1Errors({ validated: true }) },
      },
    },
    async ({ params }) => metrics.run("create_token", async () => tokens.issue(params.userId)),
  );
}

/** In a scope of its own: the service token or a user token for that user (auth.ts eventsAuth). */
export function eventRoutes(app: App, { engine, metrics, tokens, sse, apiToken }: RouteDeps): void {
  if (apiToken) app.addHook("onRequest", eventsAuth(apiToken, tokens, metrics));
  app.get(
    "/v1/users/:userId/events",
    {
      config: { op: "events", openapi: { userToken: true } },
      schema: {
        operationId: "streamUserEvents",
        summary: "The user's live events (Server-Sent Events): a snapshot, then every change",
        description:
          "Starts with `snapshot` (or, with Last-Event-ID this instance still knows, the events " +
          "missed); then `member` and `thread` events, at most one per channel (or thread) every " +
          "250 ms, each with an id. A comment at least every 15 s. A fresh snapshot after the " +
          "server's own change feed broke, or Redis lost its data. Past the instance's stream limit, " +
          "503 with Retry-After; on shutdown a `retry:` hint with jitter.",
        tags: ["users"],
        params: UserParams,
        querystring: EventsQuery,
        produces: ["text/event-stream"],
        response: { 200: EventStreamBody, ...v1Errors({ validated: true }) },
      },
    },
    async (request, reply) => {
      const { userId } = request.params;
      const header = request.headers["last-event-id"];
      const lastEventId =
        (typeof header === "string" && header !== "" ? header : undefined) ?? request.query.lastEventId;
      let stream: SseStream | undefined;
      let ended = false;
      // Events delivered before the stream exists (the snapshot comes before subscribe resolves).
      const early: LiveEvent[] = [];
      const unsubscribe = await metrics.run("events", () =>
        engine.subscribe(
          userId,
          (event) => {
            if (stream) stream.send(event);
            else early.push(event);
          },
          {
            ...(lastEventId === undefined ? {} : { lastEventId }),
            onEnd: () => {
              ended = true;
              stream?.end(sse.retryMs());
            },
          },
        ),
      );
      // From here on the answer is the stream; Fastify no longer sends anything for it.
      reply.hijack();
      const raw = reply.raw;
      raw.writeHead(200, {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache, no-transform",
        // A proxy must pass events on as they come (nginx buffers otherwise).
        "x-accel-buffering": "no",
        "x-request-id": request.id,
      });
      const opened = sse.add(raw, unsubscribe);
      stream = opened;
      // The client went away while the snapshot was read: its "close" has passed already.
      if (raw.destroyed || request.raw.socket.destroyed) {
        opened.end();
        unsubscribe();
        return;
      }
      for (const event of early) opened.send(event);
      const expiresAt = userTokenExpiry(request);
      if (expiresAt !== undefined) opened.expireAt(expiresAt);
      if (ended) opened.end(sse.retryMs());
    },
  );
}
