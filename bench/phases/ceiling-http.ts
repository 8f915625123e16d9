// ceiling-http: what the HTTP phases' load generator and Fastify reach on this machine when the
// server does nothing: a constant JSON route, the server in its own process (as many processes as
// `serve` gets), the same worker threads and connections as the single-request phase. HTTP req/s
// and /v1/batch ops/s read against it.
import { performance } from "node:perf_hooks";
import { type HttpLoad, runHttpLoad } from "../http/load.js";
import { startCeilingServer } from "../http/server.js";
import { CpuMeter } from "../measure/cpu.js";
import { formatInt } from "../progress.js";
import type { PhaseResult } from "../results.js";
import { type RunContext, WARMUP_MS } from "./context.js";

export async function runCeilingHttp(ctx: RunContext): Promise<PhaseResult> {
  const { options, progress } = ctx;
  progress.phase("ceiling-http: start");
  const server = await startCeilingServer({ processes: options.httpProcesses });
  const cleanup = async () => {
    await server.stop(5000);
  };
  ctx.cleanups.push(cleanup);

  const durationMs = options.httpDurationSec * 1000;
  const workers = Math.max(1, options.httpWorkers);
  const opened = Math.max(1, Math.ceil(options.httpConnections / workers)) * workers;
  progress.phase(`ceiling-http: constant JSON (${opened} connections)`);
  const cpu = new CpuMeter(ctx.redis, server.pid);
  const startedAt = performance.now();
  let requestsSoFar = 0;
  const ticker = setInterval(() => {
    const elapsed = performance.now() - startedAt - WARMUP_MS;
    progress.update(
      elapsed / durationMs,
      `${formatInt(elapsed > 0 ? (requestsSoFar * 1000) / elapsed : 0)} req/s avg`,
    );
  }, 250);
  let load: HttpLoad;
  try {
    await cpu.begin();
    load = await runHttpLoad(
      {
        port: server.port,
        mode: "ceiling",
        connections: options.httpConnections,
        workers,
        batchSize: options.batchSize,
        warmupMs: WARMUP_MS,
        durationMs,
        options,
      },
      (requests) => {
        requestsSoFar = requests;
      },
    );
  } finally {
    clearInterval(ticker);
  }
  const cpuUse = await cpu.end();
  progress.finish();
  const code = await server.stop();
  if (code !== 0) ctx.notes.push(`the ceiling-http server exited with ${code} on SIGTERM`);
  ctx.cleanups.splice(ctx.cleanups.indexOf(cleanup), 1);

  const seconds = durationMs / 1000;
  return {
    id: "ceiling-http",
    label: "ceiling: HTTP, Fastify constant JSON",
    mode: "ceiling",
    durationSec: seconds,
    activeSec: seconds,
    ops: load.ops,
    probeOps: 0,
    opsPerSec: load.ops / seconds,
    statusUpdates: 0,
    statusUpdatesPerSec: 0,
    requests: load.requests,
    requestsPerSec: load.requests / seconds,
    opsByKind: load.opsByKind,
    errors: load.errors,
    refused: load.refusals.summary(),
    latency: load.latency.summaries(),
    postBySize: {},
    probe: {},
    cpu: cpuUse,
    timeline: load.timeline.points(durationMs),
  };
}
