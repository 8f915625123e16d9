// Every knob of the benchmark, its default, and the flag that sets it. The defaults are the
// "default run" the README quotes: they must finish in under 3 minutes on a 2-core machine.
import { availableParallelism } from "node:os";

export type Scenario = "mixed" | "burst" | "sweep" | "v1.1";
export type Implementation = "A" | "B" | "C" | "D";
export const IMPLEMENTATIONS: readonly Implementation[] = ["A", "B", "C", "D"];

/** Shares of the operation mix, in percent (normalised, so they need not add up to 100). */
export interface OpMix {
  post: number;
  read: number;
  unread: number;
  state: number;
  userUnread: number;
}

export interface BenchOptions {
  scenario: Scenario;
  seed: number;
  /** Measured seconds per in-process implementation. */
  durationSec: number;
  /** Measured seconds per HTTP phase (single requests, then /v1/batch). */
  httpDurationSec: number;
  channels: number;
  users: number;
  hugeChannels: number;
  hugeSize: number;
  /** Share of channels (percent) with largeSize members. */
  largePercent: number;
  largeSize: number;
  /** Share of channels (percent) with 51-300 members. */
  mediumPercent: number;
  mix: OpMix;
  /** --scenario sweep: channel sizes posted into, one step each (C and D). */
  sweepSizes: number[];
  /** Percent of posts that mention 1-3 members by name. */
  mentionPercent: number;
  /** Percent of posts with mentionAll (@channel). */
  mentionAllPercent: number;
  /** Percent of posts that repeat an earlier messageId (client retries; exercises idempotency). */
  repeatPercent: number;
  /** Zipf exponent of activity over users and channels. */
  skew: number;
  /** Outstanding operations in the in-process closed loop. */
  concurrency: number;
  pgPool: number;
  only: Set<Implementation>;
  /** Run the ceiling phases (ceiling-redis, ceiling-http) before the implementations. */
  ceilings: boolean;
  http: boolean;
  httpConnections: number;
  httpWorkers: number;
  /** `serve --processes`: HTTP processes of the server under test. */
  httpProcesses: number;
  /** Run C's write-behind worker as its own process beside the HTTP server. */
  separateWorker: boolean;
  batchSize: number;
  batchConnections: number;
  /** Posts per second, per probe channel (2 and hugeSize members), for the fan-out latency target. */
  probeRate: number;
  flushIntervalMs: number;
  json: boolean;
  outDir: string;
  redisUrl: string;
  databaseUrl: string;
}

export const DEFAULT_OPTIONS: BenchOptions = {
  scenario: "mixed",
  seed: 42,
  durationSec: 15,
  httpDurationSec: 10,
  channels: 2500,
  users: 10_000,
  hugeChannels: 2,
  hugeSize: 10_000,
  largePercent: 1,
  largeSize: 1000,
  mediumPercent: 5,
  mix: { post: 10, read: 55, unread: 0, state: 32, userUnread: 3 },
  sweepSizes: [10, 100, 1000, 10_000],
  mentionPercent: 20,
  mentionAllPercent: 1,
  repeatPercent: 0.5,
  skew: 0.9,
  concurrency: 128,
  pgPool: 16,
  only: new Set(["A", "B", "C", "D"]),
  ceilings: true,
  http: true,
  httpConnections: 64,
  httpWorkers: 1,
  httpProcesses: 1,
  separateWorker: false,
  batchSize: 250,
  batchConnections: 8,
  probeRate: 20,
  flushIntervalMs: 5000,
  json: false,
  outDir: "bench/results",
  redisUrl: process.env.REDIS_URL ?? "redis://127.0.0.1:6379",
  databaseUrl: process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres",
};

export class UsageError extends Error {
  override name = "UsageError";
}

type NumberKey = {
  [K in keyof BenchOptions]: BenchOptions[K] extends number ? K : never;
}[keyof BenchOptions];

const NUMBER_FLAGS: Record<string, NumberKey> = {
  seed: "seed",
  duration: "durationSec",
  "http-duration": "httpDurationSec",
  channels: "channels",
  users: "users",
  huge: "hugeChannels",
  "huge-size": "hugeSize",
  "large-percent": "largePercent",
  "large-size": "largeSize",
  "medium-percent": "mediumPercent",
  "mention-percent": "mentionPercent",
  "mention-all-percent": "mentionAllPercent",
  "repeat-percent": "repeatPercent",
  skew: "skew",
  concurrency: "concurrency",
  "pg-pool": "pgPool",
  "http-connections": "httpConnections",
  "http-workers": "httpWorkers",
  "batch-size": "batchSize",
  "batch-connections": "batchConnections",
  "probe-rate": "probeRate",
  "flush-interval-ms": "flushIntervalMs",
};

const MIX_FLAGS: Record<string, keyof OpMix> = {
  post: "post",
  read: "read",
  unread: "unread",
  state: "state",
  "user-unread": "userUnread",
};

