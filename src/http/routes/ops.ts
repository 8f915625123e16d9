// Endpoints for orchestrators and monitoring; open without the API token (they reveal no user data).

import { Type } from "typebox";
import type { Readiness } from "../../core/types.js";
import type { App, RouteDeps } from "../context.js";
import { errorBody, ReadinessBody } from "../schemas.js";

/** A readiness probe that hangs is worse than one that fails: load balancers time out differently. */
const READINESS_TIMEOUT_MS = 3000;

export function opsRoutes(app: App, { engine, metrics }: RouteDeps, openapi: () => unknown): void {
  app.get(
    "/healthz",
    {
      schema: {
        operationId: "getHealth",
        summary: "The process is up",
        tags: ["ops"],
        response: { 200: Type.Object({ status: Type.Literal("ok") }) },
      },
    },
    async () => ({ status: "ok" as const }),
  );

  app.get(
    "/readyz",
    {
      schema: {
        operationId: "getReadiness",
        summary: "Redis and PostgreSQL reachable, schema in place; 503 with the reasons otherwise",
        tags: ["ops"],
        response: {
          200: ReadinessBody,
          // While the server shuts down, app.ts answers every request with the bare error body: the
          // 503 schema must take it too, or serializing it fails and the probe sees a 500.
          503: Type.Union([ReadinessBody, errorBody(["unavailable"], "the server is shutting down")], {
            description: "not ready (each dependency's verdict), or shutting down (the error alone)",
          }),
        },
      },
    },
    async (request, reply) => {
      const readiness = await readinessWithin(() => engine.readiness(), READINESS_TIMEOUT_MS).catch(
        (err: unknown): Readiness => {
          request.log.warn({ err }, "readiness check failed");
          const reason = `readiness check failed: ${err instanceof Error ? err.message : String(err)}`;
          return {
            ready: false,
            redis: { ok: false, reason },
            postgres: { ok: false, reason },
            schema: { ok: false, reason },
          };
        },
      );
      if (readiness.ready) return reply.code(200).send(readiness);
      const reasons = (["redis", "postgres", "schema"] as const)
        .filter((dependency) => !readiness[dependency].ok)
        .map((dependency) => `${dependency}: ${readiness[dependency].reason ?? "not ok"}`);
      // The error member repeats the reasons in the contract's error shape for clients that only read that.
      return reply.code(503).send({
        ...readiness,
        error: { code: "unavailable", message: reasons.join("; ") || "not ready" },
      });
    },
  );

  app.get(
    "/metrics",
    {
      schema: {
        operationId: "getMetrics",
        summary: "Prometheus metrics: operations, latency, write-behind backlog and lag, flushes, errors",
        tags: ["ops"],
        produces: ["text/plain"],
      },
    },
    async (_request, reply) => {
      const text = await metrics.scrape();
      return reply.type(metrics.registry.contentType).send(text);
    },
  );

  app.get(
    "/openapi.json",
    {
      schema: {
        operationId: "getOpenApiDocument",
        summary: "This API, as OpenAPI 3.1, generated from the route schemas",
        tags: ["ops"],
        response: {
          200: Type.Object({}, { additionalProperties: true, description: "an OpenAPI 3.1 document" }),
        },
      },
    },
    async () => openapi(),
  );
}

function readinessWithin(check: () => Promise<Readiness>, ms: number): Promise<Readiness> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    check().then(
      (readiness) => {
        clearTimeout(timer);
        resolve(readiness);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
