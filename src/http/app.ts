// The HTTP adapter over the engine (docs/API.md). build() returns the app without listening, so tests
// drive it with inject() and the CLI decides where it listens.
import { randomUUID } from "node:crypto";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, { type FastifyBaseLogger, type FastifyServerOptions, LogController } from "fastify";
import type { Engine } from "../engine.js";
import { bearerAuth } from "./auth.js";
import type { App, RouteDeps } from "./context.js";
import { errorHandler, errorReply, notFoundHandler } from "./errors.js";
import { createMetrics, type HttpMetrics } from "./metrics.js";
import { OpenApiCollector } from "./openapi.js";
import { adminRoutes } from "./routes/admin.js";
import { batchRoutes } from "./routes/batch.js";
import { channelRoutes } from "./routes/channels.js";
import { eventRoutes, tokenRoutes } from "./routes/events.js";
import { memberRoutes } from "./routes/members.js";
import { opsRoutes } from "./routes/ops.js";
import { pageRoutes } from "./routes/pages.js";
import { threadRoutes } from "./routes/threads.js";
import { userRoutes } from "./routes/users.js";
import { SSE_DEFAULTS, type SseSettings, SseStreams } from "./sse.js";
import { type LiveStats, StatsRecorder } from "./stats.js";
import { UserTokens } from "./tokens.js";
import { validatorCompiler } from "./validation.js";

/** docs/API.md: bodies over 1 MiB are refused with 413. */
export const BODY_LIMIT = 1024 * 1024;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export interface BuildOptions {
  engine: Engine;
  /** When set, every /v1/** request needs `Authorization: Bearer <apiToken>`. */
  apiToken?: string | undefined;
  /** A pino logger, pino options (e.g. `{ level: "warn" }`), or false/undefined for no logs. */
  logger?: FastifyBaseLogger | FastifyServerOptions["logger"];
  /**
   * Log every request ("incoming request" / "request completed" at info level). Off by default:
   * two log lines per request cost more than the request itself at the rated load; errors are
   * always logged, with their request id.
   */
  logRequests?: boolean;
  /**
   * Serve /demo (a chat page over this API). Unset: only while no apiToken is configured, so a
   * production deployment never exposes it; true or false forces it (`--demo`, READSTATE_DEMO).
   */
  demo?: boolean | undefined;
  /** The live event stream's figures for /v1/admin/stats (open streams); 0 streams without it. */
  liveStats?: () => LiveStats;
  /** Signs the user tokens of /events; unset: derived from apiToken (http/tokens.ts). */
  tokenSecret?: string | undefined;
  /** Lifetime of a user token in seconds (default 3600). */
  userTokenTtlS?: number;
  /** Event stream timings and bounds (http/sse.ts); tests shorten them. */
  sse?: Partial<SseSettings>;
}

/** How long a user token lives when the caller does not say (READSTATE_USER_TOKEN_TTL_S). */
const USER_TOKEN_TTL_S = 3600;

export type ReadStateApp = App & {
  readonly metrics: HttpMetrics;
  readonly stats: StatsRecorder;
  /** The pages served, for the start-up log line: "/dashboard" always, "/demo" when enabled. */
  readonly pages: string[];
};

