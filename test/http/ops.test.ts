// /healthz, /readyz, /metrics, /openapi.json and the API token.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build } from "../../src/http/app.js";
import { BATCH_OP_NAMES } from "../../src/http/schemas.js";
import { call, type HttpFixture, httpFixture } from "./helpers.js";

let fx: HttpFixture;

beforeAll(async () => {
  fx = await httpFixture("http-ops");
});
afterAll(async () => {
  await fx?.close();
});

describe("probes", () => {
  it("/healthz answers 200", async () => {
    const answer = await call(fx.app, "GET", "/healthz");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ status: "ok" });
  });

  it("/readyz answers 200 with each dependency's verdict", async () => {
    const answer = await call(fx.app, "GET", "/readyz");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      ready: true,
      redis: { ok: true },
      postgres: { ok: true },
      schema: { ok: true },
    });
  });
});

describe("/metrics", () => {
  it("counts operations by type and outcome and times them", async () => {
    await call(fx.app, "PUT", "/v1/channels/mc/members/ann");
    await call(fx.app, "POST", "/v1/channels/mc/messages", { messageId: "m1", senderId: "ann" });
    await call(fx.app, "GET", "/v1/channels/mc/members/nobody");
    await call(fx.app, "POST", "/v1/channels/mc/read", { userId: "bad id" });
    await call(fx.app, "POST", "/v1/batch", { ops: [{ op: "join", channelId: "mc", userId: "bo" }] });
    const answer = await call(fx.app, "GET", "/metrics");
    expect(answer.status).toBe(200);
    expect(String(answer.headers["content-type"])).toMatch(/^text\/plain/);
    const text = answer.body as string;
    expect(text).toContain('readstate_operations_total{op="join",outcome="ok"} 2');
    expect(text).toContain('readstate_operations_total{op="post",outcome="ok"} 1');
    expect(text).toContain('readstate_operations_total{op="member_state",outcome="not_a_member"} 1');
    expect(text).toContain('readstate_operations_total{op="read",outcome="validation_failed"} 1');
    expect(text).toContain('readstate_operations_total{op="batch",outcome="ok"} 1');
    expect(text).toMatch(/readstate_operation_duration_seconds_count\{op="post"\} 1/);
  });

  it("reads the write-behind backlog on scrape and counts flushes", async () => {
    const dirty = (await call(fx.app, "GET", "/metrics")).body as string;
    expect(Number(/^readstate_sync_dirty (\S+)$/m.exec(dirty)?.[1])).toBeGreaterThan(0);
    expect(dirty).toMatch(/^readstate_sync_oldest_dirty_age_seconds \S+$/m);
    await call(fx.app, "POST", "/v1/admin/flush");
    const flushed = (await call(fx.app, "GET", "/metrics")).body as string;
    expect(flushed).toMatch(/^readstate_sync_dirty 0$/m);
    expect(Number(/^readstate_flush_rows_total (\S+)$/m.exec(flushed)?.[1])).toBeGreaterThan(0);
    expect(flushed).toMatch(/^readstate_flush_duration_seconds_count [1-9]/m);
    expect(flushed).toMatch(/^readstate_flush_errors_total 0$/m);
    expect(flushed).toContain('readstate_dependency_errors_total{dependency="redis"} 0');
    expect(flushed).toContain('readstate_dependency_errors_total{dependency="postgres"} 0');
  });

  it("keeps one registry per app, so two apps in one process do not collide", async () => {
    const other = build({ engine: fx.engine });
    await other.ready();
    const text = (await call(other, "GET", "/metrics")).body as string;
    expect(text).not.toContain('op="post",outcome="ok"');
    await other.close();
  });
});

