// Two Redis faults no proxy can show, each on a private redis-server (the shared one is never
// stopped or filled): a Redis that hangs (SIGSTOP, connections stay open) and a Redis at maxmemory.
import { performance } from "node:perf_hooks";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { connectRedis } from "../../src/redis/connection.js";
import { RedisStore } from "../../src/redis/store.js";
import { PrivateRedis } from "../faults/support/redis-server.js";
import { dropSchema, engineFor, testSpace } from "../helpers/env.js";
import { eventually } from "../helpers/wait.js";
import { type Answer, call } from "./helpers.js";

async function timed(run: () => Promise<Answer>): Promise<Answer & { ms: number }> {
  const started = performance.now();
  const answer = await run();
  return { ...answer, ms: performance.now() - started };
}

describe("Redis hung (SIGSTOP)", () => {
  const space = testSpace("redis-hung");
  const redis = new PrivateRedis();
  let engine: Engine;
  let app: ReadStateApp;

  beforeAll(async () => {
    await redis.start();
    engine = await engineFor(space, { redisUrl: redis.url }); // the default 2 s Redis timeout
    app = build({ engine });
    await app.ready();
    await call(app, "PUT", "/v1/channels/h1/members/ann");
    await call(app, "PUT", "/v1/channels/h1/members/bob");
    await call(app, "POST", "/v1/channels/h1/messages", { messageId: "m1", senderId: "bob" });
  });

  afterAll(async () => {
    redis.resume();
    await app?.close();
    await engine?.close().catch(() => {});
    await redis.destroy();
    await dropSchema(space);
  });

  it("answers 503 within 3 s, /readyz names Redis only, and nothing answered 503 applies on resume", async () => {
    redis.pause();
    const [join, post, read, batch, ready] = await Promise.all([
      timed(() => call(app, "PUT", "/v1/channels/h1/members/carl")),
      timed(() => call(app, "POST", "/v1/channels/h1/messages", { messageId: "m2", senderId: "bob" })),
      timed(() => call(app, "POST", "/v1/channels/h1/read", { userId: "ann" })),
      timed(() =>
        call(app, "POST", "/v1/batch", {
          ops: [{ op: "read", channelId: "h1", userId: "ann", messageId: "m1" }],
        }),
      ),
      timed(() => call(app, "GET", "/readyz")),
    ]);
    for (const answer of [join, post, read]) {
      expect(answer.status).toBe(503);
      expect(answer.body.error).toEqual({
        code: "unavailable",
        message: "Redis did not answer within 2000 ms; nothing was applied",
      });
      expect(answer.ms).toBeLessThan(3000);
    }
    expect(batch.body.results[0]).toMatchObject({ ok: false, error: { code: "unavailable" } });
    expect(batch.ms).toBeLessThan(3000);

    expect(ready.status).toBe(503);
    expect(ready.ms).toBeLessThan(3000);
    expect(ready.body.redis).toEqual({ ok: false, reason: expect.stringMatching(/^Redis did not answer/) });
    expect(ready.body.postgres).toEqual({ ok: true });
    expect(ready.body.schema).toEqual({ ok: true });

    // The stopped Redis still holds every script sent to it; they run now, past their deadlines.
    redis.resume();
    await eventually(async () => (await call(app, "GET", "/readyz")).status === 200);
    expect((await call(app, "GET", "/v1/channels/h1/members/carl")).body.error.code).toBe("not_a_member");
    expect((await call(app, "GET", "/v1/channels/h1/messages/m2/receipts")).body.error.code).toBe(
      "unknown_message",
    );
    expect((await call(app, "GET", "/v1/channels/h1/members/ann")).body).toMatchObject({
      readSeq: 0,
      unread: 1,
      channelSeq: 1,
    });
    // And the service goes on: the same post now applies, with the next seq.
    const again = await call(app, "POST", "/v1/channels/h1/messages", { messageId: "m2", senderId: "bob" });
    expect(again).toMatchObject({ status: 201, body: { seq: 2 } });
  });
});

