// Composition root: wires the Redis store, the PostgreSQL store, the service and the worker.
// Resources are opened in order and closed in reverse; close() is idempotent.
import { EventEmitter } from "node:events";
import { type ReadStateConfig, resolveConfig } from "./config.js";
import { ReadStateError } from "./core/errors.js";
import { ReadStateService } from "./core/service.js";
import type { EngineEvents, FlushResult, Readiness, ReadState, SyncStatus } from "./core/types.js";
import { migrate, schemaStatus } from "./postgres/migrate.js";
import { createPool, PostgresStore } from "./postgres/store.js";
import { checkEvictionPolicy, connectRedis, openRedis } from "./redis/connection.js";
import { DirtyIndex } from "./redis/dirty.js";
import { RedisStore } from "./redis/store.js";
import { FlushWorker } from "./sync/worker.js";

/** The engine: every operation of ReadState plus what an operator needs to watch it. */
export interface Engine extends ReadState {
  readonly config: ReadStateConfig;
  /** Emits "flush", "flushError", "redisError", "postgresError". */
  readonly events: EventEmitter<EngineEvents>;
  readiness(): Promise<Readiness>;
}

/**
 * Connects to Redis (refusing any maxmemory-policy but `noeviction`) and PostgreSQL, migrates the schema
 * unless `migrate: false`, and starts the write-behind worker unless `worker: false`.
 */
export async function createReadState(options: Partial<ReadStateConfig> = {}): Promise<Engine> {
  const config = resolveConfig(options);
  const events = new EventEmitter<EngineEvents>();
  const cleanup: (() => Promise<unknown>)[] = [];
  const closeAll = async () => {
    for (const step of cleanup.reverse()) await step().catch(() => {});
  };

  try {
    const redis = connectRedis(config.redisUrl);
    // ioredis reports connection trouble as 'error' events; unhandled they would crash the process.
    redis.on("error", (err: Error) => events.emit("redisError", err));
    cleanup.push(async () => redis.disconnect());
    await openRedis(redis, config.redisUrl);
    await checkEvictionPolicy(redis);

    const pool = createPool(config.databaseUrl);
    pool.on("error", (err) => events.emit("postgresError", err));
    cleanup.push(() => pool.end());
    if (config.migrate) await migrate(pool, config.schema);

    const hot = new RedisStore(redis, config.keyPrefix, config.cacheTtlMs, (err) =>
      events.emit("redisError", err),
    );
    const cold = new PostgresStore(pool, config.schema);
    const service = new ReadStateService(hot, cold, (err) => events.emit("postgresError", err));
    // The worker talks to Redis on its own connection: on the shared one its few commands would
    // queue behind every request's, and a saturated service would flush late.
    const workerRedis = connectRedis(config.redisUrl);
    workerRedis.on("error", (err: Error) => events.emit("redisError", err));
    cleanup.push(async () => workerRedis.disconnect());
    await openRedis(workerRedis, config.redisUrl);
    const dirty = new DirtyIndex(workerRedis, hot.keys, config.cacheTtlMs);
    const worker = new FlushWorker(dirty, cold, {
      intervalMs: config.flushIntervalMs,
      batchRows: config.flushBatchRows,
      onFlush: (report) => events.emit("flush", report),
      onError: (err) => events.emit("flushError", err),
    });
    if (config.worker) {
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

      async flush(): Promise<FlushResult> {
        const { rows } = await unavailableOnFailure(async () => worker.flushAll(await dirty.now()));
        const { dirty: remaining } = await dirty.backlog();
        return { flushed: rows, remaining };
      },

      async syncStatus(): Promise<SyncStatus> {
        return unavailableOnFailure(async () => {
          const [now, backlog, last] = await Promise.all([dirty.now(), dirty.backlog(), dirty.lastFlush()]);
          return {
            dirty: backlog.dirty,
            oldestDirtyAgeMs: backlog.oldestSince === null ? 0 : Math.max(0, now - backlog.oldestSince),
            lastFlushAt: last.at === null ? null : new Date(last.at).toISOString(),
            lastFlushRows: last.rows,
            lastFlushMs: last.ms,
          };
        });
      },

      async readiness(): Promise<Readiness> {
        const [redisCheck, postgresCheck] = await Promise.all([
          verdict(async () => {
            await redis.ping();
          }, "Redis"),
          verdict(async () => {
            await pool.query("SELECT 1");
          }, "PostgreSQL"),
        ]);
        const schema = postgresCheck.ok
          ? await schemaStatus(pool, config.schema).catch((err: Error) => ({
              ok: false,
              reason: err.message,
            }))
          : { ok: false, reason: "PostgreSQL is unreachable" };
        return {
          ready: redisCheck.ok && postgresCheck.ok && schema.ok,
          redis: redisCheck,
          postgres: postgresCheck,
          schema,
        };
      },

      /** Stops the worker, flushes what it owns (when it runs one), then closes the connections. */
      close(): Promise<void> {
        closing ??= (async () => {
          let failure: unknown;
          if (config.worker) {
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

async function verdict(check: () => Promise<void>, name: string): Promise<{ ok: boolean; reason?: string }> {
  try {
    await check();
    return { ok: true };
  } catch (err) {
    return { ok: false, reason: `${name} is unreachable: ${(err as Error).message}` };
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
