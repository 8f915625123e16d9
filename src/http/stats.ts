// What GET /v1/admin/stats answers and /dashboard draws: per-second figures of this process, kept for
// the last HISTORY_SECONDS so a page opened now draws its charts at once instead of starting empty.
//
// Operations and errors are counted as metrics.run() sees them (one call per operation, so the hot path
// pays a counter increment and a log2); the backlog is read from the engine once per second (the
// dirty index's three commands, on the worker's connection); flushes come from the engine's "flush"
// events, which the worker thread forwards too. Figures are this process's: with `serve --processes N`
// each process answers for the requests it served, and flushes show where the worker runs.
import type { FlushReport, SyncStatus } from "../core/types.js";
import type { Engine } from "../engine.js";

/** One point per second; 5 minutes of them. */
export const HISTORY_SECONDS = 300;
/** Throughput and p99 "now" are taken over the last few whole seconds, so one quiet second does not read as zero. */
export const RECENT_SECONDS = 5;
/** API.md rule 7: every acknowledged change reaches PostgreSQL within this. */
export const DURABILITY_BUDGET_MS = 10_000;

/** What the live event stream reports, when there is one (the stream's module supplies it). */
export interface LiveStats {
  openStreams: number;
}

export interface StatsPoint {
  /** The second's start, ms since the epoch. */
  t: number;
  /** Operations completed in that second, by operation (failed ones included). */
  ops: Record<string, number>;
  /** p99 latency of those operations, ms, by operation (the upper bound of its ~9% wide bucket). */
  p99Ms: Record<string, number>;
  /** Requests that ended in an error, by error code (4xx and 5xx alike, refused before the engine too). */
  errors: Record<string, number>;
  /** Channels waiting for PostgreSQL at the end of the second; null when it could not be read. */
  dirty: number | null;
  oldestDirtyAgeMs: number | null;
  /** Writes being refused so that the worker catches up (backpressure). */
  shedding: boolean;
  /** Rows written to PostgreSQL by the flush batches that ended in that second. */
  flushRows: number;
  flushes: number;
  /** The longest of those batches, ms; null when none ended. */
  flushMs: number | null;
  flushErrors: number;
  openStreams: number;
}

export interface StatsReport {
  now: string;
  intervalMs: number;
  durabilityBudgetMs: number;
  backpressureAgeMs: number;
  current: {
    windowSeconds: number;
    opsPerSecond: Record<string, number>;
    p99Ms: Record<string, number>;
    errorsPerSecond: Record<string, number>;
    dirty: number | null;
    oldestDirtyAgeMs: number | null;
    shedding: boolean;
    flushRowsPerSecond: number;
    flushMs: number | null;
    lastFlushAt: string | null;
    openStreams: number;
  };
  history: StatsPoint[];
}

// Latency buckets: BUCKETS_PER_OCTAVE per doubling from MIN_US, so a bucket is 2^(1/8) ≈ 9% wide and
// p99 is read to within that; the last bucket takes everything from ~5.5 min up.
const MIN_US = 10;
const BUCKETS_PER_OCTAVE = 8;
const BUCKETS = 200;

function bucketOf(seconds: number): number {
  const us = seconds * 1e6;
  if (!(us > MIN_US)) return 0;
  return Math.min(BUCKETS - 1, Math.ceil(Math.log2(us / MIN_US) * BUCKETS_PER_OCTAVE));
}

function bucketUpperMs(bucket: number): number {
  return (MIN_US * 2 ** (bucket / BUCKETS_PER_OCTAVE)) / 1000;
}

/** One second being counted. Latency histograms are kept only for the last RECENT_SECONDS. */
class Second {
  readonly ops = new Map<string, number>();
  readonly latency = new Map<string, Uint32Array>();
  readonly errors = new Map<string, number>();
  flushRows = 0;
  flushes = 0;
  flushMs: number | null = null;
  flushErrors = 0;

  constructor(readonly t: number) {}
}

export interface StatsOptions {
  /** Open streams of the live event stream; read once a second. Absent: 0. */
  liveStats?: () => LiveStats | undefined;
  /** Ticks at this interval (tests shorten it); the points are still labelled by their start. */
  intervalMs?: number;
}

export class StatsRecorder {
  private readonly intervalMs: number;
  private current: Second;
  /** The last RECENT_SECONDS closed seconds, newest last, with their histograms. */
  private recent: Second[] = [];
  private readonly history: StatsPoint[] = [];
  private backlog: SyncStatus | null = null;
  private reading: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onFlush = (report: FlushReport) => {
    this.current.flushRows += report.rows;
    this.current.flushes += 1;
    this.current.flushMs = Math.max(this.current.flushMs ?? 0, report.ms);
  };
  private readonly onFlushError = () => {
    this.current.flushErrors += 1;
  };

  constructor(
    private readonly engine: Engine,
    private readonly options: StatsOptions = {},
  ) {
    this.intervalMs = options.intervalMs ?? 1000;
    this.current = new Second(this.secondStart(Date.now()));
  }