describe("Redis at maxmemory (noeviction)", () => {
  const space = testSpace("redis-full");
  const redis = new PrivateRedis({ maxmemoryPolicy: "noeviction", maxmemory: "0" });
  let engine: Engine;
  let app: ReadStateApp;
  let filler: Redis;

  beforeAll(async () => {
    await redis.start();
    filler = new Redis(redis.url);
    engine = await engineFor(space, { redisUrl: redis.url });
    app = build({ engine });
    await app.ready();
    await call(app, "PUT", "/v1/channels/o1/members/ann");
    await call(app, "PUT", "/v1/channels/o1/members/bob");
    await call(app, "POST", "/v1/channels/o1/messages", {
      messageId: "m1",
      senderId: "bob",
      mentions: ["ann"],
    });
    // Fill Redis with the test's own keys up to a limit, then set the limit below what it uses: a
    // refused SET frees its own buffer, which would leave Redis a few bytes under the limit.
    const used = async () => Number(/used_memory:(\d+)/.exec(await filler.info("memory"))?.[1]);
    await filler.config("SET", "maxmemory", String((await used()) + 2 * 1024 * 1024));
    const block = "x".repeat(64 * 1024);
    for (let i = 0; ; i++) {
      const refused = await filler.set(`filler:${i}`, block).then(
        () => false,
        (err: Error) => /^OOM/.test(err.message),
      );
      if (refused) break;
    }
    await filler.config("SET", "maxmemory", String((await used()) - 256 * 1024));
  });

  afterAll(async () => {
    filler?.disconnect();
    await app?.close();
    await engine?.close().catch(() => {});
    await redis.destroy();
    await dropSchema(space);
  });

  it("refuses writes with 503 naming Redis memory, still answers reads, and shows it", async () => {
    for (const [method, url, body] of [
      ["POST", "/v1/channels/o1/messages", { messageId: "m2", senderId: "bob" }],
      ["PUT", "/v1/channels/o1/members/carl", undefined],
      ["POST", "/v1/channels/o1/read", { userId: "ann" }],
    ] as const) {
      const answer = await call(app, method, url, body);
      expect(answer.status).toBe(503);
      expect(answer.body.error.code).toBe("unavailable");
      expect(answer.body.error.message).toMatch(/Redis is out of memory .*maxmemory.*nothing was applied/);
    }

    expect((await call(app, "GET", "/v1/channels/o1/members/ann")).body).toMatchObject({
      unread: 1,
      mentions: 1,
    });
    expect((await call(app, "GET", "/v1/channels/o1")).body).toMatchObject({ channelSeq: 1, memberCount: 2 });
    expect((await call(app, "GET", "/v1/channels/o1/messages/m1/receipts")).status).toBe(200);
    expect((await call(app, "GET", "/v1/users/ann/unread")).body).toMatchObject({ unread: 1, mentions: 1 });

    const ready = await call(app, "GET", "/readyz");
    expect(ready.status).toBe(503);
    expect(ready.body.redis).toEqual({
      ok: false,
      reason: expect.stringMatching(/^Redis reached maxmemory/),
    });
    expect(ready.body.postgres).toEqual({ ok: true });
    const metrics = await call(app, "GET", "/metrics");
    expect(metrics.body).toMatch(/^readstate_redis_memory_full 1$/m);

    // The write-behind path (claim, write, clear, its stats) still runs: the backlog drains.
    const flush = await call(app, "POST", "/v1/admin/flush");
    expect(flush).toMatchObject({ status: 200, body: { remaining: 0 } });
    expect((await call(app, "GET", "/v1/admin/sync")).body).toMatchObject({
      dirty: 0,
      lastFlushRows: flush.body.flushed,
    });
  });

  it("reads issued with writes in one turn still answer; the writes fail whole", async () => {
    const client = connectRedis(redis.url);
    await client.connect();
    try {
      const store = new RedisStore(client, space.keyPrefix, 60_000);
      // One tick: the batcher sends both in one apply call, which Redis refuses as a whole.
      const [state, read] = await Promise.allSettled([
        store.memberState("o1", "ann"),
        store.markRead("o1", "ann", undefined),
      ]);
      expect(state).toMatchObject({ status: "fulfilled", value: { readSeq: 0, unread: 1 } });
      expect(read).toMatchObject({ status: "rejected", reason: { code: "unavailable" } });
    } finally {
      client.disconnect();
    }
  });

  it("leaves nothing half-applied once memory is back", async () => {
    await filler.config("SET", "maxmemory", "0");
    expect((await call(app, "GET", "/v1/channels/o1")).body).toMatchObject({ channelSeq: 1, memberCount: 2 });
    expect((await call(app, "GET", "/v1/channels/o1/members/ann")).body).toMatchObject({
      readSeq: 0,
      unread: 1,
    });
    expect((await call(app, "GET", "/readyz")).status).toBe(200);
    expect((await call(app, "GET", "/metrics")).body).toMatch(/^readstate_redis_memory_full 0$/m);
    const post = await call(app, "POST", "/v1/channels/o1/messages", { messageId: "m2", senderId: "bob" });
    expect(post).toMatchObject({ status: 201, body: { seq: 2 } });
  });
});
