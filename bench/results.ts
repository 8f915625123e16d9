// The shape of a benchmark run's results: what --json prints and what the reports are made from.
import type { LatencySummary } from "./histogram.js";
import type { TimelinePoint } from "./timeline.js";

/**
 * The ceilings run first: the same client and load generator against the cheapest possible work
 * (a 4-command Lua script; a constant JSON route), so every other figure reads as a share of them.
 */
export type CeilingId = "ceiling-redis" | "ceiling-http";
export type PhaseId = CeilingId | "A" | "B" | "C" | "D" | "C-http" | "C-batch";

export interface CpuUse {
  /** CPU seconds per wall second (1.0 = one core busy), per component. */
  benchProcessCores: number;
  redisCores: number;
  postgresCores: number;
  /** The HTTP server child process, for the HTTP phases. */
  serverCores?: number;
  /** Every other process on the machine: competition the figures did not ask for. */
  otherCores?: number;
}

export interface FlushLag {
  samples: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  maxDirty: number;
  endDirty: number;
}

/** Operations refused with 503 `unavailable`: not acknowledged, so not in ops/s nor in `latency`. */
export interface Refusals {
  total: number;
  byKind: Record<string, number>;
  /** Writes (post, read, unread) sent in the measured window: acknowledged, refused or failed. */
  writesAttempted: number;
  writesRefused: number;
  /** writesRefused / writesAttempted; above 1% the phase misses the lag target. */
  writeShare: number;
  /** Time to the refusal (per request over HTTP). */
  latency: LatencySummary;
}

export interface PgRows {
  total: number;
  /** Per operation, probe posts and (in process) the warm-up's operations included: they wrote rows too. */
  perOp: number;
  /** Rows written per ADR-02 status update. */
  perStatusUpdate: number;
  byTable: Record<string, number>;
  /** True when the counters could be read after the connections closed (exact). */
  exact: boolean;
}

/**
 * What PostgreSQL spent on an in-process implementation, from the measured window to its last flush
 * (bench/measure/postgres-cost.ts, bench/README.md "PostgreSQL cost").
 */
export interface PgCost {
  /** CPU seconds of the backends connected to the run's database (shared processes left out). */
  cpuSec: number;
  cpuUsPerOp: number;
  /** Committed + rolled back in the run's database; null when the run could not have its own. */
  transactions: number | null;
  transactionsPerOp: number | null;
}

export interface PhaseResult {
  id: PhaseId;
  label: string;
  mode: "ceiling" | "in-process" | "http-single" | "http-batch";
  durationSec: number;
  /** Seconds the load was on (less than durationSec only in the burst scenario). */
  activeSec: number;
  /** Acknowledged operations: refused and failed ones are counted apart (refused, errors). */
  ops: number;
  /** Fan-out probe posts beside the workload (counted in PostgreSQL rows per op, not in ops/s). */
  probeOps: number;
  opsPerSec: number;
  statusUpdates: number;
  statusUpdatesPerSec: number;
  /** HTTP phases: requests, which for /v1/batch carry many ops each. */
  requests?: number;
  requestsPerSec?: number;
  opsByKind: Record<string, number>;
  errors: Record<string, number>;
  refused: Refusals;
  /** Acknowledged operations only. */
  latency: Record<string, LatencySummary>;
  postBySize: Record<string, LatencySummary>;
  probe: Record<string, LatencySummary>;
  pgRows?: PgRows;
  pgCost?: PgCost;
  flushLag?: FlushLag;
  cpu: CpuUse;
  timeline: TimelinePoint[];
}

/** One step of --scenario sweep: posts into one channel of `members` members (bench/phases/sweep.ts). */
export interface SweepStep {
  implementation: "A" | "B" | "C" | "D";
  label: string;
  members: number;
  /** Acknowledged posts in the step's measured window. */
  posts: number;
  postsPerSec: number;
  /** Redis INFO cpu (user + sys) over the window and the flush after it, per post. */
  redisCpuUsPerPost: number;
  /** Redis CPU (cores) in the second before the step, with the bench idle: other tenants' load. */
  redisBackgroundCores: number;
  /** The run database's backends, window and flush, per post (bench/measure/postgres-cost.ts). */
  postgresCpuUsPerPost: number;
  pgRowsPerPost: number;
  latency: LatencySummary;
  errors: Record<string, number>;
}

export interface SweepResult {
  sizes: number[];
  steps: SweepStep[];
  /** Redis CPU per post in the largest channel ÷ in the smallest, per implementation. */
  growth: Partial<Record<"C" | "D", number>>;
}

export interface TargetCheck {
  name: string;
  target: string;
  actual: string;
  /** null: not measured in this run (phase skipped). */
  pass: boolean | null;
}

export interface MachineInfo {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  redis: string;
  postgres: string;
  postgresSettings: Record<string, string>;
  os: string;
}

export interface BenchResult {
  startedAt: string;
  totalSec: number;
  command: string;
  options: Record<string, unknown>;
  machine: MachineInfo;
  topology: {
    channels: number;
    users: number;
    memberships: number;
    channelsBySize: Record<string, number>;
    maxChannelsPerUser: number;
  };
  /** C's Redis bytes per member state, from MEMORY USAGE over its keys after setup. */
  redisBytesPerMember?: number;
  /** Microseconds the generator takes per operation (its share of the bench process). */
  generatorUsPerOp: number;
  phases: PhaseResult[];
  /** --scenario sweep only. */
  sweep?: SweepResult;
  ratios: {
    cOverA?: number;
    cOverB?: number;
    cRowsOverA?: number;
    /**
     * Each phase against its ceiling: in process ops/s ÷ ceiling-redis ops/s; HTTP single req/s and
     * /v1/batch ops/s ÷ ceiling-http req/s.
     */
    ofCeiling?: Partial<Record<PhaseId, { ceiling: CeilingId; ratio: number }>>;
  };
  targets: TargetCheck[];
  notes: string[];
}
