// ceiling-redis: what one process can get through Redis with readstate's client, whatever readstate
// does. The client as connectRedis builds it (ioredis, one connection), the
// closed loop of C's in-process phase (--concurrency clients, warm-up, --duration), each client
// calling a 4-command Lua script (ceiling.lua) on one hash tag. In process ops/s read against it.
import { readFileSync } from "node:fs";
import { performance } from "node:perf_hooks";
import { connectRedis, openRedis } from "../../src/redis/connection.js";
import { errorLabel } from "../execute.js";
import { HistogramSet } from "../histogram.js";
import { CpuMeter } from "../measure/cpu.js";
import { formatInt } from "../progress.js";
import { RefusalCount } from "../refusals.js";
import type { PhaseResult } from "../results.js";
import { subjectNames } from "../subjects.js";
import { Timeline } from "../timeline.js";
import { type RunContext, WARMUP_MS } from "./context.js";

const SCRIPT = readFileSync(new URL("./ceiling.lua", import.meta.url), "utf8");
const LATENCY_KIND = "ceiling script";

type CeilingClient = { bench_ceiling(...args: string[]): Promise<unknown> };

export async function runCeilingRedis(ctx: RunContext): Promise<PhaseResult> {
  const { options, progress } = ctx;
  const names = subjectNames(ctx.runId, "ceiling-redis");
  const redis = connectRedis(options.redisUrl);
  const errors: Record<string, number> = {};
  const count = (label: string) => {
    errors[label] = (errors[label] ?? 0) + 1;
  };
  // Unhandled, ioredis's 'error' events would end the process; the failed calls are counted below.
  redis.on("error", () => {});
  const cleanup = async () => {
    redis.disconnect();
    await ctx.redis.deletePrefix(names.keyPrefix);
  };
  ctx.cleanups.push(cleanup);
  redis.defineCommand("bench_ceiling", { lua: SCRIPT, numberOfKeys: 2 });
  await openRedis(redis, options.redisUrl);
  const script = redis as unknown as CeilingClient;
  // One hash tag, as a readstate operation's keys share their partition's tag.
  const channel = `${names.keyPrefix}:{bench-ceiling}:channel`;
  const cursors = `${names.keyPrefix}:{bench-ceiling}:cursors`;

  progress.phase(`ceiling-redis: 4-command script, ${options.concurrency} in flight`);
  const durationMs = options.durationSec * 1000;
  const latency = new HistogramSet();
  const cpu = new CpuMeter(ctx.redis);
  const warmupEnd = performance.now() + WARMUP_MS;
  const end = warmupEnd + durationMs;
  const timeline = new Timeline(warmupEnd);
  let ops = 0;
  const client = async (index: number) => {
    const member = `u${index}`;
    while (performance.now() < end) {
      const started = performance.now();
      try {
        await script.bench_ceiling(channel, cursors, member);
      } catch (err) {
        count(`ceiling script: ${errorLabel(err)}`);
        // With the offline queue off a call fails at once while Redis is away: do not spin.
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      const now = performance.now();
      if (started < warmupEnd) continue;
      latency.get(LATENCY_KIND).recordMs(now - started);
      timeline.record(now, 0);
      ops++;
    }
  };
  const ticker = setInterval(() => {
    const now = performance.now();
    if (now < warmupEnd) return;
    progress.update((now - warmupEnd) / durationMs, `${formatInt(timeline.recentRate(now))} ops/s`);
  }, 250);
  try {
    await cpu.begin();
    await Promise.all(Array.from({ length: options.concurrency }, (_, i) => client(i)));
  } finally {
    clearInterval(ticker);
  }
  const cpuUse = await cpu.end();
  progress.finish();
  await cleanup();
  ctx.cleanups.splice(ctx.cleanups.indexOf(cleanup), 1);

  const seconds = durationMs / 1000;
  return {
    id: "ceiling-redis",
    label: "ceiling: Redis, 4-command script",
    mode: "ceiling",
    durationSec: seconds,
    activeSec: seconds,
    ops,
    probeOps: 0,
    opsPerSec: ops / seconds,
    statusUpdates: 0,
    statusUpdatesPerSec: 0,
    opsByKind: { [LATENCY_KIND]: ops },
    errors,
    refused: new RefusalCount().summary(),
    latency: latency.summaries(),
    postBySize: {},
    probe: {},
    cpu: cpuUse,
    timeline: timeline.points(durationMs),
  };
}
