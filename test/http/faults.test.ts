// Real faults between the service and its stores: the connections go through TCP proxies that this
// test cuts (open connections reset, new ones refused) and restores.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { cleanup, engineFor, testSpace } from "../helpers/env.js";
import { type CuttableProxy, cuttableProxy } from "../helpers/net.js";
import { call } from "./helpers.js";

const space = testSpace("http-faults");
let redisProxy: CuttableProxy;
let postgresProxy: CuttableProxy;
let engine: Engine;
let app: ReadStateApp;

beforeAll(async () => {
  redisProxy = await cuttableProxy("127.0.0.1", 6379);
  postgresProxy = await cuttableProxy("127.0.0.1", 5432);
  engine = await engineFor(space, {
    redisUrl: `redis://127.0.0.1:${redisProxy.port}`,
    databaseUrl: `postgres://postgres@127.0.0.1:${postgresProxy.port}/postgres`,
  });
  app = build({ engine });
  await app.ready();
  await call(app, "PUT", "/v1/channels/f1/members/ann");
  await call(app, "POST", "/v1/channels/f1/messages", { messageId: "m1", senderId: "bob" });
});

afterAll(async () => {
  await redisProxy?.restore().catch(() => {});
  await postgresProxy?.restore().catch(() => {});
  await app?.close();
  await engine?.close().catch(() => {});
  await redisProxy?.close();
  await postgresProxy?.close();
  await cleanup(space);
});

async function eventually<T>(
  probe: () => Promise<T>,
  accept: (value: T) => boolean,
  ms = 10_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe("Redis unreachable", () => {
  it("answers 503 unavailable, /readyz 503 naming Redis, and recovers when Redis is back", async () => {
    await redisProxy.cut();
    const read = await call(app, "POST", "/v1/channels/f1/read", { userId: "ann" });
    expect(read.status).toBe(503);
    expect(read.body).toEqual({ error: { code: "unavailable", message: expect.any(String) } });
    const batch = await call(app, "POST", "/v1/batch", {
      ops: [{ op: "read", channelId: "f1", userId: "ann" }],
    });
    expect(batch.status).toBe(200);
    expect(batch.body.results[0]).toMatchObject({ ok: false, error: { code: "unavailable" } });

    const ready = await call(app, "GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.ready).toBe(false);
    expect(ready.body.redis.ok).toBe(false);
    expect(ready.body.redis.reason).toMatch(/Redis/);
    expect(ready.body.error.code).toBe("unavailable");
    // Metrics still scrape while Redis is away (the backlog gauges keep their last value).
    const metrics = await call(app, "GET", "/metrics");
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('readstate_operations_total{op="read",outcome="unavailable"} 2');

    await redisProxy.restore();
    const back = await eventually(
      () => call(app, "POST", "/v1/channels/f1/read", { userId: "ann" }),
      (answer) => answer.status === 200,
    );
    expect(back.status).toBe(200);
    // Nothing was applied while Redis was away; the read after it moved the cursor once.
    expect(back.body).toMatchObject({ readSeq: 1, unread: 0 });
    expect((await call(app, "GET", "/readyz")).status).toBe(200);
  });
});

describe("PostgreSQL unreachable", () => {
  it("keeps accepting writes while /readyz answers 503 naming PostgreSQL", async () => {
    await postgresProxy.cut();
    const post = await call(app, "POST", "/v1/channels/f1/messages", { messageId: "m2", senderId: "bob" });
    expect(post.status).toBe(201);
    const ready = await call(app, "GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.postgres.ok).toBe(false);
    expect(ready.body.error.message).toMatch(/postgres/i);

    await postgresProxy.restore();
    const back = await eventually(
      () => call(app, "GET", "/readyz"),
      (answer) => answer.status === 200,
    );
    expect(back.status).toBe(200);
    const flush = await call(app, "POST", "/v1/admin/flush");
    expect(flush.status).toBe(200);
    expect(flush.body.remaining).toBe(0);
  });
});