describe("/openapi.json", () => {
  it("documents every route of docs/API.md from the route schemas", async () => {
    const answer = await call(fx.app, "GET", "/openapi.json");
    expect(answer.status).toBe(200);
    const doc = answer.body;
    expect(doc.openapi).toBe("3.1.0");
    const routes = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect(routes.sort()).toEqual(
      [
        "PUT /v1/channels/{channelId}/members/{userId}",
        "DELETE /v1/channels/{channelId}/members/{userId}",
        "GET /v1/channels/{channelId}/members/{userId}",
        "POST /v1/channels/{channelId}/messages",
        "POST /v1/channels/{channelId}/read",
        "POST /v1/channels/{channelId}/unread",
        "GET /v1/users/{userId}/unread",
        "GET /v1/channels/{channelId}",
        "GET /v1/channels/{channelId}/messages/{messageId}/receipts",
        "DELETE /v1/channels/{channelId}",
        "DELETE /v1/channels/{channelId}/messages/{messageId}",
        "PATCH /v1/channels/{channelId}/members/{userId}",
        "POST /v1/users/{userId}/read",
        "GET /v1/users/{userId}/threads",
        "GET /v1/users/{userId}/events",
        "POST /v1/users/{userId}/tokens",
        "PUT /v1/channels/{channelId}/threads/{threadId}/followers/{userId}",
        "DELETE /v1/channels/{channelId}/threads/{threadId}/followers/{userId}",
        "GET /v1/channels/{channelId}/threads/{threadId}/followers/{userId}",
        "POST /v1/channels/{channelId}/threads/{threadId}/read",
        "POST /v1/channels/{channelId}/threads/{threadId}/unread",
        "GET /v1/channels/{channelId}/threads/{threadId}",
        "POST /v1/batch",
        "POST /v1/admin/flush",
        "GET /v1/admin/sync",
        "GET /v1/admin/stats",
        "GET /healthz",
        "GET /readyz",
        "GET /metrics",
        "GET /openapi.json",
      ].sort(),
    );
    const post = doc.paths["/v1/channels/{channelId}/messages"].post;
    expect(Object.keys(post.responses)).toEqual(["200", "201", "400", "404", "413", "500", "503"]);
    expect(post.requestBody.content["application/json"].schema.required).toEqual(["messageId", "senderId"]);
    const receipts = doc.paths["/v1/channels/{channelId}/messages/{messageId}/receipts"].get;
    expect(receipts.parameters.map((p: { name: string; in: string }) => `${p.in}:${p.name}`)).toEqual([
      "path:channelId",
      "path:messageId",
      "query:limit",
      "query:after",
    ]);
    // The batch body is documented op by op even though the handler validates each op itself.
    const batchOps =
      doc.paths["/v1/batch"].post.requestBody.content["application/json"].schema.properties.ops;
    expect(batchOps.maxItems).toBe(1000);
    expect(batchOps.items.anyOf).toHaveLength(BATCH_OP_NAMES.length);
  });
});

describe("API token", () => {
  const token = "s3cret-token";
  let secured: ReturnType<typeof build>;

  beforeAll(async () => {
    secured = build({ engine: fx.engine, apiToken: token });
    await secured.ready();
  });
  afterAll(async () => {
    await secured.close();
  });

  it("401 unauthorized without the header, with another scheme, or with a wrong token", async () => {
    const attempts: Record<string, string>[] = [
      {},
      { authorization: `Basic ${token}` },
      { authorization: "Bearer wrong" },
      { authorization: `Bearer ${token}x` },
      { authorization: "Bearer" },
    ];
    for (const headers of attempts) {
      const answer = await call(secured, "GET", "/v1/users/ann/unread", undefined, headers);
      expect(answer.status).toBe(401);
      expect(answer.body).toEqual({ error: { code: "unauthorized", message: expect.any(String) } });
      expect(answer.headers["www-authenticate"]).toBe("Bearer");
    }
  });

  it("guards every /v1 route, including admin and batch, before validation", async () => {
    expect((await call(secured, "POST", "/v1/admin/flush")).status).toBe(401);
    expect((await call(secured, "POST", "/v1/batch", { ops: "malformed" })).status).toBe(401);
    expect((await call(secured, "PUT", "/v1/channels/bad%20id/members/x")).status).toBe(401);
  });

  it("lets the right bearer token through (scheme case-insensitive)", async () => {
    const answer = await call(secured, "GET", "/v1/users/ann/unread", undefined, {
      authorization: `bearer ${token}`,
    });
    expect(answer.status).toBe(200);
  });

  it("leaves /healthz, /readyz, /metrics and /openapi.json open", async () => {
    for (const url of ["/healthz", "/readyz", "/metrics", "/openapi.json"]) {
      expect((await call(secured, "GET", url)).status).toBe(200);
    }
    const doc = (await call(secured, "GET", "/openapi.json")).body;
    expect(doc.paths["/v1/batch"].post.security).toEqual([{ bearer: [] }]);
  });
});
