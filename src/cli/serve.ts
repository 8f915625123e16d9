// `readstate serve`: migrate, then the HTTP API and (unless --no-worker) the write-behind worker in
// one process. This is what `npm start` runs.
import { isIP } from "node:net";
import { availableParallelism } from "node:os";
import { resolveServerConfig } from "../config.js";
import { createReadState, type Engine } from "../engine.js";
import { build, type ReadStateApp } from "../http/app.js";
import { clusterChildIndex, runClusterPrimary } from "./cluster.js";
import { explainStartError } from "./deps.js";
import { logEngineEvents, stopOnSignals } from "./lifecycle.js";
import { type LocalServices, startLocalServices } from "./local.js";
import { createLogger } from "./logger.js";
import {
  CONNECTION_FLAGS,
  configFlags,
  type FlagSpecs,
  HELP_FLAG,
  LOG_FLAGS,
  parseFlags,
  renderHelp,
  UsageError,
  WORKER_FLAGS,
} from "./options.js";

const FLAGS: FlagSpecs = {
  host: { type: "string", config: "host", placeholder: "address", description: "where to listen" },
  port: {
    type: "string",
    config: "port",
    placeholder: "port",
    description: "where to listen (0: any free port)",
  },
  token: {
    type: "string",
    config: "apiToken",
    placeholder: "token",
    description: "require Authorization: Bearer <token> on /v1/** (prefer the env var: flags show in ps)",
  },
  "max-streams": {
    type: "string",
    config: "maxStreams",
    placeholder: "n",
    description: "live event streams this process holds at most (past it: 503 with Retry-After)",
  },
  "user-token-ttl-s": {
    type: "string",
    config: "userTokenTtlS",
    placeholder: "seconds",
    description: "lifetime of the user tokens of /events (the key: READSTATE_TOKEN_SECRET, env only)",
  },
  ...CONNECTION_FLAGS,
  ...WORKER_FLAGS,
  "no-worker": { type: "boolean", description: "serve HTTP only; run `readstate worker` elsewhere" },
  insecure: { type: "boolean", description: "allow a non-loopback --host without a token" },
  processes: {
    type: "string",
    env: "READSTATE_HTTP_PROCESSES",
    placeholder: "n|auto",
    description:
      "HTTP processes sharing the port (default 1; auto: one per core); the primary process runs the worker",
  },
  demo: {
    type: "boolean",
    env: "READSTATE_DEMO",
    description:
      "serve /demo even with an API token (by default only without one); READSTATE_DEMO=0 turns it off",
  },
  "log-requests": {
    type: "boolean",
    env: "READSTATE_LOG_REQUESTS",
    description: "log every request (off by default: it costs more than the request)",
  },
  "start-local": {
    type: "boolean",
    description:
      "what npm start does: with no DATABASE_URL and nothing on 127.0.0.1:5432 start an embedded PostgreSQL, " +
      "with no REDIS_URL and nothing on 127.0.0.1:6379 start redis-server, data in READSTATE_DATA_DIR (./data)",
  },
  ...LOG_FLAGS,
  ...HELP_FLAG,
};

export const serve = {
  name: "serve",
  summary: "run the HTTP API and the write-behind worker",
  help: renderHelp(
    "readstate serve [options]",
    "Migrates the schema, then serves the HTTP API (API.md) and runs the write-behind worker.\n" +
      "Ready when GET /readyz answers 200. SIGTERM/SIGINT: stop accepting, finish in-flight requests,\n" +
      "flush everything dirty to PostgreSQL, exit 0.",
    FLAGS,
  ),
  async run(argv: string[], env: NodeJS.ProcessEnv): Promise<number | "running"> {
    const values = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(serve.help);
      return 0;
    }
    const childIndex = clusterChildIndex(env);
    let local: LocalServices | undefined;
    if (values["start-local"] && childIndex === undefined) {
      const log = createLogger(values["log-level"], env);
      // A signal while the local servers start still stops them (they run in groups of their own).
      let interrupted = false;
      const interrupt = () => {
        interrupted = true;
      };
      process.on("SIGTERM", interrupt);
      process.on("SIGINT", interrupt);
      try {
        local = await startLocalServices(
          {
            databaseUrl: typeof values["database-url"] === "string" || Boolean(env.DATABASE_URL),
            redisUrl: typeof values["redis-url"] === "string" || Boolean(env.REDIS_URL),
          },
          env,
          log,
        );
      } finally {
        process.off("SIGTERM", interrupt);
        process.off("SIGINT", interrupt);
      }
      if (interrupted) {
        await local.stop();
        return 0;
      }
      env = { ...env, ...local.env };
    }
    try {
      return await serveWith(values, env, childIndex, local);
    } catch (err) {
      await local?.stop();
      throw err;
    }
  },
};

