// Composition root: wires the Redis store, the PostgreSQL store, the service and the worker.
// Resources are opened in order and closed in reverse; close() is idempotent.
import { EventEmitter } from "node:events";
import { performance } from "node:perf_hooks";
import { type ReadStateConfig, resolveConfig } from "./config.js";
import { ReadStateError } from "./core/errors.js";
import { LiveEvents } from "./core/live.js";
import { ReadStateService } from "./core/service.js";
import type { EngineEvents, FlushResult, Readiness, ReadState, SyncStatus } from "./core/types.js";
import { migrate, schemaStatus } from "./postgres/migrate.js";
import { createPool, PostgresStore } from "./postgres/store.js";
import { RedisClock } from "./redis/clock.js";
import {
  checkEvictionPolicy,
  connectRedis,
  openRedis,
  type RedisMemory,
  redisMemory,
} from "./redis/connection.js";
import { DirtyIndex } from "./redis/dirty.js";
import { RedisChangeFeed } from "./redis/feed.js";
import { RedisStore } from "./redis/store.js";
import {
  BackpressureMonitor,
  type BackpressureState,
  backlogProbe,
  FLUSH_WINDOW_SLACK_MS,
} from "./sync/backpressure.js";
import { FlushThread } from "./sync/thread.js";
import { FlushWorker } from "./sync/worker.js";

/** The engine: every operation of ReadState plus what an operator needs to watch it. */
export interface Engine extends ReadState {
  readonly config: ReadStateConfig;
  /** Emits "flush", "flushError", "redisError", "postgresError". */
  readonly events: EventEmitter<EngineEvents>;
  readiness(): Promise<Readiness>;
  /** Redis's memory against maxmemory (for metrics); at maxmemory writes answer 503. */
  redisMemory(): Promise<RedisMemory>;
  /** Whether writes are being refused to let the worker catch up (sync/backpressure.ts). */
  backpressure(): BackpressureState;
  /** Throws WritesRefused (503, Retry-After) while writes are being refused; returns otherwise. */
  admitWrite(): void;
  /** Live subscriptions this instance holds, the users they belong to, the channel feeds listened to. */
  liveStatus(): { subscriptions: number; users: number; channels: number };
  /** Posts answered 503 whose outcome is still being settled (src/redis/retractions.ts). */
  postsInDoubt(): number;
}

/** Switches for tests only, never exposed as configuration. */
export interface TestingHooks {
  /** Flushes write without the fencing check, so a test can show the corruption it prevents. */
  unfencedFlushes?: boolean;
  /** Where the change feed's subscriber connects (a cuttable proxy), instead of config.redisUrl. */
  feedRedisUrl?: string;
  /** Live events' timings, shortened by tests (core/live.ts LiveOptions). */
  live?: { lingerMs?: number; retryMs?: number; bufferEvents?: number; bufferBytes?: number };
}

/**
 * Each readiness check gives up after this (they run side by side; the schema check gets what the
 * PostgreSQL check left), so /readyz answers within its 3 s and names the dependency that hung.
 */
const READINESS_CHECK_MS = 2000;

/**
 * Connects to Redis (refusing any maxmemory-policy but `noeviction`) and PostgreSQL, migrates the schema
 * unless `migrate: false`, and starts the write-behind worker unless `worker: false`.
 */
