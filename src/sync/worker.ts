// The write-behind worker: claim → one versioned bulk upsert per table in one transaction →
// compare-and-clear. It never drops anything: on failure the claimed entries simply stay dirty.
import { randomUUID } from "node:crypto";
import type { FlushReport } from "../core/types.js";
import type { PostgresStore } from "../postgres/store.js";
import type { ClaimedPartition, DirtyIndex, DirtyPartition } from "../redis/dirty.js";
import { backoffDelay, sleep } from "./backoff.js";

export interface WorkerOptions {
  intervalMs: number;
  /** Rows at most in one transaction. */
  batchRows: number;
  /**
   * How long a claim keeps other workers off a partition. Short, so that a dead worker's partitions
   * are taken over within the 10 s durability window; a slow pass outliving it is only duplicate
   * work (the version guard keeps it safe).
   */
  leaseMs?: number;
  onFlush?: (report: FlushReport) => void;
  onError?: (err: Error) => void;
  /** True while the oldest dirty change is past the backpressure threshold: skip the wait. */
  behind?: () => boolean;
}

/** Channels read per partition per pass: a pass stays small even with a large backlog. */
const SCAN_PER_PARTITION = 100;
const DEFAULT_LEASE_MS = 3000;
/** Partitions claimed concurrently and written in one transaction. */
const CLAIM_GROUP = 32;
/**
 * Batches written at once. PostgreSQL mostly waits on round trips and commits here, so a few in
 * flight cut a pass's duration; the engine's pool (10) keeps room for cache-miss loads.
 */
const WRITE_CONCURRENCY = 3;
/** A partition's share of a batch never drops below this many rows. */
const MIN_CLAIM_ROWS = 50;
/**
 * A partition that fell short asks for this many times what it took: a busy one then gets its
 * backlog in two or three passes instead of many (measured with `npm run bench -- --only C`).
 */
const SHORT_GROWTH = 4;

interface PassResult {
  rows: number;
  channels: number;
  /** More was dirty than this pass took: loop again at once. */
  more: boolean;
}

