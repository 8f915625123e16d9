// `serve --processes N`: N HTTP processes sharing one port (node:cluster), for hosts with more cores
// than one event loop can use. API processes are stateless (all state is in Redis), so this is the
// same as N `serve --no-worker` behind a load balancer, plus one write-behind worker in the primary,
// whose event loop no request competes for (so a saturated API does not delay the flushes).
import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import type { ServerConfig } from "../config.js";
import { createReadState } from "../engine.js";
import { migrate } from "../postgres/migrate.js";
import { createPool } from "../postgres/store.js";
import { logEngineEvents } from "./lifecycle.js";

const CHILD_INDEX = "READSTATE_CLUSTER_CHILD";

/** In a child: its index, else undefined. */
export function clusterChildIndex(env: NodeJS.ProcessEnv): number | undefined {
  return cluster.isPrimary ? undefined : Number(env[CHILD_INDEX] ?? 0);
}

/**
 * The primary: migrates once, runs the write-behind worker, forks the children, replaces a child
 * that dies, and on SIGTERM/SIGINT passes the signal on, waits for every child to stop, flushes
 * everything dirty, and exits.
 */
export async function runClusterPrimary(config: ServerConfig, processes: number, log: Logger): Promise<void> {
  if (config.migrate) {
    const pool = createPool(config.databaseUrl, 1);
    try {
      await migrate(pool, config.schema);
    } finally {
      await pool.end();
    }
  }
  const engine = config.worker ? await createReadState({ ...config, migrate: false }) : undefined;
  if (engine) logEngineEvents(log, engine.events);
  let stopping = false;
  let failed = false;
  const exit = async () => {
    // The children stopped taking writes: the last flush now covers every acknowledged one.
    await engine?.close().catch((err) => {
      failed = true;
      log.error({ err }, "the final flush failed; the state stays in Redis");
    });
    log.info({ failed }, "all HTTP processes stopped");
    process.exit(failed ? 1 : 0);
  };
  const children = new Map<number, Worker>();
  const listening = new WeakSet<Worker>();
  cluster.on("listening", (child) => listening.add(child));
  const fork = (index: number) => {
    const child = cluster.fork({ [CHILD_INDEX]: String(index) });
    children.set(index, child);
    // A child still loading has no signal handler yet (SIGTERM would kill it mid-start): while
    // stopping, it gets the signal once it listens.
    child.once("listening", () => {
      if (stopping) child.process.kill("SIGTERM");
    });
    child.on("exit", (code, signal) => {
      children.delete(index);
      if (stopping) {
        if (code !== 0) failed = true;
        if (children.size === 0) void exit();
        return;
      }
      log.error({ index, code, signal }, "HTTP process died; starting a new one");
      setTimeout(() => fork(index), 1000).unref();
    });
  };
  for (let index = 0; index < processes; index++) fork(index);
  log.info({ processes, port: config.port }, "readstate cluster started");

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping every HTTP process");
    for (const child of children.values()) {
      if (child.isConnected() && listening.has(child)) child.process.kill("SIGTERM");
    }
    if (children.size === 0) void exit();
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}