export function build(options: BuildOptions): ReadStateApp {
  const { engine, apiToken } = options;
  const app = Fastify({
    ...loggerOptions(options.logger),
    logController: new LogController({ disableRequestLogging: !options.logRequests }),
    bodyLimit: BODY_LIMIT,
    // Long IDs must reach validation (400 in the contract's shape) instead of the router's own
    // error: no parameter longer than Node's 16 KiB header limit can arrive anyway.
    routerOptions: { maxParamLength: 16_384, ignoreTrailingSlash: true },
    // Fastify's own 503 while closing is not in the contract's shape: the onRequest hook below answers.
    return503OnClosing: false,
    // Callers (or a proxy) may pass their own request id so logs line up across services; one that
    // is not a short token is replaced, so a header cannot flood or forge log lines.
    requestIdHeader: false,
    genReqId: (request) => {
      const passed = request.headers["x-request-id"];
      return typeof passed === "string" && REQUEST_ID.test(passed) ? passed : randomUUID();
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Read through deps at each sample, so a module that registers later (the event stream) can set it.
  const stats = new StatsRecorder(engine, { liveStats: () => deps.liveStats?.() });
  const metrics = createMetrics(
    engine,
    (err) => app.log.warn({ err }, "metrics: could not read the sync status"),
    stats,
  );
  const openapi = new OpenApiCollector();
  const sse = new SseStreams({ ...SSE_DEFAULTS, ...options.sse }, { dropped: () => metrics.streamDropped() });
  const tokens = new UserTokens(
    { tokenSecret: options.tokenSecret, apiToken },
    options.userTokenTtlS ?? USER_TOKEN_TTL_S,
  );
  const deps: RouteDeps = {
    engine,
    metrics,
    stats,
    tokens,
    sse,
    apiToken,
    liveStats: options.liveStats ?? (() => ({ openStreams: sse.size })),
  };
  stats.start();

  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(errorHandler(metrics));
  app.setNotFoundHandler(notFoundHandler);
  app.addHook("onRoute", openapi.onRoute);
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    done();
  });
  // close() waits for every connection to end. Connections idle at that moment are closed by Fastify,
  // but a keep-alive connection whose request was in flight turns idle only after its response, and
  // would then hold shutdown until the client hangs up: keep closing idle connections until done.
  let idleSweeper: NodeJS.Timeout | undefined;
  let closing = false;
  app.addHook("onRequest", (_request, reply, done) => {
    if (!closing) return done();
    reply
      .code(503)
      .header("connection", "close")
      .send(errorReply(503, "unavailable", "the server is shutting down; retry on another instance").body);
  });
  app.addHook("preClose", (done) => {
    closing = true;
    // Event streams never end on their own: each gets a jittered retry hint and ends now, so that
    // close() does not wait on them and their clients spread their reconnects over other instances.
    sse.endAll();
    idleSweeper = setInterval(() => app.server.closeIdleConnections(), 50);
    idleSweeper.unref();
    done();
  });
  app.addHook("onClose", async () => {
    clearInterval(idleSweeper);
    metrics.close();
    stats.stop();
  });

  // An empty body with Content-Type: application/json means "no body" (curl -X POST -H ... with no
  // data), not a parse error; anything else goes through Fastify's own safe JSON parser.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text.trim() === "") {
      done(null, undefined);
      return;
    }
    parseJson(request, text, done);
  });

  opsRoutes(app, deps, () =>
    openapi.toJSON({ title: "readstate", version: "1.1.0", secured: Boolean(apiToken) }),
  );
  app.register(async (v1) => {
    if (apiToken) v1.addHook("onRequest", bearerAuth(apiToken, metrics));
    memberRoutes(v1, deps);
    userRoutes(v1, deps);
    channelRoutes(v1, deps);
    threadRoutes(v1, deps);
    batchRoutes(v1, deps);
    adminRoutes(v1, deps);
    tokenRoutes(v1, deps);
  });
  const demo = options.demo ?? !apiToken;
  pageRoutes(app, deps, { apiToken, demo });
  // Its own scope: a user token opens it, which the rest of /v1 refuses.
  app.register(async (live) => eventRoutes(live, deps));

  return Object.assign(app, { metrics, stats, pages: demo ? ["/dashboard", "/demo"] : ["/dashboard"] });
}

function loggerOptions(
  logger: BuildOptions["logger"],
): Pick<FastifyServerOptions, "logger" | "loggerInstance"> {
  if (logger && typeof logger === "object" && "child" in logger && typeof logger.child === "function") {
    // Fastify merges the instance's serializers over its own, so this `req` wins.
    return {
      loggerInstance: (logger as FastifyBaseLogger).child({}, { serializers: { req: requestForLog } }),
    };
  }
  if (logger && typeof logger === "object") {
    const options = logger as Exclude<FastifyServerOptions["logger"], boolean | undefined>;
    return { logger: { ...options, serializers: { ...options.serializers, req: requestForLog } } };
  }
  return { logger: logger === true ? { serializers: { req: requestForLog } } : false };
}

/** The query parameter that may carry a token; it must never reach a log line. */
const TOKEN_PARAMETER = "access_token";

/** The URL with the value of every access_token parameter masked, however its name is encoded. */
export function urlForLog(url: string): string {
  const at = url.indexOf("?");
  if (at < 0) return url;
  const parts = url
    .slice(at + 1)
    .split("&")
    .map((part) => {
      const [name = ""] = part.split("=", 1);
      let decoded = name;
      try {
        decoded = decodeURIComponent(name.replace(/\+/g, " "));
      } catch {
        // Not decodable: the querystring parser does not read it as access_token either.
      }
      return decoded === TOKEN_PARAMETER ? `${name}=[redacted]` : part;
    });
  return `${url.slice(0, at)}?${parts.join("&")}`;
}

/** Fastify's own `req` serializer, with tokens in the URL masked. */
function requestForLog(request: {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}) {
  return {
    method: request.method,
    url: request.url === undefined ? undefined : urlForLog(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}
