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
        // Everything dirty at `now` is in PostgreSQL now.
        await this.dirty.recordFlushedFrontier(now).catch(() => {});
        return { rows, channels };
      }
    }
  }

  private async run(): Promise<void> {
    let failures = 0;
    let previousStart: number | undefined;
    while (this.running) {
      const started = performance.now();
      // The interval counts from the start of a pass, so a long pass does not stretch the lag.
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
        delay = behind ? 0 : Math.max(0, this.options.intervalMs - (performance.now() - started));
      } catch (err) {
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
      const { batchRows } = this.options;
      const rowBudget = Math.max(Math.min(MIN_CLAIM_ROWS, batchRows), Math.floor(batchRows / group.length));
      const claimed = await Promise.all(
        group.map(async ({ partition, channels: dirty }) => {
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
          // Nothing claimed: another worker holds the lease (it flushes them), or they just got clean.
          if (changes.length > 0 && (changes.length < dirty.length || changes.some((c) => !c.complete))) {
            more = true;
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
    return { rows, channels, more };
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