export const USAGE = `npm run bench -- [flags]

  --scenario mixed|burst|sweep|v1.1   mixed chat traffic (default), bursts into 1,000-member channels,
                           sweep: posts into channels of each --sweep-sizes, Redis CPU per post of C and D,
                           or v1.1: the mixed traffic plus deletes, mutes, thread replies and thread reads
                           (B and C only: A and D implement v1)
  --sweep-sizes N,N,…      channel sizes of the sweep (default ${DEFAULT_OPTIONS.sweepSizes.join(",")}); a step lasts --duration
  --seed N                 workload seed (default ${DEFAULT_OPTIONS.seed})
  --duration S             measured seconds per in-process implementation (default ${DEFAULT_OPTIONS.durationSec})
  --http-duration S        measured seconds per HTTP phase (default ${DEFAULT_OPTIONS.httpDurationSec})
  --channels N --users N   topology size (default ${DEFAULT_OPTIONS.channels} channels, ${DEFAULT_OPTIONS.users} users)
  --huge N --huge-size M   N channels of M members (default ${DEFAULT_OPTIONS.hugeChannels} x ${DEFAULT_OPTIONS.hugeSize})
  --large-percent P --large-size M, --medium-percent P   the rest of the size tail
  --post P --read P --unread P --state P --user-unread P   operation mix in percent
                           (default ${DEFAULT_OPTIONS.mix.post}/${DEFAULT_OPTIONS.mix.read}/${DEFAULT_OPTIONS.mix.unread}/${DEFAULT_OPTIONS.mix.state}/${DEFAULT_OPTIONS.mix.userUnread})
  --mention-percent P --mention-all-percent P --repeat-percent P   shares of posts
  --skew S                 Zipf exponent of activity (default ${DEFAULT_OPTIONS.skew})
  --concurrency N          outstanding operations in process (default ${DEFAULT_OPTIONS.concurrency})
  --pg-pool N              Pattern A's PostgreSQL pool size (default ${DEFAULT_OPTIONS.pgPool})
  --only A,B,C,D           implementations to run (default all; D: ADR-02's per-member counters)
  --ceilings / --no-ceilings   measure the Redis and HTTP ceilings first (default on)
  --http / --no-http       run C over HTTP too (default on)
  --http-connections N --http-workers N --batch-size N --batch-connections N
  --http-processes N|auto  HTTP processes of the server under test (serve --processes, default 1; auto: one per core)
  --separate-worker        over HTTP, run the worker as its own process (serve --no-worker + worker)
  --probe-rate N           posts/s into the 2- and 10,000-member probe channels
  --flush-interval-ms N    C's write-behind interval (default ${DEFAULT_OPTIONS.flushIntervalMs})
  --out DIR                where report.md, chart.svg and results.json go (default ${DEFAULT_OPTIONS.outDir})
  --json                   print the results as JSON on stdout instead of the table
`;

export function parseOptions(argv: string[]): BenchOptions {
  const options: BenchOptions = {
    ...DEFAULT_OPTIONS,
    mix: { ...DEFAULT_OPTIONS.mix },
    sweepSizes: [...DEFAULT_OPTIONS.sweepSizes],
    only: new Set(DEFAULT_OPTIONS.only),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (!arg.startsWith("--")) throw new UsageError(`unexpected argument "${arg}"`);
    const eq = arg.indexOf("=");
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const inline = eq === -1 ? undefined : arg.slice(eq + 1);
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new UsageError(`--${name} needs a value`);
      return next;
    };
    if (name === "http") options.http = true;
    else if (name === "no-http") options.http = false;
    else if (name === "ceilings") options.ceilings = true;
    else if (name === "no-ceilings") options.ceilings = false;
    else if (name === "json") options.json = true;
    else if (name === "separate-worker") options.separateWorker = true;
    else if (name === "help") throw new UsageError("");
    else if (name === "out") options.outDir = value();
    else if (name === "scenario") {
      const scenario = value();
      if (scenario !== "mixed" && scenario !== "burst" && scenario !== "sweep" && scenario !== "v1.1") {
        throw new UsageError(`--scenario must be mixed, burst, sweep or v1.1, got "${scenario}"`);
      }
      options.scenario = scenario;
    } else if (name === "sweep-sizes") {
      const raw = value();
      const sizes = raw.split(",").map((s) => Number(s.trim()));
      if (sizes.length === 0 || sizes.some((n) => !Number.isInteger(n) || n < 2)) {
        throw new UsageError(
          `--sweep-sizes takes whole numbers of at least 2 (e.g. 10,100,1000), got "${raw}"`,
        );
      }
      options.sweepSizes = sizes;
    } else if (name === "only") {
      const picked = value()
        .split(",")
        .map((s) => s.trim().toUpperCase());
      const bad = picked.filter((p) => !IMPLEMENTATIONS.includes(p as Implementation));
      if (bad.length > 0 || picked.length === 0) {
        throw new UsageError(
          `--only takes a list of A, B, C, D (e.g. --only A,C), got "${picked.join(",")}"`,
        );
      }
      options.only = new Set(picked as Implementation[]);
    } else if (name in MIX_FLAGS) {
      options.mix[MIX_FLAGS[name] as keyof OpMix] = nonNegative(name, value());
    } else if (name === "http-processes") {
      // As serve's --processes auto: one HTTP process per core.
      const raw = value();
      options.httpProcesses = raw === "auto" ? availableParallelism() : nonNegative(name, raw);
    } else if (name in NUMBER_FLAGS) {
      options[NUMBER_FLAGS[name] as NumberKey] = nonNegative(name, value());
    } else {
      throw new UsageError(`unknown flag --${name}`);
    }
  }
  const mixTotal = Object.values(options.mix).reduce((a, b) => a + b, 0);
  if (mixTotal <= 0) throw new UsageError("the operation mix is empty: give --post/--read/--state a share");
  if (options.users < 2) throw new UsageError("--users must be at least 2 (a channel has 2+ members)");
  if (options.channels < 1) throw new UsageError("--channels must be at least 1");
  if (options.concurrency < 1) throw new UsageError("--concurrency must be at least 1");
  if (options.batchSize < 1 || options.batchSize > 1000) throw new UsageError("--batch-size must be 1-1000");
  return options;
}

function nonNegative(flag: string, raw: string): number {
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new UsageError(`--${flag} needs a non-negative number, got "${raw}"`);
  }
  return value;
}
