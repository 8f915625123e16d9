// --scenario sweep: where the cursor model wins. For C (readstate) and D (ADR-02's per-member
// counters), posts into one channel of each size in --sweep-sizes, a step of --duration each, and
// what a post costs Redis: INFO cpu (used_cpu_user + used_cpu_sys) over the step and the flush that
// writes it behind, divided by the posts. C's post is O(1) in the channel's size; D's is one HINCRBY
// per member, so its cost should grow linearly.
import { performance } from "node:perf_hooks";
import { errorLabel } from "../execute.js";
import { Histogram } from "../histogram.js";
import { PostgresCpuSampler } from "../measure/postgres-cost.js";
import { diffRows, sumRows } from "../measure/postgres-stats.js";
import type { Implementation } from "../options.js";
import { formatInt } from "../progress.js";
import type { SweepResult, SweepStep } from "../results.js";
import { IMPLEMENTATION_LABELS, type OpenSubject, openSubject, subjectNames } from "../subjects.js";
import type { Topology } from "../topology.js";
import type { RunContext } from "./context.js";

/** The implementations the sweep compares: the cursor model and the counters the ADR describes. */
const SWEPT = ["C", "D"] as const;
/** Unmeasured posts before each step: scripts cached, the channel's hashes warm. */
const WARMUP_MS = 500;
/** Members who post in every step. */
const SENDERS = 10;
/** Redis CPU with our load off, just before a step: what the shared server spends on others. */
const BACKGROUND_MS = 1000;

export async function runSweep(ctx: RunContext): Promise<SweepResult> {
  const sizes = ctx.options.sweepSizes;
  const steps: SweepStep[] = [];
  for (const implementation of SWEPT) {
    if (!ctx.options.only.has(implementation)) continue;
    try {
      steps.push(...(await sweepOne(implementation, sweepTopology(sizes), ctx)));
    } catch (err) {
      ctx.progress.note(`sweep ${implementation} failed: ${(err as Error).stack ?? err}`);
      ctx.notes.push(`sweep of ${implementation} did not complete: ${(err as Error).message}`);
    }
  }
  return { sizes, steps, growth: growthOf(sizes, steps) };
}

/** One channel per size, members u0…u(size-1): the user IDs of the mixed topology. */
export function sweepTopology(sizes: number[]): Topology {
  const largest = Math.max(...sizes);
  const users = Array.from({ length: largest }, (_, i) => `u${i}`);
  const channels = sizes.map((size) => ({
    id: `sweep${size}`,
    members: Array.from({ length: size }, (_, i) => i),
    sizeClass: "small" as const,
  }));
  const channelsOfUser = users.map((_, user) =>
    channels.flatMap((c, i) => (user < c.members.length ? [i] : [])),
  );
  return {
    users,
    channels,
    channelsOfUser,
    memberships: sizes.reduce((a, b) => a + b, 0),
    bySize: { dm: [], small: channels.map((_, i) => i), medium: [], large: [], huge: [] },
  };
}

async function sweepOne(
  implementation: Implementation,
  topology: Topology,
  ctx: RunContext,
): Promise<SweepStep[]> {
  const { options, progress } = ctx;
  const names = subjectNames(ctx.runId, `sweep-${implementation}`);
  const cleanup = async () => {
    await ctx.postgres.dropSchema(names.schema);
    await ctx.redis.deletePrefix(names.keyPrefix);
  };
  ctx.cleanups.push(cleanup);

  progress.phase(`sweep ${implementation} setup`);
  const setupSubject = await openSubject(implementation, names, options, true);
  await setupSubject.setup(topology, (done) =>
    progress.update(done / topology.memberships, `${formatInt(done)} memberships`),
  );
  await setupSubject.close();
  await ctx.postgres.waitForBackendsToExit(names.applicationName);

  const subject = await openSubject(implementation, names, options, false);
  const steps: SweepStep[] = [];
  try {
    for (const channel of topology.channels) {
      steps.push(await step(implementation, subject, channel.id, channel.members.length, names.schema, ctx));
    }
  } finally {
    await subject.close();
    await ctx.postgres.waitForBackendsToExit(names.applicationName);
    await cleanup();
    ctx.cleanups.splice(ctx.cleanups.indexOf(cleanup), 1);
  }
  return steps;
}

