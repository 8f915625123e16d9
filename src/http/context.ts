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
}

declare module "fastify" {
  /** Documentation fields read by the /openapi.json generator; Fastify itself ignores them. */
  interface FastifySchema {
    summary?: string;
    tags?: string[];
    produces?: string[];
  }

  interface FastifyContextConfig {
    /** The operation a route performs, for metrics of requests rejected before the engine ran. */
    op?: OperationName;
    /** What /openapi.json shows as the body when validation is deliberately looser (POST /v1/batch). */
    openapiBody?: unknown;
  }
}
