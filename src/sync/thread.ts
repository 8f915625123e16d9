// The write-behind worker's loop on a thread of its own (`serve`, one process). An HTTP server that
// saturates its event loop would otherwise delay every step of a flush pass (a few dozen awaits on
// Redis and PostgreSQL, each waiting its turn behind the requests): under a /v1/batch load the lag
// reached 11 s. On its own thread the worker has its own event loop and the second core.
//
// The thread only runs the periodic passes. flush() and the final flush at shutdown stay on the
// engine's own in-process worker; two flushers at once are safe (leases, versions and the fence).
import { fileURLToPath } from "node:url";
import { isMainThread, parentPort, Worker, workerData } from "node:worker_threads";
import type { ReadStateConfig } from "../config.js";
import type { FlushReport } from "../core/types.js";
import { createPool, PostgresStore } from "../postgres/store.js";
import { connectRedis, openRedis } from "../redis/connection.js";
import { DirtyIndex } from "../redis/dirty.js";
import { Keys } from "../redis/keys.js";
import { FlushWorker } from "./worker.js";

interface ThreadData {
  config: ReadStateConfig;
  unfencedFlushes: boolean;
  /** One Int32: 1 while the backpressure monitor (main thread) says the worker is behind. */
  behind: SharedArrayBuffer;
}

type ThreadMessage =
  | { type: "ready" }
  | { type: "flush"; report: FlushReport }
  | { type: "error"; message: string }
  | { type: "failed"; message: string }
  | { type: "stopped" };

/** A thread that ended without being stopped is started again after this long. */
const RESTART_DELAY_MS = 1000;

/**
 * The main thread's handle on the worker thread. The periodic flushes live there: a thread that
 * ends unasked (an uncaught error in it) is reported and started again, or nothing would be written
 * to PostgreSQL until the process restarts, while requests went on being acknowledged.
 */
export class FlushThread {
  private readonly behind = new Int32Array(new SharedArrayBuffer(4));
  private thread: Worker | undefined;
  /** Resolves when the current thread has exited. */
  private exited: Promise<void> = Promise.resolve();
  private stopping = false;
  private restart: NodeJS.Timeout | undefined;
  private stopped: Promise<void> | undefined;

  constructor(
    private readonly options: {
      config: ReadStateConfig;
      unfencedFlushes: boolean;
      onFlush: (report: FlushReport) => void;
      onError: (err: Error) => void;
    },
  ) {}

  /** Starts the thread; resolves once its worker runs, rejects if it could not connect. */
  start(): Promise<void> {
    const data: ThreadData = {
      config: this.options.config,
      unfencedFlushes: this.options.unfencedFlushes,
      behind: this.behind.buffer as SharedArrayBuffer,
    };
    const thread = startWorker(entryUrl(), data);
    this.thread = thread;
    this.exited = new Promise((resolve) => {
      thread.on("exit", (code) => {
        resolve();
        if (this.stopping) return;
        this.options.onError(
          new Error(`the flush thread exited (code ${code}); starting a new one in ${RESTART_DELAY_MS} ms`),
        );
        this.restart = setTimeout(() => {
          this.start().catch((err: unknown) => this.options.onError(err as Error));
        }, RESTART_DELAY_MS);
      });
    });
    return new Promise((resolve, reject) => {
      thread.on("message", (message: ThreadMessage) => {
        if (message.type === "ready") resolve();
        else if (message.type === "failed") reject(new Error(message.message));
        else if (message.type === "flush") this.options.onFlush(message.report);
        else if (message.type === "error") this.options.onError(new Error(message.message));
      });
      thread.on("error", (err) => {
        this.options.onError(err);
        reject(err);
      });
    });
  }

  /** What the backpressure monitor says; the thread reads it without a round trip. */
  setBehind(behind: boolean): void {
    Atomics.store(this.behind, 0, behind ? 1 : 0);
  }

  /** Stops the loop after the pass under way and ends the thread; idempotent. */
  stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restart);
    const thread = this.thread;
    if (!thread) return Promise.resolve();
    this.stopped ??= new Promise<void>((resolve) => {
      void this.exited.then(resolve);
      thread.on("message", (message: ThreadMessage) => {
        if (message.type === "stopped") void thread.terminate();
      });
      // A thread that already ended ignores it; `exited` has resolved then.
      thread.postMessage("stop");
    });
    return this.stopped;
  }
}

/**
 * Built, the thread runs this file's .js. From source (tests, the benchmark) it runs the .ts, and a
 * thread does not always inherit the loader that compiles it (under vitest, or started from another
 * worker thread, it does not): the thread registers tsx's before importing the file.
 */
function startWorker(entry: URL, data: ThreadData): Worker {
  if (!entry.pathname.endsWith(".ts")) return new Worker(entry, { workerData: data });
  const bootstrap = `import("tsx/esm/api").then((tsx) => { tsx.register(); return import(${JSON.stringify(entry.href)}); });`;
  return new Worker(bootstrap, { eval: true, workerData: data });
}

/** This file, as built (.js) or run from source under tsx (.ts). */
function entryUrl(): URL {
  const self = fileURLToPath(import.meta.url);
  return new URL(self.endsWith(".ts") ? "./thread.ts" : "./thread.js", import.meta.url);
}

async function runThread(data: ThreadData, port: NonNullable<typeof parentPort>): Promise<void> {
  const { config } = data;
  const post = (message: ThreadMessage) => port.postMessage(message);
  const redis = connectRedis(config.redisUrl, config.redisTimeoutMs);
  redis.on("error", (err: Error) => post({ type: "error", message: `Redis: ${err.message}` }));
  // Cache-miss loads use the engine's pool; the worker writes at most a few batches at once.
  const pool = createPool(config.databaseUrl, 4);
  pool.on("error", (err) => post({ type: "error", message: `PostgreSQL: ${err.message}` }));
  try {
    await openRedis(redis, config.redisUrl);
  } catch (err) {
    post({ type: "failed", message: (err as Error).message });
    redis.disconnect();
    await pool.end();
    return;
  }
  const cold = new PostgresStore(pool, config.schema);
  cold.fenceDisabled = data.unfencedFlushes;
  const behind = new Int32Array(data.behind);
  const worker = new FlushWorker(new DirtyIndex(redis, new Keys(config.keyPrefix), config.cacheTtlMs), cold, {
    intervalMs: config.flushIntervalMs,
    batchRows: config.flushBatchRows,
    onFlush: (report) => post({ type: "flush", report }),
    onError: (err) => post({ type: "error", message: err.message }),
    behind: () => Atomics.load(behind, 0) === 1,
  });
  port.on("message", async (message: unknown) => {
    if (message !== "stop") return;
    await worker.stop();
    redis.disconnect();
    await pool.end().catch(() => {});
    post({ type: "stopped" });
  });
  worker.start();
  post({ type: "ready" });
}

if (!isMainThread && parentPort && (workerData as ThreadData | undefined)?.behind) {
  void runThread(workerData as ThreadData, parentPort);
}