  /** Starts the per-second sampling and listens for flushes; idempotent. */
  start(): void {
    if (this.timer) return;
    this.engine.events.on("flush", this.onFlush);
    this.engine.events.on("flushError", this.onFlushError);
    this.readBacklog();
    this.timer = setInterval(() => this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Stops sampling. A backlog read still under way is left to finish on its own: a hung Redis must not hold up close(). */
  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.engine.events.off("flush", this.onFlush);
    this.engine.events.off("flushError", this.onFlushError);
  }

  /** Counts one operation that ran through the engine (metrics.run): its outcome and its time. */
  operation(op: string, outcome: string, seconds: number): void {
    const second = this.current;
    second.ops.set(op, (second.ops.get(op) ?? 0) + 1);
    let histogram = second.latency.get(op);
    if (!histogram) {
      histogram = new Uint32Array(BUCKETS);
      second.latency.set(op, histogram);
    }
    const bucket = bucketOf(seconds);
    histogram[bucket] = (histogram[bucket] ?? 0) + 1;
    if (outcome !== "ok") this.error(outcome);
  }

  /** Counts a request answered with an error before it reached the engine (validation, auth). */
  error(code: string): void {
    const errors = this.current.errors;
    errors.set(code, (errors.get(code) ?? 0) + 1);
  }

  /** The report; `sinceMs` keeps only the points after that second (the page asks for what is new). */
  report(sinceMs?: number): StatsReport {
    const recent = this.recent;
    const window = Math.max(1, recent.length);
    const opsPerSecond: Record<string, number> = {};
    const errorsPerSecond: Record<string, number> = {};
    const merged = new Map<string, Uint32Array>();
    let flushRows = 0;
    let flushMs: number | null = null;
    for (const second of recent) {
      for (const [op, count] of second.ops) opsPerSecond[op] = (opsPerSecond[op] ?? 0) + count;
      for (const [code, count] of second.errors) errorsPerSecond[code] = (errorsPerSecond[code] ?? 0) + count;
      for (const [op, histogram] of second.latency) {
        let total = merged.get(op);
        if (!total) {
          total = new Uint32Array(BUCKETS);
          merged.set(op, total);
        }
        for (let i = 0; i < BUCKETS; i++) total[i] = (total[i] ?? 0) + (histogram[i] ?? 0);
      }
      flushRows += second.flushRows;
      if (second.flushMs !== null) flushMs = Math.max(flushMs ?? 0, second.flushMs);
    }
    for (const op of Object.keys(opsPerSecond)) opsPerSecond[op] = round((opsPerSecond[op] ?? 0) / window);
    for (const code of Object.keys(errorsPerSecond)) {
      errorsPerSecond[code] = round((errorsPerSecond[code] ?? 0) / window);
    }
    const p99Ms: Record<string, number> = {};
    for (const [op, histogram] of merged) p99Ms[op] = p99(histogram);
    const last = this.history[this.history.length - 1];
    return {
      now: new Date().toISOString(),
      intervalMs: this.intervalMs,
      durabilityBudgetMs: DURABILITY_BUDGET_MS,
      backpressureAgeMs: this.engine.config.backpressureAgeMs,
      current: {
        windowSeconds: recent.length,
        opsPerSecond,
        p99Ms,
        errorsPerSecond,
        dirty: this.backlog?.dirty ?? null,
        oldestDirtyAgeMs: this.backlog?.oldestDirtyAgeMs ?? null,
        shedding: this.engine.backpressure().shedding,
        flushRowsPerSecond: round(flushRows / window),
        flushMs,
        lastFlushAt: this.backlog?.lastFlushAt ?? null,
        openStreams: last?.openStreams ?? this.openStreams(),
      },
      history: sinceMs === undefined ? [...this.history] : this.history.filter((point) => point.t > sinceMs),
    };
  }

  /** Closes the current second into the history and starts the next; exposed for tests. */
  tick(now = Date.now()): void {
    const closed = this.current;
    this.current = new Second(Math.max(this.secondStart(now), closed.t + this.intervalMs));
    this.recent.push(closed);
    if (this.recent.length > RECENT_SECONDS) this.recent = this.recent.slice(-RECENT_SECONDS);
    const p99Ms: Record<string, number> = {};
    for (const [op, histogram] of closed.latency) p99Ms[op] = p99(histogram);
    this.history.push({
      t: closed.t,
      ops: Object.fromEntries(closed.ops),
      p99Ms,
      errors: Object.fromEntries(closed.errors),
      dirty: this.backlog?.dirty ?? null,
      oldestDirtyAgeMs: this.backlog?.oldestDirtyAgeMs ?? null,
      shedding: this.engine.backpressure().shedding,
      flushRows: closed.flushRows,
      flushes: closed.flushes,
      flushMs: closed.flushMs,
      flushErrors: closed.flushErrors,
      openStreams: this.openStreams(),
    });
    if (this.history.length > HISTORY_SECONDS) this.history.splice(0, this.history.length - HISTORY_SECONDS);
    this.readBacklog();
  }

  private openStreams(): number {
    try {
      return this.options.liveStats?.()?.openStreams ?? 0;
    } catch {
      return 0;
    }
  }

  /** Reads the backlog for the next point; one read at a time, so a hung Redis never piles them up. */
  private readBacklog(): void {
    this.reading ??= this.engine
      .syncStatus()
      .then(
        (status) => {
          this.backlog = status;
        },
        // Redis unreachable: the point says "unknown" rather than repeating a stale figure.
        () => {
          this.backlog = null;
        },
      )
      .finally(() => {
        this.reading = undefined;
      });
  }

  private secondStart(now: number): number {
    return now - (now % this.intervalMs);
  }
}

function p99(histogram: Uint32Array): number {
  let total = 0;
  for (const count of histogram) total += count;
  // The smallest bucket at or past the 99th percentile observation.
  const rank = Math.ceil(total * 0.99);
  let seen = 0;
  for (let i = 0; i < histogram.length; i++) {
    seen += histogram[i] ?? 0;
    if (seen >= rank) return round(bucketUpperMs(i));
  }
  return 0;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
