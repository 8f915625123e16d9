// Backpressure (src/sync/backpressure.ts) for real: the backlog grows past a tiny threshold in the
// shared Redis, flushes commit to (or fail on) the shared PostgreSQL, and the API process's gate
// follows. The API engine runs no worker; flushes come from a second engine on the same prefix and
// schema, as a separate `readstate worker` would, so the gate sees only what Redis holds.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { cleanup, engineFor, testSpace } from "../helpers/env.js";
import { type CuttableProxy, cuttableProxy } from "../helpers/net.js";
import { call } from "./helpers.js";

const THRESHOLD_MS = 300;

async function until<T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, ms = 10_000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function metric(text: string, line: string): number {
  const found = text.split("\n").find((l) => l.startsWith(`${line} `));
  return found ? Number(found.slice(line.length + 1)) : Number.NaN;
}

describe("the worker falls behind while PostgreSQL answers", () => {
  const space = testSpace("backpressure");
  let api: Engine;
  let worker: Engine;
  let app: ReadStateApp;

  beforeAll(async () => {
    // The flush interval (and so the window in which a flush counts as recent: interval + 5 s) is far
    // longer than the threshold: the backlog crosses it between two flushes.
    const options = { backpressureAgeMs: THRESHOLD_MS, flushIntervalMs: 20_000 };
    api = await engineFor(space, options);
    worker = await engineFor(space, { ...options, migrate: false });
    app = build({ engine: api });
    await app.ready();
  });

  afterAll(async () => {
    await app?.close();
    await api?.close();
    await worker?.close();
    await cleanup(space);
  });

  const sync = () => call(app, "GET", "/v1/admin/sync");

  it("refuses writes with 503 and Retry-After, applies nothing, answers reads, then accepts again", async () => {
    expect((await call(app, "PUT", "/v1/channels/bp/members/ann")).status).toBe(200);
    const first = { messageId: "m1", senderId: "ann" };
    expect((await call(app, "POST", "/v1/channels/bp/messages", first)).status).toBe(201);
    await worker.flush();
    expect((await sync()).body).toMatchObject({ dirty: 0, shedding: false, backpressureAgeMs: THRESHOLD_MS });

    // Acknowledged, then left unflushed past the threshold while the last flush is recent.
    const second = { messageId: "m2", senderId: "ann" };
    expect((await call(app, "POST", "/v1/channels/bp/messages", second)).status).toBe(201);
    await until("shedding", sync, (answer) => answer.body.shedding === true);

    const post = await call(app, "POST", "/v1/channels/bp/messages", { messageId: "m3", senderId: "ann" });
    expect(post.status).toBe(503);
    expect(post.body).toEqual({ error: { code: "unavailable", message: expect.stringMatching(/retry/) } });
    expect(post.headers["retry-after"]).toBe("1");
    const refused = [
      await call(app, "PUT", "/v1/channels/bp/members/bob"),
      await call(app, "DELETE", "/v1/channels/bp/members/ann"),
      await call(app, "POST", "/v1/channels/bp/read", { userId: "ann", messageId: "m1" }),
      await call(app, "POST", "/v1/channels/bp/unread", { userId: "ann", messageId: "m1" }),
      await call(app, "DELETE", "/v1/channels/bp"),
    ];
    for (const answer of refused) {
      expect(answer.status).toBe(503);
      expect(answer.headers["retry-after"]).toBe("1");
    }
    // Bad input is still told apart: a retry would not help it.
    expect((await call(app, "POST", "/v1/channels/bp/messages", { senderId: "ann" })).status).toBe(400);

    const batch = await call(app, "POST", "/v1/batch", {
      ops: [
        { op: "post", channelId: "bp", messageId: "m4", senderId: "ann" },
        { op: "join", channelId: "bp2", userId: "carl" },
        { op: "read", channelId: "bp", userId: "ann" },
        { op: "bogus" },
      ],
    });
    expect(batch.status).toBe(200);
    expect(batch.headers["retry-after"]).toBe("1");
    expect(batch.body.results.map((r: { error?: { code: string } }) => r.error?.code)).toEqual([
      "unavailable",
      "unavailable",
      "unavailable",
      "validation_failed",
    ]);
    // A batch of writes only is refused whole, before any per-op work.
    const writes = await call(app, "POST", "/v1/batch", {
      ops: [
        { op: "post", channelId: "bp", messageId: "m5", senderId: "ann" },
        { op: "read", channelId: "bp", userId: "ann" },
      ],
    });
    expect(writes.status).toBe(503);
    expect(writes.headers["retry-after"]).toBe("1");
    expect(writes.body.error.code).toBe("unavailable");

    // The v1.1 writes are refused alike, alone and as a batch of writes only.
    const refusedToo = [
      await call(app, "DELETE", "/v1/channels/bp/messages/m1"),
      await call(app, "PATCH", "/v1/channels/bp/members/ann", { muted: true }),
      await call(app, "POST", "/v1/users/ann/read", {}),
      await call(app, "PUT", "/v1/channels/bp/threads/m1/followers/ann"),
    ];
    for (const answer of refusedToo) {
      expect(answer.status).toBe(503);
      expect(answer.headers["retry-after"]).toBe("1");
    }
    const newWrites = await call(app, "POST", "/v1/batch", {
      ops: [
        { op: "deleteMessage", channelId: "bp", messageId: "m1" },
        { op: "mute", channelId: "bp", userId: "ann", muted: true },
        { op: "follow", channelId: "bp", threadId: "m1", userId: "ann" },
        { op: "threadRead", channelId: "bp", threadId: "m1", userId: "ann" },
      ],
    });
    expect(newWrites.status).toBe(503);
    // The read ops (state, userUnread) are never refused, and keep their batch from being refused whole.
    const mixed = await call(app, "POST", "/v1/batch", {
      ops: [
        { op: "state", channelId: "bp", userId: "ann" },
        { op: "mute", channelId: "bp", userId: "ann", muted: true },
        { op: "userUnread", userId: "ann" },
      ],
    });
    expect(mixed.status).toBe(200);
    expect(mixed.headers["retry-after"]).toBe("1");
    expect(
      mixed.body.results.map((r: { ok: boolean; error?: { code: string } }) => r.error?.code ?? "ok"),
    ).toEqual(["ok", "unavailable", "ok"]);
    expect(mixed.body.results[0]).toMatchObject({ readSeq: 2, muted: false });
    const reads = await call(app, "POST", "/v1/batch", {
      ops: [
        { op: "state", channelId: "bp", userId: "ann" },
        { op: "userUnread", userId: "ann" },
      ],
    });
    expect(reads.status).toBe(200);
    expect(reads.headers["retry-after"]).toBeUndefined();
    expect(reads.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    // An empty batch writes nothing, so it is not refused.
    expect((await call(app, "POST", "/v1/batch", { ops: [] })).status).toBe(200);

    // Reads answer, and show that nothing refused took effect.
    const member = await call(app, "GET", "/v1/channels/bp/members/ann");
    expect(member.status).toBe(200);
    expect(member.body).toMatchObject({ readSeq: 2, channelSeq: 2, unread: 0 });
    expect((await call(app, "GET", "/v1/channels/bp")).body).toMatchObject({ channelSeq: 2, memberCount: 1 });
    for (const messageId of ["m3", "m4"]) {
      const receipts = await call(app, "GET", `/v1/channels/bp/messages/${messageId}/receipts`);
      expect(receipts.status).toBe(404);
      expect(receipts.body.error.code).toBe("unknown_message");
    }
    expect((await call(app, "GET", "/v1/channels/bp2")).status).toBe(404);
    expect((await call(app, "GET", "/v1/users/ann/unread")).status).toBe(200);
    expect((await call(app, "GET", "/v1/channels/bp/members/bob")).body.error.code).toBe("not_a_member");

    const metrics = (await call(app, "GET", "/metrics")).body as string;
    expect(metric(metrics, "readstate_backpressure_shedding")).toBe(1);
    expect(metric(metrics, 'readstate_writes_refused_total{op="post"}')).toBe(2);
    expect(metric(metrics, 'readstate_writes_refused_total{op="join"}')).toBe(2);
    expect(metric(metrics, 'readstate_writes_refused_total{op="delete_channel"}')).toBe(1);

    // The worker catches up: writes are accepted again.
    await worker.flush();
    await until("shedding to stop", sync, (answer) => answer.body.shedding === false);
    const again = await call(app, "POST", "/v1/channels/bp/messages", { messageId: "m3", senderId: "ann" });
    expect(again.status).toBe(201);
    expect(again.body.seq).toBe(3);
    expect(again.headers["retry-after"]).toBeUndefined();
    expect(metric((await call(app, "GET", "/metrics")).body, "readstate_backpressure_shedding")).toBe(0);
  });
});

describe("PostgreSQL unreachable", () => {
  const space = testSpace("backpressure-pg");
  let proxy: CuttableProxy;
  let engine: Engine;
  let app: ReadStateApp;
  let flushErrors = 0;

  beforeAll(async () => {
    proxy = await cuttableProxy("127.0.0.1", 5432);
    engine = await engineFor(space, {
      databaseUrl: `postgres://postgres@127.0.0.1:${proxy.port}/postgres`,
      worker: true,
      flushIntervalMs: 200,
      backpressureAgeMs: THRESHOLD_MS,
    });
    engine.events.on("flushError", () => flushErrors++);
    app = build({ engine });
    await app.ready();
  });

  afterAll(async () => {
    await proxy?.restore().catch(() => {});
    await app?.close();
    await engine?.close().catch(() => {});
    await proxy?.close();
    await cleanup(space);
  });

  const sync = () => call(app, "GET", "/v1/admin/sync");

  it("keeps accepting writes while the backlog ages past the threshold", async () => {
    expect((await call(app, "PUT", "/v1/channels/pg/members/ann")).status).toBe(200);
    await until("the worker's first flush", sync, (a) => a.body.dirty === 0 && a.body.lastFlushAt !== null);

    await proxy.cut();
    expect(
      (await call(app, "POST", "/v1/channels/pg/messages", { messageId: "m0", senderId: "ann" })).status,
    ).toBe(201);
    // The worker's next pass fails at once on the refused connection and says so in Redis.
    await until(
      "a failed flush",
      async () => flushErrors,
      (n) => n > 0,
    );

    let maxAgeMs = 0;
    const statuses = new Set<number>();
    for (let i = 1; i <= 30; i++) {
      const post = await call(app, "POST", "/v1/channels/pg/messages", {
        messageId: `m${i}`,
        senderId: "ann",
      });
      statuses.add(post.status);
      const status = await sync();
      expect(status.body.shedding).toBe(false);
      maxAgeMs = Math.max(maxAgeMs, status.body.oldestDirtyAgeMs);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect([...statuses]).toEqual([201]);
    // Well past the threshold (30 × ≥ 50 ms since m0), and past it while flushes kept failing.
    expect(maxAgeMs).toBeGreaterThan(4 * THRESHOLD_MS);
    expect(engine.backpressure().flushesSucceed).toBe(false);
    const metrics = (await call(app, "GET", "/metrics")).body as string;
    expect(metric(metrics, 'readstate_writes_refused_total{op="post"}')).toBe(0);

    // PostgreSQL back: the worker drains the backlog on its own, and the gate ends open.
    await proxy.restore();
    await until("the backlog to drain", sync, (a) => a.body.dirty === 0, 20_000);
    await until("the gate to open", sync, (a) => a.body.shedding === false);
    expect(
      (await call(app, "POST", "/v1/channels/pg/messages", { messageId: "m99", senderId: "ann" })).status,
    ).toBe(201);
  });
});
