// Operator endpoints under /v1/admin (token-protected like the rest of /v1).
import type { App, RouteDeps } from "../context.js";
import { FlushBody, StatsBody, StatsQuery, SyncStatusBody, v1Errors } from "../schemas.js";

export function adminRoutes(app: App, { engine, metrics, stats }: RouteDeps): void {
  app.post(
    "/v1/admin/flush",
    {
      config: { op: "flush" },
      schema: {
        operationId: "flushToPostgres",
        summary: "Write everything dirty at the time of the call to PostgreSQL before answering",
        tags: ["admin"],
        response: { 200: FlushBody, ...v1Errors({}) },
      },
    },
    () => metrics.run("flush", () => engine.flush()),
  );

  app.get(
    "/v1/admin/sync",
    {
      config: { op: "sync_status" },
      schema: {
        operationId: "getSyncStatus",
        summary: "The write-behind backlog",
        tags: ["admin"],
        response: { 200: SyncStatusBody, ...v1Errors({}) },
      },
    },
    () => metrics.run("sync_status", () => engine.syncStatus()),
  );

  app.get(
    "/v1/admin/stats",
    {
      schema: {
        operationId: "getStats",
        summary:
          "This process's throughput, p99 latency, errors, backlog, flushes and open streams, per second",
        description:
          "The figures /dashboard draws: rates over the last few seconds and one point per second for the " +
          "last 5 minutes. Answered from memory (the backlog is read once a second), so polling it is cheap.",
        tags: ["admin"],
        querystring: StatsQuery,
        response: { 200: StatsBody, ...v1Errors({ validated: true }) },
      },
    },
    async ({ query }) => stats.report(query.since),
  );
}
