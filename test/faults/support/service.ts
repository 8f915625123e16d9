// Runs the real CLI (`serve` or `worker`) as a separate process, the way an operator would, so that
// kill -9 and SIGTERM hit a real process and nothing is shared with the test's own event loop.
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { exited, freePort, kill9, waitFor } from "./procs.js";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface ServiceEnv {
  redisUrl: string;
  databaseUrl: string;
  schema: string;
  prefix: string;
  flushIntervalMs?: number;
  token?: string;
  /** Extra environment, e.g. READSTATE_LOG_LEVEL. */
  extra?: Record<string, string>;
}

export class ServiceProcess {
  private out = "";
  /**
   * Set once ready and cleared by terminate() and kill9(): an exit while it is set is a crash, and its
   * output goes to stderr, since the test that sees only refused connections cannot explain it.
   */
  private watching = false;
  readonly exit: Promise<number | null>;

  constructor(
    readonly child: ChildProcess,
    readonly port: number,
    readonly kind: string,
  ) {
    const keep = (chunk: Buffer) => {
      // The tail is enough to explain a failure; a long load must not grow memory without bound.
      this.out = (this.out + chunk.toString()).slice(-200_000);
    };
    child.stdout?.on("data", keep);
    child.stderr?.on("data", keep);
    this.exit = exited(child);
    void this.exit.then((code) => {
      if (this.watching && code !== 0) {
        process.stderr.write(`${kind} exited unexpectedly (${code}):\n${this.out.slice(-5000)}\n`);
      }
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get output(): string {
    return this.out;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Waits until /readyz answers 200 (serve) or the worker's start line is logged (worker). */
  async ready(timeoutMs = 30_000): Promise<void> {
    await waitFor(
      `${this.kind} to be ready`,
      async () => {
        if (!this.running)
          throw new Error(`${this.kind} exited (${this.child.exitCode}): ${this.out.slice(-3000)}`);
        if (this.kind === "worker") return this.out.includes("worker running");
        const response = await fetch(`${this.url}/readyz`, { signal: AbortSignal.timeout(1000) });
        return response.status === 200;
      },
      timeoutMs,
      100,
    );
    this.watching = true;
  }

  kill9(): Promise<void> {
    this.watching = false;
    return kill9(this.child);
  }

  /** SIGTERM and wait for the exit code. */
  async terminate(timeoutMs = 60_000): Promise<number | null> {
    if (!this.running) return this.child.exitCode;
    this.watching = false;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), timeoutMs);
    try {
      return await this.exit;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts `readstate <command>` through tsx, on a free loopback port for `serve`. */
export async function launch(
  command: "serve" | "worker",
  env: ServiceEnv,
  args: string[] = [],
): Promise<ServiceProcess> {
  const port = command === "serve" ? await freePort() : 0;
  const childEnv: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    REDIS_URL: env.redisUrl,
    DATABASE_URL: env.databaseUrl,
    READSTATE_PG_SCHEMA: env.schema,
    READSTATE_REDIS_PREFIX: env.prefix,
    READSTATE_FLUSH_INTERVAL_MS: String(env.flushIntervalMs ?? 1000),
    READSTATE_LOG_LEVEL: "info",
    HOST: "127.0.0.1",
    PORT: String(port),
    ...(env.token ? { READSTATE_API_TOKEN: env.token } : {}),
    ...env.extra,
  };
  const child = spawn(process.execPath, ["--import", "tsx", "src/cli/main.ts", command, ...args], {
    cwd: ROOT,
    env: childEnv,
    stdio: ["ignore", "pipe", "pipe"],
  });
  return new ServiceProcess(child, port, command);
}

/** Starts and waits for readiness; kills the process if it never gets there. */
export async function launchReady(
  command: "serve" | "worker",
  env: ServiceEnv,
  args: string[] = [],
): Promise<ServiceProcess> {
  const service = await launch(command, env, args);
  try {
    await service.ready();
  } catch (err) {
    await service.kill9();
    throw err;
  }
  return service;
}
