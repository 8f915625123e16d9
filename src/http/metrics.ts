// Prometheus metrics of one app. Each app owns its Registry (not prom-client's global one) so that
// tests and embedders can build several apps in one process.
import { performance } from "node:perf_hooks";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import { isReadStateError } from "../core/errors.js";
import { isWritesRefused } from "../core/gate.js";
import type { FlushReport } from "../core/types.js";
import type { Engine } from "../engine.js";

/** What an operation is called in metrics and logs; a batch op counts under its single endpoint's name. */
export type OperationName =
  | "join"
  | "leave"
  | "post"
  | "read"
  | "unread"
  | "member_state"
  | "user_unread"
  | "channel_info"
  | "receipts"
  | "delete_channel"
  | "delete_message"
  | "mute"
  | "mark_all_read"
  | "follow"
  | "unfollow"
  | "thread_state"
  | "thread_read"
  | "thread_unread"
  | "thread_info"
  | "user_threads"
  | "events"
  | "create_token"
  | "batch"
  | "flush"
  | "sync_status";

export interface HttpMetrics {
  readonly registry: Registry;
  /** Runs one engine operation, counting its outcome (ok or the error code) and timing it. */
  run<T>(op: OperationName, operation: () => Promise<T>): Promise<T>;
  /** Counts a request turned away before it reached the engine (validation, auth). */
  countRejected(op: OperationName | undefined, code: string): void;
  /** True when run() already counted this error, so the error handler does not count it twice. */
  wasCounted(err: unknown): boolean;
  /** The Prometheus text, with the backlog gauges read from the engine at this moment. */
  scrape(): Promise<string>;
  /** An event stream was dropped because its client read too slowly. */
  streamDropped(): void;
  /** Detaches from the engine's events. */
  close(): void;
}

/** The operations the backpressure gate may refuse. */
const WRITE_OPERATIONS: OperationName[] = [
  "join",
  "leave",
  "post",
  "read",
  "unread",
  "delete_channel",
  "delete_message",
  "mute",
  "mark_all_read",
  "follow",
  "unfollow",
  "thread_read",
  "thread_unread",
];

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const FLUSH_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
/** Live events are owed within 1 s; coalescing alone may hold one 250 ms. */
const LAG_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/** Told of every operation and rejection as metrics count them (the stats behind /dashboard). */
export interface OperationObserver {
  operation(op: OperationName, outcome: string, seconds: number): void;
  error(code: string): void;
}

