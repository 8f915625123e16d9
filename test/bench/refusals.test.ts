// Refused writes (503 `unavailable`) are counted apart and never end a phase: the in-process loop
// and the HTTP load generator, each against a stand-in that refuses every other write. The stand-ins
// replace the service, not Redis or PostgreSQL: what is under test is the benchmark's accounting.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { drive } from "../../bench/driver.js";
import { runHttpLoad } from "../../bench/http/load.js";
import { type BenchOptions, DEFAULT_OPTIONS } from "../../bench/options.js";
import { buildTopology } from "../../bench/topology.js";
import { WorkloadGenerator } from "../../bench/workload.js";
import { ReadStateError } from "../../src/core/errors.js";
import type { ReadState } from "../../src/core/types.js";

const options: BenchOptions = {
  ...DEFAULT_OPTIONS,
  channels: 40,
  users: 120,
  hugeChannels: 1,
  hugeSize: 100,
  largeSize: 50,
  only: new Set(["C"]),
};

/** Refuses every other write, synchronously (no I/O): the worst case for the event loop. */
function refusingReadState(): ReadState & { calls: number } {
  let writes = 0;
  const write = () =>
    ++writes % 2 === 0
      ? Promise.reject(new ReadStateError("unavailable", "write-behind is behind; retry later"))
      : Promise.resolve({});
  const stub = {
    calls: 0,
    post: write,
    markRead: write,
    markUnread: write,
    memberState: () => Promise.resolve({}),
    userUnread: () => Promise.resolve({}),
  };
  return stub as unknown as ReadState & { calls: number };
}

describe("refused writes in process", () => {
  it("are counted apart from acknowledged ops and errors, and the loop keeps its timers", async () => {
    const topology = buildTopology(options);
    let ticks = 0;
    const result = await drive({
      readState: refusingReadState(),
      generator: new WorkloadGenerator(topology, options, "refusals"),
      concurrency: 16,
      warmupMs: 100,
      durationMs: 600,
      bursty: false,
      probes: [],
      probeRate: 0,
      onTick: () => {
        ticks++;
      },
    });
    const refused = result.refusals.summary();
    expect(result.errors).toEqual({});
    expect(refused.writesRefused).toBeGreaterThan(0);
    expect(refused.writeShare).toBeGreaterThan(0.4);
    expect(refused.writeShare).toBeLessThan(0.6);
    expect(refused.total).toBe(refused.writesRefused);
    expect(result.latency.summaries().all?.count).toBe(result.ops);
    const acknowledgedWrites = ["post", "markRead", "markUnread"].reduce(
      (sum, kind) => sum + (result.opsByKind[kind] ?? 0),
      0,
    );
    expect(acknowledgedWrites + refused.writesRefused).toBe(refused.writesAttempted);
    // Refusals without I/O must not starve the timers (the progress tick, the worker's flush).
    expect(ticks).toBeGreaterThanOrEqual(1);
  });
});

describe("refused writes over HTTP", () => {
  let server: http.Server | undefined;
  afterEach(async () => {
    await new Promise((resolve) => server?.close(resolve));
    server = undefined;
  });

  /** Answers 503 + Retry-After to every other write, closing the connection on every fifth one. */
  async function refusingServer(): Promise<number> {
    let writes = 0;
    const listening = http.createServer((request, response) => {
      let body = "";
      request.on("data", (chunk: Buffer) => {
        body += chunk.toString();
      });
      request.on("end", () => {
        if (request.url === "/v1/batch") {
          const ops = (JSON.parse(body) as { ops: unknown[] }).ops;
          const refused = { ok: false, error: { code: "unavailable", message: "behind" } };
          const results = ops.map(() => (++writes % 2 === 0 ? refused : { ok: true }));
          // With a length, as Fastify answers: the raw client does not de-chunk bodies.
          const json = JSON.stringify({ results });
          response.writeHead(200, {
            "content-type": "application/json",
            "content-length": Buffer.byteLength(json),
          });
          response.end(json);
          return;
        }
        if (request.method === "POST" && ++writes % 2 === 0) {
          const close = writes % 10 === 0;
          response.writeHead(503, {
            "content-type": "application/json",
            "retry-after": "1",
            ...(close ? { connection: "close" } : {}),
          });
          response.end('{"error":{"code":"unavailable","message":"behind"}}');
          if (close) request.socket.end();
          return;
        }
        response.writeHead(200, { "content-type": "application/json" });
        response.end("{}");
      });
    });
    server = listening;
    await new Promise<void>((resolve) => listening.listen(0, "127.0.0.1", resolve));
    return (listening.address() as AddressInfo).port;
  }

  for (const mode of ["single", "batch"] as const) {
    it(`${mode}: counts 503s apart and goes on to the end of the phase`, async () => {
      const port = await refusingServer();
      const load = await runHttpLoad(
        {
          port,
          mode,
          connections: 4,
          workers: 1,
          batchSize: 20,
          warmupMs: 100,
          durationMs: 800,
          options,
        },
        () => {},
      );
      const refused = load.refusals.summary();
      expect(refused.writesRefused).toBeGreaterThan(0);
      expect(refused.writeShare).toBeGreaterThan(0.3);
      expect(refused.writeShare).toBeLessThan(0.7);
      expect(load.ops).toBeGreaterThan(0);
      // Acknowledged ops only: every write was either acknowledged, refused, or lost with its connection.
      const acknowledgedWrites = ["post", "markRead", "markUnread"].reduce(
        (sum, kind) => sum + (load.opsByKind[kind] ?? 0),
        0,
      );
      expect(acknowledgedWrites + refused.writesRefused).toBeLessThanOrEqual(refused.writesAttempted);
      // A 503 with `Connection: close` costs a reconnect, not a lost request.
      expect(load.errors).toEqual({});
      // Requests were acknowledged in the last quarter too: the load did not stop at the first 503.
      const late = load.timeline.points(800).slice(-1);
      expect(late.every((point) => point.opsPerSec > 0)).toBe(true);
    });
  }
});
