// What every route module gets: the typed Fastify scope, the engine and the metrics.
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import type {
  FastifyBaseLogger,
  FastifyInstance,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerDefault,
} from "fastify";
import type { Engine } from "../engine.js";
import type { HttpMetrics, OperationName } from "./metrics.js";
import type { SseStreams } from "./sse.js";
import type { LiveStats, StatsRecorder } from "./stats.js";
import type { UserTokens } from "./tokens.js";

export type App = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export interface RouteDeps {
  engine: Engine;
  metrics: HttpMetrics;
  /** Per-second figures for GET /v1/admin/stats and /dashboard. */
  stats: StatsRecorder;
  /**
   * The live event stream's figures (open streams), read once a second by the stats; until a stream
   * module sets it, the dashboard shows 0 open streams.
   */
  liveStats?: () => LiveStats;
  /** Signs and checks the user tokens of /events. */
  tokens: UserTokens;
  /** The app's open event streams. */
  sse: SseStreams;
  /** The service token (READSTATE_API_TOKEN), when /v1 requires one. */
  apiToken: string | undefined;
}

export interface OpenApiOverrides {
  /** The body to document when the validated one is looser (POST /v1/batch checks ops one by one). */
  body?: unknown;
  /** False when the body may be left out (POST /v1/users/{userId}/read). */
  bodyRequired?: boolean;
  /** The 200 body to document when the serialized one is flattened for speed (batch results). */
  ok?: unknown;
  /** A user token (`?access_token=` or Bearer) is accepted besides the service token (/events). */
  userToken?: boolean;
}

declare module "fastify" {
  /** Documentation fields read by the /openapi.json generator; Fastify itself ignores them. */
  interface FastifySchema {
    /** Unique across the API: the name code generators give the call (checked by openapi.ts). */
    operationId?: string;
    summary?: string;
    description?: string;
    tags?: string[];
    produces?: string[];
    /** Left out of /openapi.json: a page for people (/dashboard, /demo), not an API operation. */
    hide?: boolean;
  }

  interface FastifyContextConfig {
    /** The operation a route performs, for metrics of requests rejected before the engine ran. */
    op?: OperationName;
    /** What /openapi.json shows where validation or serialization deliberately differs from the shape. */
    openapi?: OpenApiOverrides;
  }
}