async function serveWith(
  values: ReturnType<typeof parseFlags>,
  env: NodeJS.ProcessEnv,
  childIndex: number | undefined,
  local: LocalServices | undefined,
): Promise<number | "running"> {
  {
    const config = resolveServerConfig(
      {
        ...configFlags(values, FLAGS),
        worker: !values["no-worker"],
        // Requests and flushes each get an event loop (and a core): see sync/thread.ts.
        workerThread: true,
        migrate: !values["no-migrate"],
      },
      env,
    );
    if (!isLoopback(config.host) && !config.apiToken && !values.insecure) {
      throw new UsageError(
        `refusing to listen on ${config.host} without an API token: anyone who reaches it could read and change ` +
          "every user's state. Set READSTATE_API_TOKEN (or --token), listen on 127.0.0.1, or pass --insecure " +
          "if something in front of this server authenticates callers.",
      );
    }
    const log = createLogger(values["log-level"], env);
    const processes = processCount(values.processes, env);
    if (processes > 1 && childIndex === undefined) {
      if (local && Object.keys(local.env).length > 0) {
        throw new UsageError(
          "the local servers npm start starts serve one process: unset READSTATE_HTTP_PROCESSES, or set DATABASE_URL and REDIS_URL",
        );
      }
      await runClusterPrimary(config, processes, log);
      return "running";
    }
    if (childIndex !== undefined) {
      // The primary migrated and runs the write-behind worker.
      config.migrate = false;
      config.worker = false;
    }
    const logRequests = Boolean(values["log-requests"]) || env.READSTATE_LOG_REQUESTS === "1";
    // The demo keeps its message texts in one process's memory, and each process would seed it anew:
    // with --processes N, requests of one page land on different processes, so it is not served.
    const demo =
      childIndex !== undefined ? false : values.demo === true ? true : demoSetting(env.READSTATE_DEMO);

    let engine: Engine | undefined;
    let app: ReadStateApp | undefined;
    // Signals are handled from the start: a SIGTERM while connecting still ends in a clean stop.
    // A cluster child hears Ctrl-C from the terminal and SIGTERM from its primary: not a second signal.
    const starting = (async () => {
      try {
        engine = await createReadState(config);
      } catch (err) {
        throw explainStartError("serve", err, config);
      }
      logEngineEvents(log, engine.events);
      app = build({
        engine,
        apiToken: config.apiToken,
        tokenSecret: config.tokenSecret,
        userTokenTtlS: config.userTokenTtlS,
        logger: log,
        logRequests,
        demo,
      });
      await app.listen({ host: config.host, port: config.port });
    })();
    stopOnSignals(log, { forceOnSecondSignal: childIndex === undefined }, async () => {
      await starting.catch(() => {});
      // close() stops accepting, waits for in-flight requests, then the engine flushes and disconnects.
      await app?.close();
      await engine?.close();
      // After the final flush: the local servers held what it wrote.
      await local?.stop();
    });
    try {
      await starting;
    } catch (err) {
      await app?.close();
      await engine?.close().catch(() => {});
      throw err;
    }
    log.info(
      {
        addresses: app?.addresses(),
        worker: config.worker,
        schema: config.schema,
        prefix: config.keyPrefix,
        auth: Boolean(config.apiToken),
        pages: app?.pages,
      },
      "readstate serving",
    );
    return "running";
  }
}

/** READSTATE_DEMO: 1/true serves /demo, 0/false never does, unset leaves it to the token (none: served). */
export function demoSetting(raw: string | undefined): boolean | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (raw === "1" || raw === "true") return true;
  if (raw === "0" || raw === "false") return false;
  throw new UsageError(`READSTATE_DEMO must be 1, true, 0 or false, got ${raw}`);
}

/** `--processes`: a count, or `auto` for one HTTP process per core (the worker's primary aside). */
export function processCount(flag: string | boolean | undefined, env: NodeJS.ProcessEnv): number {
  const raw = typeof flag === "string" ? flag : env.READSTATE_HTTP_PROCESSES;
  if (raw === undefined || raw === "") return 1;
  if (raw === "auto") return availableParallelism();
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1 || count > 256) {
    throw new UsageError(
      `--processes / READSTATE_HTTP_PROCESSES must be a whole number from 1 to 256, or auto, got ${raw}`,
    );
  }
  return count;
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  if (isIP(host) === 4) return host.startsWith("127.");
  return host === "::1" || host === "::ffff:127.0.0.1";
}