export async function createReadState(
  options: Partial<ReadStateConfig> = {},
  testing: TestingHooks = {},
): Promise<Engine> {
  const config = resolveConfig(options);
  const events = new EventEmitter<EngineEvents>();
  const cleanup: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };

  try {
    const redis = connectRedis(config.redisUrl, config.redisTimeoutMs);
    // ioredis reports connection trouble as 'error' events; unhandled they would crash the process.
    redis.on("error", (err: Error) => events.emit("redisError", err));
    cleanup.push(async () => redis.disconnect());
    await openRedis(redis, config.redisUrl);
    await checkEvictionPolicy(redis);
    // Deadlines of write scripts are in Redis's time: measure its clock now, after every reconnect
    // (Redis may come back on another machine) and periodically.
    const clock = new RedisClock(redis);
    await clock.sync();
    clock.start();
    cleanup.push(async () => clock.stop());
    redis.on("ready", () => void clock.sync().catch(() => {}));

    const pool = createPool(config.databaseUrl);
    pool.on("error", (err) => events.emit("postgresError", err));
    cleanup.push(() => pool.end());
    if (config.migrate) await migrate(pool, config.schema);

    const hot = new RedisStore(
      redis,
      config.keyPrefix,
      config.cacheTtlMs,
      (err) => events.emit("redisError", err),
      { timeoutMs: config.redisTimeoutMs, clock },
      {
        retracted: (attempt) => events.emit("postRetracted", attempt.channelId, attempt.messageId),
        unresolved: (attempt, why) =>
          events.emit("postUnresolved", attempt.channelId, attempt.messageId, why),
      },
    );
    // Pushed after the Redis connection's cleanup, so it runs before it: a last try while connected.
    cleanup.push(async () => {
      await hot.retractions.settle();
      hot.retractions.stop();
    });
    const cold = new PostgresStore(pool, config.schema);
    cold.fenceDisabled = testing.unfencedFlushes === true;
    const pressure = new BackpressureMonitor({
      thresholdMs: config.backpressureAgeMs,
      windowMs: config.flushIntervalMs + FLUSH_WINDOW_SLACK_MS,
    });
    const service = new ReadStateService(
      hot,
      cold,
      (err) => events.emit("postgresError", err),
      pressure,
      (err) => events.emit("redisError", err),
    );
    const feed = new RedisChangeFeed(redis, hot.keys, clock, {
      ...(testing.feedRedisUrl ? { redisUrl: testing.feedRedisUrl } : {}),
      onError: (err) => events.emit("redisError", err),
    });
    const live = new LiveEvents(
      service,
      feed,
      { maxStreams: config.maxStreams, ...testing.live },
      {
        delivered: (event, subscriptions, lagMs) => events.emit("liveDelivered", event, subscriptions, lagMs),
        coalesced: (changes) => events.emit("liveCoalesced", changes),
        resync: (reason) => events.emit("liveResync", reason),
      },
    );
    // Before the connections close: subscriptions end first, and the subscriber goes with them.
    cleanup.push(() => live.close());
    // The worker talks to Redis on its own connection: on the shared one its few commands would
    // queue behind every request's, and a saturated service would flush late.
    const workerRedis = connectRedis(config.redisUrl, config.redisTimeoutMs);
    workerRedis.on("error", (err: Error) => events.emit("redisError", err));
    cleanup.push(async () => workerRedis.disconnect());
    await openRedis(workerRedis, config.redisUrl);
    const dirty = new DirtyIndex(workerRedis, hot.keys, config.cacheTtlMs);
    const worker = new FlushWorker(dirty, cold, {
      intervalMs: config.flushIntervalMs,
      batchRows: config.flushBatchRows,
      onFlush: (report) => events.emit("flush", report),
      onError: (err) => events.emit("flushError", err),
      behind: () => pressure.behind,
    });
    // Every engine samples the backlog, also one without a worker: its gate is what refuses writes.
    pressure.start(backlogProbe(dirty));
    cleanup.push(() => pressure.stop());
    let thread: FlushThread | undefined;
    if (config.worker && config.workerThread) {
      thread = new FlushThread({
        config,
        unfencedFlushes: testing.unfencedFlushes === true,
        onFlush: (report) => events.emit("flush", report),
        onError: (err) => events.emit("flushError", err),
      });
      const started = thread;
      cleanup.push(() => started.stop());
      await started.start();
      const tell = setInterval(() => started.setBehind(pressure.behind), 100);
      tell.unref();
      cleanup.push(async () => clearInterval(tell));
    } else if (config.worker) {
      worker.start();
      cleanup.push(() => worker.stop());
    }

    let closing: Promise<void> | undefined;
    const engine: Engine = {
      config,
      events,
      join: (c, u) => service.join(c, u),
      leave: (c, u) => service.leave(c, u),
      post: (c, m) => service.post(c, m),
      markRead: (c, u, m) => service.markRead(c, u, m),
      markUnread: (c, u, m) => service.markUnread(c, u, m),
      memberState: (c, u) => service.memberState(c, u),
      userUnread: (u) => service.userUnread(u),
      channelInfo: (c) => service.channelInfo(c),
      receipts: (c, m, q) => service.receipts(c, m, q),
      deleteChannel: (c) => service.deleteChannel(c),
      deleteMessage: (c, m) => service.deleteMessage(c, m),
      setMuted: (c, u, muted) => service.setMuted(c, u, muted),
      markAllRead: (u, channelIds) => service.markAllRead(u, channelIds),
      follow: (c, t, u) => service.follow(c, t, u),
      unfollow: (c, t, u) => service.unfollow(c, t, u),
      threadState: (c, t, u) => service.threadState(c, t, u),
      markThreadRead: (c, t, u, m) => service.markThreadRead(c, t, u, m),
      markThreadUnread: (c, t, u, m) => service.markThreadUnread(c, t, u, m),
      threadInfo: (c, t) => service.threadInfo(c, t),
      userThreads: (u, q) => service.userThreads(u, q),
      subscribe: (u, onEvent, options) => live.subscribe(u, onEvent, options),
      liveStatus: () => live.status(),
      postsInDoubt: () => hot.retractions.size,

      async flush(): Promise<FlushResult> {
        const { rows } = await unavailableOnFailure(async () => worker.flushAll(await dirty.now()));
        const { dirty: remaining } = await dirty.backlog();
        return { flushed: rows, remaining };
      },

      async syncStatus(): Promise<SyncStatus> {
        return unavailableOnFailure(async () => {
          const [now, backlog, last] = await Promise.all([dirty.now(), dirty.backlog(), dirty.lastFlush()]);
          const { shedding } = pressure.state;
          return {
            dirty: backlog.dirty,
            oldestDirtyAgeMs: backlog.oldestSince === null ? 0 : Math.max(0, now - backlog.oldestSince),
            lastFlushAt: last.at === null ? null : new Date(last.at).toISOString(),
            lastFlushRows: last.rows,
            lastFlushMs: last.ms,
            shedding,
            backpressureAgeMs: config.backpressureAgeMs,
          };
        });
      },

      backpressure: () => pressure.state,
      admitWrite: () => pressure.admitWrite(),

      async readiness(): Promise<Readiness> {
        const [redisCheck, [postgresCheck, schema]] = await Promise.all([
          verdict("Redis", READINESS_CHECK_MS, async () => {
            await redis.ping();
            const memory = await redisMemory(redis);
            if (!memory.full) return undefined;
            // Not ready: writes are refused. Every instance shares this Redis, so routing elsewhere
            // does not help; the 503 is for alerts and rollouts (README, "When Redis is full").
            return (
              `Redis reached maxmemory (${memory.usedBytes} of ${memory.maxBytes} bytes used): writes answer ` +
              "503 until memory is freed or maxmemory raised; reads of cached channels and the worker go on"
            );
          }),
          (async () => {
            const started = performance.now();
            const reachable = await verdict("PostgreSQL", READINESS_CHECK_MS, async () => {
              await pool.query("SELECT 1");
              return undefined;
            });
            if (!reachable.ok)
              return [reachable, { ok: false, reason: "PostgreSQL is unreachable" }] as const;
            const left = Math.max(100, READINESS_CHECK_MS - (performance.now() - started));
            const migrated = await verdict("PostgreSQL", left, async () => {
              const status = await schemaStatus(pool, config.schema);
              return status.ok ? undefined : (status.reason ?? `schema ${config.schema} is not ready`);
            });
            return [reachable, migrated] as const;
          })(),
        ]);
        return {
          ready: redisCheck.ok && postgresCheck.ok && schema.ok,
          redis: redisCheck,
          postgres: postgresCheck,
          schema,
        };
      },

      redisMemory: () => redisMemory(redis),

      /** Stops the worker, flushes what it owns (when it runs one), then closes the connections. */
      close(): Promise<void> {
        closing ??= (async () => {
          let failure: unknown;
          // Subscriptions end before the final flush, so the last events are not read from a
          // closing engine.
          await live.close();
          if (config.worker) {
            await thread?.stop();
            await worker.stop();
            await worker.flushAll(await dirty.now()).catch((err) => {
              failure = err;
            });
          }
          await closeAll();
          if (failure) throw failure;
        })();
        return closing;
      },
    };
    return engine;
  } catch (err) {
    await closeAll();
    throw err;
  }
}

/** Runs a check within `ms`: ok, or not ok with the problem it returned, the failure, or the hang. */
async function verdict(
  name: string,
  ms: number,
  check: () => Promise<string | undefined>,
): Promise<{ ok: boolean; reason?: string }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<"hung">((resolve) => {
    timer = setTimeout(() => resolve("hung"), ms);
  });
  try {
    const problem = await Promise.race([check(), hung]);
    if (problem === "hung") return { ok: false, reason: `${name} did not answer within ${ms} ms` };
    return problem === undefined ? { ok: true } : { ok: false, reason: problem };
  } catch (err) {
    const message = (err as Error).message;
    if (message === "Command timed out") return { ok: false, reason: `${name} did not answer in time` };
    return { ok: false, reason: `${name} is unreachable: ${message}` };
  } finally {
    clearTimeout(timer);
  }
}

async function unavailableOnFailure<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    if (err instanceof ReadStateError) throw err;
    throw new ReadStateError(
      "unavailable",
      `the write-behind store is unavailable: ${(err as Error).message}`,
      {
        cause: err,
      },
    );
  }
}