export function createMetrics(
  engine: Engine,
  onScrapeError: (err: unknown) => void,
  observer?: OperationObserver,
): HttpMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "readstate_" });

  const operations = new Counter({
    name: "readstate_operations_total",
    help: "Operations by type and outcome (ok or the error code)",
    labelNames: ["op", "outcome"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "readstate_operation_duration_seconds",
    help: "Time the engine took per operation, failed ones included",
    labelNames: ["op"] as const,
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const dirty = new Gauge({
    name: "readstate_sync_dirty",
    help: "Channels whose state is not yet written to PostgreSQL (write-behind backlog)",
    registers: [registry],
  });
  const oldestDirtyAge = new Gauge({
    name: "readstate_sync_oldest_dirty_age_seconds",
    help: "Age of the oldest unflushed change; the durability window is 10 s",
    registers: [registry],
  });
  const writesRefused = new Counter({
    name: "readstate_writes_refused_total",
    help: "Writes refused (503, Retry-After, nothing applied) while the worker catches up (backpressure)",
    labelNames: ["op"] as const,
    registers: [registry],
  });
  // Read at each scrape, from the engine's last backlog sample.
  new Gauge({
    name: "readstate_backpressure_shedding",
    help: "1 while writes are refused because the oldest unflushed change is past the threshold",
    registers: [registry],
    collect() {
      this.set(engine.backpressure().shedding ? 1 : 0);
    },
  });
  const flushDuration = new Histogram({
    name: "readstate_flush_duration_seconds",
    help: "Duration of one write-behind flush batch",
    buckets: FLUSH_BUCKETS,
    registers: [registry],
  });
  const flushRows = new Counter({
    name: "readstate_flush_rows_total",
    help: "Rows written to PostgreSQL by the write-behind worker",
    registers: [registry],
  });
  const flushFenced = new Counter({
    name: "readstate_flush_fenced_total",
    help: "Claimed channels the fence refused: loaded again since the claim, so the newer copy stays",
    registers: [registry],
  });
  const flushErrors = new Counter({
    name: "readstate_flush_errors_total",
    help: "Failed flush attempts (retried with backoff; nothing is dropped)",
    registers: [registry],
  });
  const dependencyErrors = new Counter({
    name: "readstate_dependency_errors_total",
    help: "Errors reported by the Redis and PostgreSQL connections",
    labelNames: ["dependency"] as const,
    registers: [registry],
  });
  for (const dependency of ["redis", "postgres"]) dependencyErrors.labels(dependency).inc(0);
  for (const op of WRITE_OPERATIONS) writesRefused.labels(op).inc(0);
  const redisMemoryFull = new Gauge({
    name: "readstate_redis_memory_full",
    help: "1 while Redis is at maxmemory: writes answer 503 (nothing applied), reads and flushes go on",
    registers: [registry],
  });
  const redisMemoryUsed = new Gauge({
    name: "readstate_redis_memory_used_bytes",
    help: "Redis used_memory (summed over Cluster masters)",
    registers: [registry],
  });
  const redisMemoryMax = new Gauge({
    name: "readstate_redis_maxmemory_bytes",
    help: "Redis maxmemory (0: no limit); alert well before used reaches it",
    registers: [registry],
  });
  flushErrors.inc(0);
  new Gauge({
    name: "readstate_live_streams",
    help: "Live event streams (SSE, and in-process subscriptions) this instance holds",
    registers: [registry],
    collect() {
      this.set(engine.liveStatus().subscriptions);
    },
  });
  new Gauge({
    name: "readstate_posts_in_doubt",
    help: "Posts answered 503 that Redis may have run (reply lost or late), until retracted or found absent",
    registers: [registry],
    collect() {
      this.set(engine.postsInDoubt());
    },
  });
  new Gauge({
    name: "readstate_live_channels",
    help: "Channel feeds this instance listens to for its streams",
    registers: [registry],
    collect() {
      this.set(engine.liveStatus().channels);
    },
  });
  const liveEvents = new Counter({
    name: "readstate_live_events_total",
    help: "Live events sent, counted once per stream they reached",
    labelNames: ["event"] as const,
    registers: [registry],
  });
  const liveCoalesced = new Counter({
    name: "readstate_live_events_coalesced_total",
    help: "Changes folded into an event already due (at most one per channel or thread per 250 ms)",
    registers: [registry],
  });
  const liveLag = new Histogram({
    name: "readstate_live_delivery_lag_seconds",
    help: "From a change's publication (Redis time) to its event's write on a stream",
    buckets: LAG_BUCKETS,
    registers: [registry],
  });
  const liveResyncs = new Counter({
    name: "readstate_live_resyncs_total",
    help: "Fresh snapshots to every stream: the change feed broke and is back, or Redis lost its data",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const liveDropped = new Counter({
    name: "readstate_live_streams_dropped_total",
    help: "Streams dropped because their client read slower than events came",
    registers: [registry],
  });
  const retractions = new Counter({
    name: "readstate_posts_retracted_total",
    help: "Posts answered 503 that Redis had applied all the same (reply lost or late), then retracted; outcome unresolved: retraction impossible, the post may stand",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  for (const outcome of ["retracted", "unresolved"]) retractions.labels(outcome).inc(0);
  for (const event of ["snapshot", "member", "thread"]) liveEvents.labels(event).inc(0);
  for (const reason of ["reconnected", "data_lost"]) liveResyncs.labels(reason).inc(0);
  liveCoalesced.inc(0);
  liveDropped.inc(0);

  // Labelled children are looked up once: hashing label sets on every request is measurable at 15k/s.
  const outcomeCounters = new Map<string, Counter.Internal>();
  const latencyHistograms = new Map<OperationName, Histogram.Internal<"op">>();
  const countOutcome = (op: string, outcome: string) => {
    const key = `${op}\u0000${outcome}`;
    let child = outcomeCounters.get(key);
    if (!child) {
      child = operations.labels(op, outcome);
      outcomeCounters.set(key, child);
    }
    child.inc();
  };
  const observeLatency = (op: OperationName, seconds: number) => {
    let child = latencyHistograms.get(op);
    if (!child) {
      child = latency.labels(op);
      latencyHistograms.set(op, child);
    }
    child.observe(seconds);
  };
  const counted = new WeakSet<object>();

  const onFlush = (report: FlushReport) => {
    flushDuration.observe(report.ms / 1000);
    flushRows.inc(report.rows);
    flushFenced.inc(report.fenced);
  };
  const onFlushError = () => flushErrors.inc();
  const onRedisError = () => dependencyErrors.labels("redis").inc();
  const onPostgresError = () => dependencyErrors.labels("postgres").inc();
  const liveEventCounters = new Map<string, Counter.Internal>();
  const onLiveDelivered = (event: string, subscriptions: number, lagMs: number | null) => {
    let child = liveEventCounters.get(event);
    if (!child) {
      child = liveEvents.labels(event);
      liveEventCounters.set(event, child);
    }
    child.inc(subscriptions);
    if (lagMs !== null) for (let i = 0; i < subscriptions; i++) liveLag.observe(lagMs / 1000);
  };
  const onLiveCoalesced = (changes: number) => liveCoalesced.inc(changes);
  const onLiveResync = (reason: string) => liveResyncs.labels(reason).inc();
  const onPostRetracted = () => retractions.labels("retracted").inc();
  const onPostUnresolved = () => retractions.labels("unresolved").inc();
  engine.events.on("postRetracted", onPostRetracted);
  engine.events.on("postUnresolved", onPostUnresolved);
  engine.events.on("liveDelivered", onLiveDelivered);
  engine.events.on("liveCoalesced", onLiveCoalesced);
  engine.events.on("liveResync", onLiveResync);
  engine.events.on("flush", onFlush);
  engine.events.on("flushError", onFlushError);
  engine.events.on("redisError", onRedisError);
  engine.events.on("postgresError", onPostgresError);

  return {
    registry,
    async run(op, operation) {
      const started = performance.now();
      let outcome = "ok";
      try {
        const result = await operation();
        countOutcome(op, outcome);
        return result;
      } catch (err) {
        outcome = outcomeOf(err);
        countOutcome(op, outcome);
        if (isWritesRefused(err)) writesRefused.labels(op).inc();
        if (typeof err === "object" && err !== null) counted.add(err);
        throw err;
      } finally {
        const seconds = (performance.now() - started) / 1000;
        observeLatency(op, seconds);
        observer?.operation(op, outcome, seconds);
      }
    },
    countRejected(op, code) {
      countOutcome(op ?? "none", code);
      observer?.error(code);
    },
    wasCounted(err) {
      return typeof err === "object" && err !== null && counted.has(err);
    },
    async scrape() {
      // Still serve the other metrics when a read fails: a scrape during a Redis outage is when they
      // matter most.
      await Promise.all([
        engine.syncStatus().then((status) => {
          dirty.set(status.dirty);
          oldestDirtyAge.set(status.oldestDirtyAgeMs / 1000);
        }, onScrapeError),
        engine.redisMemory().then((memory) => {
          redisMemoryFull.set(memory.full ? 1 : 0);
          redisMemoryUsed.set(memory.usedBytes);
          redisMemoryMax.set(memory.maxBytes);
        }, onScrapeError),
      ]);
      return registry.metrics();
    },
    streamDropped() {
      liveDropped.inc();
    },
    close() {
      engine.events.off("liveDelivered", onLiveDelivered);
      engine.events.off("liveCoalesced", onLiveCoalesced);
      engine.events.off("liveResync", onLiveResync);
      engine.events.off("postRetracted", onPostRetracted);
      engine.events.off("postUnresolved", onPostUnresolved);
      engine.events.off("flush", onFlush);
      engine.events.off("flushError", onFlushError);
      engine.events.off("redisError", onRedisError);
      engine.events.off("postgresError", onPostgresError);
    },
  };
}

function outcomeOf(err: unknown): string {
  return isReadStateError(err) ? err.code : "internal_error";
}