export class FlushWorker {
  readonly workerId = randomUUID();
  private running = false;
  private loop: Promise<void> | undefined;
  private readonly stopSignal = new AbortController();
  /**
   * Rows each partition needed per flush interval: what it took over the last round of passes (a
   * timed pass and those that follow it at once while more is dirty). Sizes its next row budget.
   */
  private demand = new Map<number, number>();
  /** Rows taken per partition in the round under way. */
  private round = new Map<number, number>();
  /** Partitions whose last claim left changes behind, with the rows it took. */
  private readonly shortOf = new Map<number, number>();
  /** Passes never overlap: the loop and flush() wait for each other (a pass writes a few batches at once). */
  private lock: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly dirty: DirtyIndex,
    private readonly postgres: PostgresStore,
    private readonly options: WorkerOptions,
  ) {}

  start(): void {
    if (this.running) return;
    this.running = true;
    this.loop = this.run();
  }

  /** Stops the loop after the pass under way; idempotent. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopSignal.abort();
    await this.loop;
  }

  /**
   * Writes everything dirty at the time of the call (by Redis's clock, which stamps dirtiness),
   * ignoring other workers' leases: the version guard keeps overlapping writers safe.
   */
  async flushAll(now: number): Promise<{ rows: number; channels: number }> {
    let rows = 0;
    let channels = 0;
    for (;;) {
      const pass = await this.exclusive(() => this.pass({ force: true, before: now }));
      rows += pass.rows;
      channels += pass.channels;
      if (!pass.more && pass.channels === 0) {
        // Everything dirty at `now` is in PostgreSQL now. What it left clean gets its cache expiry at
        // once, so a stop or `readstate flush` leaves no copy without one; should that fail, the
        // channels stay in the cooling index for a later round.
        await this.dirty.recordFlushedFrontier(now).catch(() => {});
        await this.dirty.cool(0).catch(() => {});
        return { rows, channels };
      }
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    let previousStart: number | undefined;
    // A round: a timed pass and the passes that follow it at once while more is dirty. The interval
    // counts from the start of a round, so long passes do not stretch the lag: counted from the last
    // pass, a change made as the round began waited the interval plus two rounds (measured: flush
    // lag p99 6.2 s at a 5 s interval).
    let roundStart: number | undefined;
    while (this.running) {
      const started = performance.now();
      roundStart ??= started;
      let delay = this.options.intervalMs;
      try {
        const pass = await this.exclusive(() =>
          this.pass({ force: false, before: Number.POSITIVE_INFINITY }),
        );
        failures = 0;
        // A pass writes what piled up since the previous one began: its duration over that time says
        // how fast the worker keeps up (above 1 it falls further behind with every pass).
        if (previousStart !== undefined && pass.rows > 0) {
          const piledUp = Math.max(started - previousStart, this.options.intervalMs);
          const load = (performance.now() - started) / piledUp;
          await this.dirty.recordFlushLoad(load).catch(() => {});
        }
        const behind = pass.more || this.options.behind?.() === true;
        if (behind) delay = 0;
        else {
          // The round is over: channels it and the previous rounds left clean, and still clean after
          // a whole interval, get their cache's expiry (a busy channel is dirty again by then).
          // Not a flush failure if it fails: reported, and the channels wait for the next round.
          await this.dirty.cool(this.options.intervalMs).catch((err: Error) => this.options.onError?.(err));
          delay = Math.max(0, this.options.intervalMs - (performance.now() - roundStart));
          roundStart = undefined;
        }
      } catch (err) {
        roundStart = undefined;
        failures++;
        this.options.onError?.(err as Error);
        // Shared, so that no instance refuses writes while PostgreSQL fails (sync/backpressure.ts).
        await this.dirty.recordFlushFailure().catch(() => {});
        delay = backoffDelay(failures, Math.min(this.options.intervalMs, 5000));
      }
      previousStart = started;
      if (delay > 0) await sleep(delay, this.stopSignal.signal);
    }
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.lock.then(task);
    this.lock = result.catch(() => {});
    return result;
  }

  /**
   * One pass over every dirty partition. Partitions are claimed CLAIM_GROUP at a time, concurrently,
   * sharing the batch's row budget; each group is written in one transaction.
   */
  private async pass(opts: { force: boolean; before: number }): Promise<PassResult> {
    const [partitions, scannedAt] = await Promise.all([
      this.dirty.scan(SCAN_PER_PARTITION, opts.before),
      this.dirty.now(),
    ]);
    // Oldest first: the lag is the age of the oldest dirty entry.
    partitions.sort((a, b) => (a.channels[0]?.since ?? 0) - (b.channels[0]?.since ?? 0));
    if (!Number.isFinite(opts.before)) {
      // Nothing older than the oldest dirty entry is dirty: everything before it is in PostgreSQL.
      const frontier = partitions[0]?.channels[0]?.since ?? scannedAt;
      await this.dirty.recordFlushedFrontier(frontier).catch(() => {});
    }
    const groups: DirtyPartition[][] = [];
    for (let i = 0; i < partitions.length; i += CLAIM_GROUP)
      groups.push(partitions.slice(i, i + CLAIM_GROUP));

    let more = partitions.some((p) => p.channels.length === SCAN_PER_PARTITION);
    let rows = 0;
    let channels = 0;
    // Groups hold disjoint partitions, hence disjoint rows: several can be in flight at once.
    await mapConcurrently(groups, WRITE_CONCURRENCY, async (group) => {
      const budgets = this.rowBudgets(group.map((p) => p.partition));
      const claimed = await Promise.all(
        group.map(async ({ partition, channels: dirty }, i) => {
          const rowBudget = budgets[i] ?? MIN_CLAIM_ROWS;
          const changes = await this.dirty.claim(
            partition,
            dirty.map((d) => d.channelId),
            {
              workerId: this.workerId,
              leaseMs: this.options.leaseMs ?? DEFAULT_LEASE_MS,
              force: opts.force,
              rowBudget,
            },
          );
          const taken = changes.reduce(
            (n, c) => n + 1 + c.members.length + c.followers.length + c.messages.length,
            0,
          );
          this.round.set(partition, (this.round.get(partition) ?? 0) + taken);
          // Nothing claimed: another worker holds the lease (it flushes them), or they just got clean.
          if (changes.length > 0 && (changes.length < dirty.length || changes.some((c) => !c.complete))) {
            more = true;
            this.shortOf.set(partition, taken);
          } else {
            this.shortOf.delete(partition);
          }
          return { partition, changes };
        }),
      );
      const batch = claimed.filter((p) => p.changes.length > 0);
      if (batch.length === 0) return;
      // Not `rows += await …`: that reads rows before the await, and lanes would overwrite each other.
      const written = await this.write(batch);
      rows += written;
      channels += batch.reduce((sum, p) => sum + p.changes.length, 0);
    });
    if (!more) {
      // The round is over: what each partition took is what it needs per interval.
      this.demand = this.round;
      this.round = new Map();
    }
    return { rows, channels, more };
  }

  /**
   * The row budgets of a group's partitions. An even split starves a partition holding a busy
   * channel (a large channel read all the time): it takes a slice of its changes per pass, the
   * channel stays dirty from its first change on, and the oldest dirty age grows by the passes it
   * needs. So each partition asks for what it took over the last round, or SHORT_GROWTH times what
   * it got if it fell short in this one (shareBatch).
   */
  private rowBudgets(partitions: number[]): number[] {
    const needs = partitions.map((p) => {
      const short = this.shortOf.get(p);
      return Math.max(this.demand.get(p) ?? 0, short === undefined ? 0 : SHORT_GROWTH * short);
    });
    return shareBatch(needs, this.options.batchRows);
  }

  private async write(batch: ClaimedPartition[]): Promise<number> {
    const started = performance.now();
    const { rows, stale } = await this.postgres.writeBatch(batch.flatMap((p) => p.changes));
    // Only after the commit: what changed since the claim stays dirty for the next batch. A fenced
    // channel's copy is gone; whatever is in Redis now is newer and stays as it is.
    const fenced = new Set(stale);
    await Promise.all(
      batch.map((p) =>
        this.dirty.clear(
          p.partition,
          p.changes.filter((c) => !fenced.has(c.channelId)),
          this.workerId,
        ),
      ),
    );
    const channels = batch.reduce((sum, p) => sum + p.changes.length, 0) - fenced.size;
    const report = { rows, channels, ms: Math.round(performance.now() - started), fenced: fenced.size };
    await this.dirty.recordFlush(report);
    this.options.onFlush?.(report);
    return rows;
  }
}

/** Runs task over items with at most `limit` running at once; rejects on the first failure. */
async function mapConcurrently<T>(
  items: T[],
  limit: number,
  task: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await task(item);
    }
  });
  await Promise.all(lanes);
}

/**
 * Shares one batch's rows among partitions by what each needs. Each gets MIN_CLAIM_ROWS (or the
 * whole batch when that is smaller); the rest of the batch covers their needs above it, all of
 * them when they fit (what is left over spread evenly), in proportion otherwise.
 */
export function shareBatch(needs: number[], batchRows: number): number[] {
  const floor = Math.min(MIN_CLAIM_ROWS, batchRows);
  const above = needs.map((n) => Math.max(0, n - floor));
  const room = Math.max(0, batchRows - floor * needs.length);
  const wanted = above.reduce((sum, n) => sum + n, 0);
  if (wanted > room) return above.map((n) => floor + Math.floor((n * room) / wanted));
  const spare = Math.floor((room - wanted) / Math.max(1, needs.length));
  return above.map((n) => floor + n + spare);
}
