// GET /v1/admin/stats: per-second throughput, p99, errors, backlog, flushes and open streams, with a
// 5-minute history, as /dashboard draws them.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { build } from "../../src/http/app.js";
import { type StatsPoint, StatsRecorder } from "../../src/http/stats.js";
import { call, type HttpFixture, httpFixture } from "./helpers.js";

let fx: HttpFixture;

beforeAll(async () => {
  fx = await httpFixture("http-stats");
});
afterAll(async () => {
  await fx?.close();
});

/** The history's figure summed over every point (the recorder's own timer may split a test's work). */
function total(history: StatsPoint[], pick: (point: StatsPoint) => number | undefined): number {
  return history.reduce((sum, point) => sum + (pick(point) ?? 0), 0);
}

async function stats(query = "") {
  const answer = await call(fx.app, "GET", `/v1/admin/stats${query}`);
  expect(answer.status).toBe(200);
  return answer.body;
}

describe("GET /v1/admin/stats", () => {
  it("counts operations, their p99 and errors by code, per second", async () => {
    await call(fx.app, "PUT", "/v1/channels/sc/members/ann");
    await call(fx.app, "POST", "/v1/channels/sc/messages", { messageId: "m1", senderId: "ann" });
    await call(fx.app, "POST", "/v1/channels/sc/messages", { messageId: "m2", senderId: "ann" });
    await call(fx.app, "GET", "/v1/channels/sc/members/nobody");
    await call(fx.app, "POST", "/v1/channels/sc/read", { userId: "bad id" });
    fx.app.stats.tick();
    const body = await stats();
    expect(body).toMatchObject({ intervalMs: 1000, durabilityBudgetMs: 10_000, backpressureAgeMs: 8000 });
    const history: StatsPoint[] = body.history;
    expect(total(history, (p) => p.ops.join)).toBe(1);
    expect(total(history, (p) => p.ops.post)).toBe(2);
    expect(total(history, (p) => p.ops.member_state)).toBe(1);
    expect(total(history, (p) => p.errors.not_a_member)).toBe(1);
    expect(total(history, (p) => p.errors.validation_failed)).toBe(1);
    expect(history.some((p) => (p.p99Ms.post ?? 0) > 0)).toBe(true);
    expect(body.current.opsPerSecond.post).toBeGreaterThan(0);
    expect(body.current.p99Ms.post).toBeGreaterThan(0);
    expect(body.current.errorsPerSecond.not_a_member).toBeGreaterThan(0);
  });

  it("reads the write-behind backlog once a second and counts flushes", async () => {
    await call(fx.app, "POST", "/v1/channels/sc/messages", { messageId: "m3", senderId: "ann" });
    fx.app.stats.tick();
    await vi.waitFor(async () => expect((await stats()).current.dirty).toBeGreaterThan(0), { timeout: 5000 });
    const before = await stats();
    expect(before.current.oldestDirtyAgeMs).toBeGreaterThanOrEqual(0);

    const flushed = await call(fx.app, "POST", "/v1/admin/flush");
    expect(flushed.body.flushed).toBeGreaterThan(0);
    fx.app.stats.tick();
    await vi.waitFor(
      async () => {
        fx.app.stats.tick();
        const after = await stats();
        expect(after.current.dirty).toBe(0);
        expect(total(after.history, (p) => p.flushRows)).toBe(flushed.body.flushed);
      },
      { timeout: 5000 },
    );
    const after = await stats();
    expect(after.current.flushRowsPerSecond).toBeGreaterThan(0);
    expect(after.history.some((p: StatsPoint) => p.flushes > 0 && (p.flushMs ?? -1) >= 0)).toBe(true);
  });

  it("answers only the points after `since`", async () => {
    const all = await stats();
    const last: number = all.history[all.history.length - 1].t;
    fx.app.stats.tick();
    const newer = await stats(`?since=${last}`);
    expect(newer.history.length).toBeGreaterThan(0);
    expect(newer.history.every((p: StatsPoint) => p.t > last)).toBe(true);
    expect((await call(fx.app, "GET", "/v1/admin/stats?since=yesterday")).status).toBe(400);
  });

  it("shows the open streams the live stream reports, 0 without one", async () => {
    expect((await stats()).current.openStreams).toBe(0);
    let streams = 7;
    const app = build({ engine: fx.engine, liveStats: () => ({ openStreams: streams }) });
    try {
      app.stats.tick();
      streams = 9;
      app.stats.tick();
      const body = (await call(app, "GET", "/v1/admin/stats")).body;
      expect(body.history.map((p: StatsPoint) => p.openStreams)).toEqual([7, 9]);
      expect(body.current.openStreams).toBe(9);
    } finally {
      await app.close();
    }
  });

  it("needs the API token when the server has one", async () => {
    const app = build({ engine: fx.engine, apiToken: "s3cret" });
    try {
      expect((await call(app, "GET", "/v1/admin/stats")).status).toBe(401);
      const answer = await call(app, "GET", "/v1/admin/stats", undefined, { authorization: "Bearer s3cret" });
      expect(answer.status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe("StatsRecorder", () => {
  it("reads p99 from the histogram to within a bucket (~9%)", () => {
    const recorder = new StatsRecorder(fx.engine);
    for (let i = 0; i < 990; i++) recorder.operation("read", "ok", 0.001);
    for (let i = 0; i < 10; i++) recorder.operation("read", "ok", 0.1);
    for (let i = 0; i < 980; i++) recorder.operation("post", "ok", 0.001);
    for (let i = 0; i < 20; i++) recorder.operation("post", "not_a_member", 0.1);
    recorder.tick();
    const [point] = recorder.report().history;
    expect(point?.p99Ms.read).toBeGreaterThanOrEqual(1);
    expect(point?.p99Ms.read).toBeLessThan(1.1);
    expect(point?.p99Ms.post).toBeGreaterThanOrEqual(100);
    expect(point?.p99Ms.post).toBeLessThan(110);
    expect(point?.ops).toEqual({ read: 1000, post: 1000 });
    expect(point?.errors).toEqual({ not_a_member: 20 });
  });

  it("keeps 5 minutes of points", () => {
    const recorder = new StatsRecorder(fx.engine);
    // Whole seconds ahead of the clock, so each tick starts the second it names.
    const start = Math.ceil(Date.now() / 1000) * 1000 + 86_400_000;
    for (let second = 0; second < 400; second++) recorder.tick(start + second * 1000);
    const { history } = recorder.report();
    expect(history).toHaveLength(300);
    expect(history[299]?.t).toBe(start + 399 * 1000 - 1000);
  });
});
