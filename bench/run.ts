// `npm run bench`: readstate (C) against the two patterns ADR-02 rejected (A: synchronous
// PostgreSQL, B: Redis only) and the one it chose as written (D: per-member counters), on one seeded
// workload, in one run; then C over HTTP. First the two
// ceilings (Redis client, HTTP stack), so every figure also reads as a share of what is reachable.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { describeMachine } from "./machine.js";
import { PostgresProbe } from "./measure/postgres-stats.js";
import { RedisProbe } from "./measure/redis-stats.js";
import { type BenchOptions, IMPLEMENTATIONS, parseOptions, USAGE, UsageError } from "./options.js";
import { runCeilingHttp } from "./phases/ceiling-http.js";
import { runCeilingRedis } from "./phases/ceiling-redis.js";
import type { RunContext } from "./phases/context.js";
import { runHttp } from "./phases/http.js";
import { runInProcess } from "./phases/in-process.js";
import { runSweep } from "./phases/sweep.js";
import { Progress } from "./progress.js";
import { renderChart } from "./report/chart.js";
import { renderMarkdown } from "./report/markdown.js";
import { renderSweepChart } from "./report/sweep-chart.js";
import { renderTable } from "./report/table.js";
import type { BenchResult, CeilingId, PhaseResult, SweepResult } from "./results.js";
import { checkSweepTargets, checkTargets, computeRatios } from "./targets.js";
import { buildTopology } from "./topology.js";
import { WorkloadGenerator } from "./workload.js";

export async function runBenchmark(options: BenchOptions, argv: string[]): Promise<BenchResult> {
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const progress = new Progress();
  const postgres = new PostgresProbe(options.databaseUrl);
  const redis = new RedisProbe(options.redisUrl);
  const runId = `${Date.now().toString(36)}${process.pid.toString(36)}`;
  const topology = buildTopology(options);
  const ctx: RunContext = { options, topology, runId, progress, postgres, redis, cleanups: [], notes: [] };
  await openRunDatabase(ctx);
  const phases: PhaseResult[] = [];
  let sweep: SweepResult | undefined;
  let redisBytesPerMember: number | undefined;

  const onSignal = () => {
    progress.note("interrupted: cleaning up this run's keys and schemas");
    void cleanupAll(ctx).finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const machine = await describeMachine(redis, postgres);
    progress.note(
      `readstate bench · ${options.scenario} · seed ${options.seed} · ${topology.channels.length} channels, ` +
        `${topology.users.length} users, ${topology.memberships.toLocaleString("en-US")} memberships`,
    );
    if (options.scenario === "sweep") {
      // The sweep is its own run: posts only, one channel per size, C and D (the ceilings and the
      // mixed workload's phases answer other questions).
      sweep = await runSweep(ctx);
    } else {
      await runPhases(ctx, phases, (bytes) => {
        redisBytesPerMember ??= bytes;
      });
    }
    progress.finish();
    return {
      startedAt,
      totalSec: (performance.now() - started) / 1000,
      command: `npm run bench${argv.length > 0 ? ` -- ${argv.join(" ")}` : ""}`,
      options: serializableOptions(options),
      machine,
      topology: {
        channels: topology.channels.length,
        users: topology.users.length,
        memberships: topology.memberships,
        channelsBySize: Object.fromEntries(Object.entries(topology.bySize).map(([k, v]) => [k, v.length])),
        maxChannelsPerUser: topology.channelsOfUser.reduce((m, list) => Math.max(m, list.length), 0),
      },
      ...(redisBytesPerMember === undefined ? {} : { redisBytesPerMember }),
      generatorUsPerOp: generatorCost(ctx),
      phases,
      ...(sweep === undefined ? {} : { sweep }),
      ratios: computeRatios(phases),
      targets: sweep === undefined ? checkTargets(phases, options.scenario) : checkSweepTargets(sweep),
      notes: ctx.notes,
    };
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await cleanupAll(ctx);
    await postgres.close();
    await redis.close();
  }
}