async function step(
  implementation: Implementation,
  subject: OpenSubject,
  channelId: string,
  members: number,
  schema: string,
  ctx: RunContext,
): Promise<SweepStep> {
  const { options, progress } = ctx;
  progress.phase(`sweep ${implementation}: posts into ${formatInt(members)} members`);
  // Nothing left from the previous step: its flush is not this step's cost.
  await subject.readState.flush();
  const backgroundStart = await ctx.redis.cpuSeconds();
  await new Promise((resolve) => setTimeout(resolve, BACKGROUND_MS));
  const backgroundCores = ((await ctx.redis.cpuSeconds()) - backgroundStart) / (BACKGROUND_MS / 1000);

  const latency = new Histogram();
  const errors: Record<string, number> = {};
  let posts = 0;
  let sequence = 0;
  let measuring = false;
  const warmupEnd = performance.now() + WARMUP_MS;
  const end = warmupEnd + options.durationSec * 1000;
  let redisStart = 0;
  let rowsBefore: Record<string, number> = {};
  const postgresCpu = new PostgresCpuSampler(ctx.postgres);
  let startedAt = 0;
  let begin: Promise<void> | undefined;
  const client = async (index: number) => {
    for (;;) {
      const now = performance.now();
      if (now >= end) return;
      if (!measuring && now >= warmupEnd) {
        // The first client past the warm-up takes the start readings; the others wait for them.
        begin ??= (async () => {
          rowsBefore = await ctx.postgres.rowsWritten(schema);
          await postgresCpu.begin();
          redisStart = await ctx.redis.cpuSeconds();
          startedAt = performance.now();
          measuring = true;
        })();
        await begin;
        continue;
      }
      // The same few senders whatever the channel's size, so only the fan-out changes between steps:
      // a sender's cursor moves on each post, and more distinct senders would mean more cursor rows
      // to flush in C and D alike.
      const sender = `u${(sequence + index) % Math.min(SENDERS, members)}`;
      const messageId = `sw.${members}.${++sequence}`;
      const started = performance.now();
      try {
        await subject.readState.post(channelId, { messageId, senderId: sender });
        if (measuring && started >= startedAt) {
          latency.recordMs(performance.now() - started);
          posts++;
        }
      } catch (err) {
        const label = `post: ${errorLabel(err)}`;
        errors[label] = (errors[label] ?? 0) + 1;
      }
    }
  };
  const tick = setInterval(() => {
    progress.update(
      Math.min(1, (performance.now() - warmupEnd) / (end - warmupEnd)),
      `${formatInt(posts)} posts`,
    );
  }, 250);
  try {
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => client(i)));
  } finally {
    clearInterval(tick);
  }
  const elapsedSec = (performance.now() - startedAt) / 1000;
  // Writing the step's posts behind is part of what they cost: C's and D's flush run before the
  // closing reading (C: one row per message and a few cursors; D: one row per member changed).
  await subject.readState.flush();
  const redisCpu = (await ctx.redis.cpuSeconds()) - redisStart;
  const postgresCpuSec = await postgresCpu.end();
  const rows = sumRows(diffRows(await ctx.postgres.rowsWritten(schema), rowsBefore));
  progress.finish();
  const per = Math.max(1, posts);
  return {
    implementation,
    label: IMPLEMENTATION_LABELS[implementation],
    members,
    posts,
    postsPerSec: posts / Math.max(1e-3, elapsedSec),
    redisCpuUsPerPost: (redisCpu * 1e6) / per,
    redisBackgroundCores: backgroundCores,
    postgresCpuUsPerPost: (postgresCpuSec * 1e6) / per,
    pgRowsPerPost: rows / per,
    latency: latency.summary(),
    errors,
  };
}

/** Redis CPU per post in the largest channel ÷ in the smallest, per implementation. */
function growthOf(sizes: number[], steps: SweepStep[]): SweepResult["growth"] {
  const growth: SweepResult["growth"] = {};
  const smallest = Math.min(...sizes);
  const largest = Math.max(...sizes);
  for (const implementation of SWEPT) {
    const lo = steps.find((s) => s.implementation === implementation && s.members === smallest);
    const hi = steps.find((s) => s.implementation === implementation && s.members === largest);
    if (lo && hi && lo.redisCpuUsPerPost > 0)
      growth[implementation] = hi.redisCpuUsPerPost / lo.redisCpuUsPerPost;
  }
  return growth;
}
