// C over HTTP: the server in a child process, the load in worker threads; first single requests
// (the workload's full mix), then /v1/batch (its writes, batchSize per request).
import { performance } from "node:perf_hooks";
import { type HttpLoad, runHttpLoad } from "../http/load.js";
import { type ServerHandle, startServer } from "../http/server.js";
import { CpuMeter } from "../measure/cpu.js";
import { LagSampler } from "../measure/flush-lag.js";
import { diffRows, sumRows } from "../measure/postgres-stats.js";
import { formatInt } from "../progress.js";
import type { PhaseResult } from "../results.js";
import { subjectNames, withApplicationName } from "../subjects.js";
import { type RunContext, WARMUP_MS } from "./context.js";

export async function runHttp(ctx: RunContext): Promise<PhaseResult[]> {
  const { options, progress } = ctx;
  const names = subjectNames(ctx.runId, "C-http");
  const cleanup = async () => {
    await server?.stop(5000);
    await ctx.postgres.dropSchema(names.schema);
    await ctx.redis.deletePrefix(names.keyPrefix);
  };
  let server: ServerHandle | undefined;
  ctx.cleanups.push(cleanup);

  progress.phase("C over HTTP: start + setup");
  server = await startServer({
    keyPrefix: names.keyPrefix,
    schema: names.schema,
    databaseUrl: withApplicationName(options.databaseUrl, names.applicationName),
    redisUrl: options.redisUrl,
    flushIntervalMs: options.flushIntervalMs,
    processes: options.httpProcesses,
    separateWorker: options.separateWorker,
  });
  const base = `http://127.0.0.1:${server.port}`;
  await setupOverHttp(base, ctx);
  await postJson(`${base}/v1/admin/flush`, {});
  // Idle backends publish their pg_stat counters within ~1 s; setup's rows must not count.
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const rowsBefore = await ctx.postgres.rowsWritten(names.schema);

  const phases: PhaseResult[] = [];
  for (const mode of ["single", "batch"] as const) {
    phases.push(await measure(mode, server, base, ctx));
  }
  progress.phase("C over HTTP: SIGTERM (final flush)");
  const code = await server.stop();
  if (code !== 0) ctx.notes.push(`the HTTP server exited with ${code} on SIGTERM`);
  const exact = await ctx.postgres.waitForBackendsToExit(names.applicationName);
  const byTable = diffRows(await ctx.postgres.rowsWritten(names.schema), rowsBefore);
  const total = sumRows(byTable);
  const ops = phases.reduce((sum, p) => sum + p.ops, 0);
  const updates = phases.reduce((sum, p) => sum + p.statusUpdates, 0);
  // Write-behind blurs the boundary between the two phases: the rows are for both together.
  for (const phase of phases) {
    phase.pgRows = {
      total,
      perOp: ops === 0 ? 0 : total / ops,
      perStatusUpdate: updates === 0 ? 0 : total / updates,
      byTable,
      exact,
    };
  }
  progress.finish();
  await cleanup();
  ctx.cleanups.splice(ctx.cleanups.indexOf(cleanup), 1);
  return phases;
}

async function measure(
  mode: "single" | "batch",
  server: ServerHandle,
  base: string,
  ctx: RunContext,
): Promise<PhaseResult> {
  const { options, progress } = ctx;
  const durationMs = options.httpDurationSec * 1000;
  const workers = Math.max(1, options.httpWorkers);
  const connections = mode === "single" ? options.httpConnections : options.batchConnections;
  const opened = Math.max(1, Math.ceil(connections / workers)) * workers;
  const label =
    mode === "single"
      ? `C over HTTP: single requests (${opened} connections)`
      : `C over HTTP: /v1/batch of ${options.batchSize} (${opened} connections)`;
  progress.phase(label);
  const cpu = new CpuMeter(ctx.redis, server.pid);
  const startedAt = performance.now();
  const lag = new LagSampler(() => getJson(`${base}/v1/admin/sync`), startedAt + WARMUP_MS);
  let opsSoFar = 0;
  await cpu.begin();
  lag.start();
  const ticker = setInterval(() => {
    const elapsed = performance.now() - startedAt - WARMUP_MS;
    const last = lag.samples[lag.samples.length - 1];
    const lagText = last === undefined ? "" : ` · flush lag ${(last.ageMs / 1000).toFixed(1)} s`;
    progress.update(
      elapsed / durationMs,
      `${formatInt(elapsed > 0 ? (opsSoFar * 1000) / elapsed : 0)} ops/s avg${lagText}`,
    );
  }, 250);
  let load: HttpLoad;
  try {
    load = await runHttpLoad(
      {
        port: server.port,
        mode,
        connections,
        workers,
        batchSize: options.batchSize,
        warmupMs: WARMUP_MS,
        durationMs,
        options,
      },
      (ops) => {
        opsSoFar = ops;
      },
    );
  } finally {
    clearInterval(ticker);
    lag.stop();
  }
  const cpuUse = await cpu.end();
  progress.finish();

  const { ops, requests, statusUpdates } = load;
  const points = load.timeline.points(durationMs);
  for (const sample of lag.samples) {
    const point = points[Math.min(points.length - 1, Math.floor(sample.atMs / 250))];
    if (point !== undefined && sample.atMs >= 0) {
      point.lagMs = sample.ageMs;
      point.dirty = sample.dirty;
    }
  }
  const seconds = durationMs / 1000;
  return {
    id: mode === "single" ? "C-http" : "C-batch",
    label:
      mode === "single" ? "C over HTTP, single requests" : `C over HTTP, /v1/batch of ${options.batchSize}`,
    mode: mode === "single" ? "http-single" : "http-batch",
    durationSec: seconds,
    activeSec: seconds,
    ops,
    probeOps: 0,
    opsPerSec: ops / seconds,
    statusUpdates,
    statusUpdatesPerSec: statusUpdates / seconds,
    requests,
    requestsPerSec: requests / seconds,
    opsByKind: load.opsByKind,
    errors: load.errors,
    refused: load.refusals.summary(),
    latency: load.latency.summaries(),
    postBySize: {},
    probe: {},
    flushLag: lag.summary(),
    cpu: cpuUse,
    timeline: points,
  };
}

/** Memberships through /v1/batch joins, 1,000 per request, a few requests in flight. */
async function setupOverHttp(base: string, ctx: RunContext): Promise<void> {
  const { topology, progress } = ctx;
  const joins: Record<string, string>[] = [];
  for (const channel of topology.channels) {
    for (const user of channel.members) {
      joins.push({ op: "join", channelId: channel.id, userId: topology.users[user] as string });
    }
  }
  let next = 0;
  let done = 0;
  const sender = async () => {
    while (next < joins.length) {
      const chunk = joins.slice(next, next + 1000);
      next += chunk.length;
      const body = (await postJson(`${base}/v1/batch`, { ops: chunk })) as { results?: { ok: boolean }[] };
      const failed = body.results?.filter((r) => !r.ok).length ?? chunk.length;
      if (failed > 0) throw new Error(`setup: ${failed} joins failed over HTTP`);
      done += chunk.length;
      progress.update(done / joins.length, `${formatInt(done)} memberships`);
    }
  };
  await Promise.all(Array.from({ length: 4 }, sender));
}

async function postJson(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`POST ${url}: HTTP ${response.status} ${await response.text()}`);
  return response.json();
}

async function getJson(url: string): Promise<{ oldestDirtyAgeMs: number; dirty: number }> {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status}`);
  return (await response.json()) as { oldestDirtyAgeMs: number; dirty: number };
}
