// Operator endpoints under /v1/admin (token-protected like the rest of /v1).
import type { App, RouteDeps } from "../context.js";
import { FlushBody, SyncStatusBody, V1Errors } from "../schemas.js";

export function adminRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.post(
    "/v1/admin/flush",
    {
      config: { op: "flush" },
      schema: {
        summary: "Write everything dirty at the time of the call to PostgreSQL before answering",
        tags: ["admin"],
        response: { 200: FlushBody, ...V1Errors },
      },
    },
    () => metrics.run("flush", () => engine.flush()),
  );

  app.get(
    "/v1/admin/sync",
    {
      config: { op: "sync_status" },
      schema: {
        summary: "The write-behind backlog",
        tags: ["admin"],
        response: { 200: SyncStatusBody, ...V1Errors },
      },
    },
    () => metrics.run("sync_status", () => engine.syncStatus()),
  );
}
