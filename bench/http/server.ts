// C as a separate process: `node --import tsx src/cli/main.ts serve`, as a deployment runs it, so
// the load generator and the server never share an event loop; and the ceiling-http server, alike.
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { fileURLToPath } from "node:url";
import { CEILING_PATH } from "./requests.js";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

export interface ServerHandle {
  port: number;
  pid: number;
  /** The last lines the server wrote, for an error message a person can act on. */
  logTail(): string;
  /** SIGTERM: the server stops taking requests, flushes everything dirty, and exits. */
  stop(timeoutMs?: number): Promise<number | null>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export async function startServer(options: {
  keyPrefix: string;
  schema: string;
  databaseUrl: string;
  redisUrl: string;
  flushIntervalMs: number;
  /** serve --processes: HTTP processes sharing the port. */
  processes?: number;
  /** Run the write-behind worker as its own process (`serve --no-worker` + `worker`). */
  separateWorker?: boolean;
}): Promise<ServerHandle> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "serve",
      "--port",
      String(port),
      "--prefix",
      options.keyPrefix,
      "--schema",
      options.schema,
      "--flush-interval-ms",
      String(options.flushIntervalMs),
      "--processes",
      String(options.processes ?? 1),
      ...(options.separateWorker ? ["--no-worker"] : []),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        HOST: "127.0.0.1",
        // A log line per request would measure pino, not readstate.
        READSTATE_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const keep = keepTail();
  const worker = options.separateWorker ? startWorker(options, keep) : undefined;
  // The worker stops last: its SIGTERM flushes what the server's last requests left dirty.
  return supervise(child, port, "/readyz", keep, worker);
}

/**
 * The ceiling-http phase's server (bench/http/ceiling-server.ts): Fastify answering constant JSON,
 * in its own process with as many processes as the server under test.
 */
export async function startCeilingServer(options: { processes?: number }): Promise<ServerHandle> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "bench/http/ceiling-server.ts", String(port), String(options.processes ?? 1)],
    { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  return supervise(child, port, CEILING_PATH, keepTail());
}

type LogKeeper = ((data: Buffer) => void) & { lines: string[] };

function keepTail(): LogKeeper {
  const lines: string[] = [];
  const keep = (data: Buffer) => {
    lines.push(...data.toString("utf8").split("\n").filter(Boolean));
    if (lines.length > 40) lines.splice(0, lines.length - 40);
  };
  return Object.assign(keep, { lines });
}

/** Waits until `readyPath` answers 200 (or the child dies), then hands out a stoppable handle. */
async function supervise(
  child: ChildProcess,
  port: number,
  readyPath: string,
  keep: LogKeeper,
  stopAfter?: { stop(timeoutMs: number): Promise<void> },
): Promise<ServerHandle> {
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const handle: ServerHandle = {
    port,
    pid: child.pid ?? -1,
    logTail: () => keep.lines.join("\n"),
    async stop(timeoutMs = 30_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      if (stopAfter) await stopAfter.stop(timeoutMs);
      return code;
    },
  };

  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(
        `the HTTP server exited with ${child.exitCode} before it was ready:\n${handle.logTail()}`,
      );
    }
    try {
      const response = await fetch(`http://127.0.0.1:${port}${readyPath}`);
      if (response.status === 200) return handle;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await handle.stop(2000);
  throw new Error(`the HTTP server was not ready within 30 s:\n${handle.logTail()}`);
}

/** `readstate worker` as its own process, for --separate-worker. */
function startWorker(
  options: {
    keyPrefix: string;
    schema: string;
    databaseUrl: string;
    redisUrl: string;
    flushIntervalMs: number;
  },
  keep: (data: Buffer) => void,
): { stop(timeoutMs: number): Promise<void> } {
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "worker",
      "--prefix",
      options.keyPrefix,
      "--schema",
      options.schema,
      "--flush-interval-ms",
      String(options.flushIntervalMs),
    ],
    {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        DATABASE_URL: options.databaseUrl,
        REDIS_URL: options.redisUrl,
        READSTATE_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout?.on("data", keep);
  child.stderr?.on("data", keep);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    async stop(timeoutMs: number) {
      if (child.exitCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
      await exited;
      clearTimeout(timer);
    },
  };
}
