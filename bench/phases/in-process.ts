// One implementation in process: set up, reopen (so setup's PostgreSQL counters are settled),
// measure under load, close (C flushes everything), read the rows it wrote, clean up.
import { type DriveResult, drive, type ProbeTarget } from "../driver.js";
import { CpuMeter } from "../measure/cpu.js";
import { LagSampler } from "../measure/flush-lag.js";
import { PostgresCpuSampler } from "../measure/postgres-cost.js";
import { diffRows, sumRows } from "../measure/postgres-stats.js";
import type { Implementation } from "../options.js";
import { formatInt } from "../progress.js";
import type { PhaseResult } from "../results.js";
import { IMPLEMENTATION_LABELS, openSubject, subjectNames } from "../subjects.js";
import type { Topology } from "../topology.js";
import { WorkloadGenerator } from "../workload.js";
import { type RunContext, WARMUP_MS } from "./context.js";

export interface InProcessOutcome {
  phase: PhaseResult;
  redisBytesPerMember?: number;
}

export async function runInProcess(
  implementation: Implementation,
  ctx: RunContext,
): Promise<InProcessOutcome> {
  const { options, topology, progress } = ctx;
  const names = subjectNames(ctx.runId, implementation);
  const cleanup = async () => {
    await ctx.postgres.dropSchema(names.schema);
    if (implementation !== "A") await ctx.redis.deletePrefix(names.keyPrefix);
  };
  ctx.cleanups.push(cleanup);

  progress.phase(`${implementation} setup`);
  const setupSubject = await openSubject(implementation, names, options, true);
  await setupSubject.setup(topology, (done) =>
    progress.update(done / topology.memberships, `${formatInt(done)} memberships`),
  );
  let redisBytesPerMember: number | undefined;
  if (implementation === "C") {
    const { bytes } = await ctx.redis.memoryOfPrefix(names.keyPrefix);
    redisBytesPerMember = bytes / topology.memberships;
  }
  await setupSubject.close();
  await ctx.postgres.waitForBackendsToExit(names.applicationName);
  const rowsBefore = await ctx.postgres.rowsWritten(names.schema);
  const transactionsBefore = await ctx.postgres.transactions();

  const subject = await openSubject(implementation, names, options, false);
  const generator = new WorkloadGenerator(topology, options, "inproc", options.concurrency * 8);
  const lagStart = performance.now() + WARMUP_MS;
  const lag =
    implementation === "C" ? new LagSampler(() => subject.readState.syncStatus(), lagStart) : undefined;
  const cpu = new CpuMeter(ctx.redis);
  const postgresCpu = new PostgresCpuSampler(ctx.postgres);
  const durationMs = options.durationSec * 1000;

  progress.phase(IMPLEMENTATION_LABELS[implementation]);
  let result: DriveResult;
  try {
    await cpu.begin();
    await postgresCpu.begin();
    lag?.start();
    result = await drive({
      readState: subject.readState,
      generator,
      concurrency: options.concurrency,
      warmupMs: WARMUP_MS,
      durationMs,
      bursty: options.scenario === "burst",
      probes: probeTargets(topology),
      probeRate: options.probeRate,
      onTick: (elapsed, timeline) => {
        const last = lag?.samples[lag.samples.length - 1];
        const lagText = last === undefined ? "" : ` · flush lag ${(last.ageMs / 1000).toFixed(1)} s`;
        progress.update(
          elapsed / durationMs,
          `${formatInt(timeline.recentRate(performance.now()))} ops/s${lagText}`,
        );
      },
    });
  } finally {
    lag?.stop();
  }
  const cpuUse = await cpu.end();
  progress.update(1, "flushing");
  // The write-behind's last pass belongs to the window's cost: run it while the CPU sampler still
  // sees the backends (close would flush too, but its backends exit before a sample could read them).
  if (implementation === "C" || implementation === "D") await subject.readState.flush();
  const postgresCpuSec = await postgresCpu.end();
  progress.update(1, "closing");
  await subject.close();
  const exact = await ctx.postgres.waitForBackendsToExit(names.applicationName);
  const byTable = diffRows(await ctx.postgres.rowsWritten(names.schema), rowsBefore);
  const transactionsAfter = await ctx.postgres.transactions();
  progress.finish();
  await cleanup();
  ctx.cleanups.splice(ctx.cleanups.indexOf(cleanup), 1);

  const total = sumRows(byTable);
  const timeline = result.timeline.points(durationMs);
  if (lag !== undefined) {
    for (const sample of lag.samples) {
      const point = timeline[Math.min(timeline.length - 1, Math.floor(sample.atMs / 250))];
      if (point !== undefined && sample.atMs >= 0) {
        point.lagMs = sample.ageMs;
        point.dirty = sample.dirty;
      }
    }
  }
  const durationSec = durationMs / 1000;
  // Everything PostgreSQL's counters saw: the warm-up wrote rows and ran transactions too.
  const opsForCost = Math.max(1, result.ops + result.probeOps + result.warmupOps);
  const transactions =
    transactionsBefore === undefined || transactionsAfter === undefined
      ? null
      : transactionsAfter - transactionsBefore;
  const activeSec = result.activeMs / 1000;
  return {
    redisBytesPerMember,
    phase: {
      id: implementation,
      label: IMPLEMENTATION_LABELS[implementation],
      mode: "in-process",
      durationSec,
      activeSec,
      ops: result.ops,
      probeOps: result.probeOps,
      opsPerSec: result.ops / activeSec,
      statusUpdates: result.statusUpdates,
      statusUpdatesPerSec: result.statusUpdates / activeSec,
      opsByKind: result.opsByKind,
      errors: result.errors,
      refused: result.refusals.summary(),
      latency: result.latency.summaries(),
      postBySize: result.postBySize.summaries(),
      probe: result.probe.summaries(),
      pgRows: {
        total,
        perOp: result.ops === 0 ? 0 : total / opsForCost,
        perStatusUpdate: result.statusUpdates === 0 ? 0 : total / result.statusUpdates,
        byTable,
        exact,
      },
      pgCost: {
        cpuSec: postgresCpuSec,
        cpuUsPerOp: (postgresCpuSec * 1e6) / opsForCost,
        transactions,
        transactionsPerOp: transactions === null ? null : transactions / opsForCost,
      },
      ...(lag === undefined ? {} : { flushLag: lag.summary() }),
      cpu: cpuUse,
      timeline,
    },
  };
}

/** A 2-member channel and the largest one: the fan-out latency target compares their post p99. */
export function probeTargets(topology: Topology): ProbeTarget[] {
  const targets: ProbeTarget[] = [];
  const dm = topology.bySize.dm[0];
  const biggest = [...topology.channels.keys()].reduce(
    (best, i) =>
      (topology.channels[i]?.members.length ?? 0) > (topology.channels[best]?.members.length ?? 0) ? i : best,
    0,
  );
  for (const [label, index] of [
    ["post@2", dm],
    [`post@${topology.channels[biggest]?.members.length ?? 0}`, biggest],
  ] as const) {
    const channel = index === undefined ? undefined : topology.channels[index];
    const sender = channel?.members[0];
    if (channel === undefined || sender === undefined) continue;
    targets.push({ label, channelId: channel.id, senderId: topology.users[sender] as string });
  }
  return targets;
}
