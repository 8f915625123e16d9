// Backpressure: writes are refused while the write-behind worker falls behind and PostgreSQL answers.
//
// API.md rule 7 promises that every acknowledged operation reaches PostgreSQL within 10 s while
// PostgreSQL is reachable. A load the worker cannot keep up with would break that promise, so the
// service stops acknowledging writes until the worker catches up (503 `unavailable`, Retry-After,
// nothing applied). Reads are never refused. While PostgreSQL does not answer, writes are accepted as
// rule 7 demands: refusing them would not bring PostgreSQL back, and the backlog drains later.
//
// The state comes from Redis alone, so it holds when API processes and workers are separate
// processes (`serve --no-worker` + `readstate worker`), all stamped by Redis's clock:
// - the oldest first-dirty time of the dirty index: how old the oldest unflushed change is;
// - the last successful flush batch (every worker records it) and the last failed flush pass.
// Each engine samples them every POLL_MS (a few hundred auto-pipelined commands on the worker's own
// connection); a request only reads the last sample.
//
// Shedding = the oldest dirty change is older than `thresholdMs` (default 8 s) AND a flush batch
// committed within `windowMs` AND no flush pass failed since that commit. The window is the flush
// interval plus FLUSH_WINDOW_SLACK_MS: a worker that keeps committing flushes at least once per
// interval (and once per batch within a long pass, ≤ batchRows rows each), so a longer silence
// means PostgreSQL hangs or no worker runs, and a failed pass (recorded at once) means PostgreSQL
// refuses; either way the service keeps accepting writes.
import { type WriteGate, WritesRefused } from "../core/gate.js";
import type { DirtyIndex } from "../redis/dirty.js";

/** How often each engine samples the backlog. */
export const POLL_MS = 250;
/** Added to the flush interval to get the window in which a flush must have committed. */
export const FLUSH_WINDOW_SLACK_MS = 5000;
/**
 * A sample older than this is not trusted (the monitor's Redis connection hangs or is down): the
 * gate opens. Writes then fail or succeed on Redis's own terms.
 */
const STALE_AFTER_MS = 2000;
/** What a refused client is told to wait: a worker pass under load takes about this long. */
export const RETRY_AFTER_SECONDS = 1;

export interface BacklogSample {
  /** Redis's clock. */
  now: number;
  /** When the oldest dirty change became dirty; null when nothing is dirty. */
  oldestSince: number | null;
  /** The last committed flush batch; null when none was ever recorded. */
  lastFlushAt: number | null;
  /** The last failed flush pass; null when none was recorded. */
  lastFailureAt: number | null;
  /**
   * The last pass's duration over the time its changes piled up in (at least the flush interval);
   * null before the first. Above 1 the worker falls further behind with every pass.
   */
  load: number | null;
}

export type BacklogProbe = () => Promise<BacklogSample>;

export interface BackpressureState {
  /** Writes are being refused. */
  shedding: boolean;
  oldestDirtyAgeMs: number;
  /**
   * The oldest dirty age, scaled by the worker's load when it falls behind (load > 1): the backlog
   * takes that much longer to write than it took to pile up, so the acknowledged writes behind the
   * oldest one are predicted to wait about this long.
   */
  predictedLagMs: number;
  /** Time since the last committed flush batch; null when none was ever recorded. */
  lastFlushAgeMs: number | null;
  /** PostgreSQL took a flush within the window and the newest attempt did not fail. */
  flushesSucceed: boolean;
}

export interface BackpressureOptions {
  /** Oldest dirty age past which writes are refused (config.backpressureAgeMs). */
  thresholdMs: number;
  /** A flush must have committed this recently for the worker to count as working. */
  windowMs: number;
  pollMs?: number;
}

const OPEN: BackpressureState = {
  shedding: false,
  oldestDirtyAgeMs: 0,
  predictedLagMs: 0,
  lastFlushAgeMs: null,
  flushesSucceed: false,
};