/** The ceilings, then each implementation in process, then C over HTTP. */
async function runPhases(
  ctx: RunContext,
  phases: PhaseResult[],
  onRedisBytesPerMember: (bytes: number) => void,
): Promise<void> {
  const { options, progress } = ctx;
  if (options.ceilings) {
    const ceilings: [CeilingId, (ctx: RunContext) => Promise<PhaseResult>][] = [
      ["ceiling-redis", runCeilingRedis],
    ];
    // Like the HTTP phases, which it is the ceiling of.
    if (options.http && options.only.has("C")) ceilings.push(["ceiling-http", runCeilingHttp]);
    for (const [id, run] of ceilings) {
      try {
        phases.push(await run(ctx));
      } catch (err) {
        progress.note(`${id} failed: ${(err as Error).stack ?? err}`);
        ctx.notes.push(`${id} did not complete: ${(err as Error).message}`);
      }
    }
  }
  for (const implementation of IMPLEMENTATIONS) {
    if (!options.only.has(implementation)) continue;
    if (options.scenario === "v1.1" && (implementation === "A" || implementation === "D")) {
      // They implement v1 only; the ratio targets stay on the v1 mix (the default scenario).
      ctx.notes.push(`${implementation} skipped: --scenario v1.1 has operations it does not implement`);
      continue;
    }
    try {
      const outcome = await runInProcess(implementation, ctx);
      phases.push(outcome.phase);
      if (outcome.redisBytesPerMember !== undefined) onRedisBytesPerMember(outcome.redisBytesPerMember);
    } catch (err) {
      progress.note(`${implementation} failed: ${(err as Error).stack ?? err}`);
      ctx.notes.push(`${implementation} in process did not complete: ${(err as Error).message}`);
    }
  }
  if (options.http && options.only.has("C")) {
    try {
      phases.push(...(await runHttp(ctx)));
    } catch (err) {
      progress.note(`C over HTTP failed: ${(err as Error).stack ?? err}`);
      ctx.notes.push(`C over HTTP did not complete: ${(err as Error).message}`);
    }
  }
}

/**
 * Every schema of the run goes into a database of its own, so PostgreSQL's per-database transaction
 * count is the run's alone. Without the right to create one, the run goes on in the given database
 * and reports no transactions.
 */
async function openRunDatabase(ctx: RunContext): Promise<void> {
  try {
    const url = await ctx.postgres.openRunDatabase(`readstate_bench_${ctx.runId}`, ctx.options.databaseUrl);
    ctx.cleanups.push(() => ctx.postgres.dropRunDatabase());
    ctx.options = { ...ctx.options, databaseUrl: url };
  } catch (err) {
    ctx.notes.push(
      `no database of the run's own (${(err as Error).message}): PostgreSQL transactions per op not measured`,
    );
  }
}

async function cleanupAll(ctx: RunContext): Promise<void> {
  for (const cleanup of ctx.cleanups.splice(0).reverse()) {
    await cleanup().catch((err: unknown) => ctx.progress.note(`cleanup failed: ${(err as Error).message}`));
  }
}

/** Microseconds per generated op: the load generator's own share of the bench process. */
function generatorCost(ctx: RunContext): number {
  const generator = new WorkloadGenerator(ctx.topology, ctx.options, "cost-probe");
  const n = 200_000;
  const start = performance.now();
  for (let i = 0; i < n; i++) generator.next();
  return ((performance.now() - start) * 1000) / n;
}

function serializableOptions(options: BenchOptions): Record<string, unknown> {
  const { databaseUrl, redisUrl, only, ...rest } = options;
  return {
    ...rest,
    only: [...only].sort().join(","),
    redisUrl,
    databaseUrl: databaseUrl.replace(/:[^:@/]*@/, ":***@"),
  };
}

export async function writeReports(result: BenchResult, outDir: string): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const files = {
    "report.md": renderMarkdown(result),
    "chart.svg": result.sweep === undefined ? renderChart(result) : renderSweepChart(result),
    "results.json": `${JSON.stringify(result, null, 2)}\n`,
  };
  const written: string[] = [];
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(outDir, name);
    await writeFile(file, content);
    written.push(file);
  }
  return written;
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let options: BenchOptions;
  try {
    options = parseOptions(argv);
  } catch (err) {
    if (err instanceof UsageError) {
      if (err.message) process.stderr.write(`${err.message}\n\n`);
      process.stderr.write(USAGE);
      process.exit(err.message ? 2 : 0);
    }
    throw err;
  }
  const result = await runBenchmark(options, argv);
  const written = await writeReports(result, options.outDir);
  if (options.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else
    process.stdout.write(
      `${renderTable(result)}\n\nReports: ${written.join(", ")} (${result.totalSec.toFixed(0)} s)\n`,
    );
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  });
}