/** The decision, from one sample. */
export function assess(sample: BacklogSample, thresholdMs: number, windowMs: number): BackpressureState {
  const oldestDirtyAgeMs = sample.oldestSince === null ? 0 : Math.max(0, sample.now - sample.oldestSince);
  const lastFlushAgeMs = sample.lastFlushAt === null ? null : Math.max(0, sample.now - sample.lastFlushAt);
  const predictedLagMs = Math.round(oldestDirtyAgeMs * Math.max(1, sample.load ?? 0));
  const flushesSucceed =
    sample.lastFlushAt !== null &&
    lastFlushAgeMs !== null &&
    lastFlushAgeMs <= windowMs &&
    (sample.lastFailureAt === null || sample.lastFailureAt < sample.lastFlushAt);
  return {
    shedding: flushesSucceed && predictedLagMs > thresholdMs,
    oldestDirtyAgeMs,
    predictedLagMs,
    lastFlushAgeMs,
    flushesSucceed,
  };
}

/** The figures the monitor needs, read from the dirty index (auto-pipelined: one round trip). */
export function backlogProbe(dirty: DirtyIndex): BacklogProbe {
  return async () => {
    const [now, backlog, last, health] = await Promise.all([
      dirty.now(),
      dirty.backlog(),
      dirty.lastFlush(),
      dirty.flushHealth(),
    ]);
    return {
      now,
      oldestSince: backlog.oldestSince,
      lastFlushAt: last.at,
      lastFailureAt: health.failedAt,
      load: health.load,
    };
  };
}

/** Samples the backlog periodically and admits or refuses writes from the last sample. */
export class BackpressureMonitor implements WriteGate {
  private current: BackpressureState = OPEN;
  private sampledAt = Number.NEGATIVE_INFINITY;
  private timer: NodeJS.Timeout | undefined;
  private probe: BacklogProbe | undefined;
  private inFlight: Promise<BackpressureState> | undefined;

  constructor(readonly options: BackpressureOptions) {}

  /** Starts sampling; idempotent. The gate stays open until the first sample. */
  start(probe: BacklogProbe): void {
    if (this.timer) return;
    this.probe = probe;
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.options.pollMs ?? POLL_MS);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  /** Takes a sample now (one at a time: a slow Redis never piles samples up). */
  refresh(): Promise<BackpressureState> {
    const probe = this.probe;
    if (!probe) return Promise.resolve(this.state);
    this.inFlight ??= probe()
      .then((sample) => {
        this.current = assess(sample, this.options.thresholdMs, this.options.windowMs);
        this.sampledAt = performance.now();
        return this.current;
      })
      // Redis unreachable: the writes fail there anyway; the gate must not shut on a stale sample.
      .catch(() => this.state)
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  /** The last sample's verdict; open when that sample is stale. */
  get state(): BackpressureState {
    if (performance.now() - this.sampledAt > STALE_AFTER_MS) return OPEN;
    return this.current;
  }

  /**
   * The oldest dirty change is past the threshold, whatever PostgreSQL does: the worker starts its
   * next pass at once instead of waiting for its interval.
   */
  get behind(): boolean {
    return this.state.predictedLagMs > this.options.thresholdMs;
  }

  admitWrite(): void {
    const { shedding, oldestDirtyAgeMs, predictedLagMs } = this.state;
    if (!shedding) return;
    throw new WritesRefused(
      `writes are refused for now: the oldest change not yet in PostgreSQL is ${(oldestDirtyAgeMs / 1000).toFixed(1)} s old, ` +
        `the backlog would take about ${(predictedLagMs / 1000).toFixed(1)} s to reach it (limit ${(this.options.thresholdMs / 1000).toFixed(1)} s), ` +
        `and the write-behind worker is catching up; ` +
        `nothing was applied, retry after ${RETRY_AFTER_SECONDS} s`,
      RETRY_AFTER_SECONDS,
    );
  }
}
