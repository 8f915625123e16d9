// A private redis-server for one scenario: own port, own directory, AOF with everysec fsync and no
// RDB snapshots, run as a child process so the suite can kill -9 it and restart it from its AOF.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Redis } from "ioredis";
import { exited, freePort, kill9, waitFor } from "./procs.js";

export interface PrivateRedisOptions {
  /** e.g. "allkeys-lru" for the refuse-to-start scenario. */
  maxmemoryPolicy?: string;
  /** e.g. "256mb" (the default when a policy is given); "0" means no limit. */
  maxmemory?: string;
}

export class PrivateRedis {
  readonly dir = mkdtempSync(join(tmpdir(), "readstate-fault-redis-"));
  port = 0;
  private child: ChildProcess | undefined;
  private log = "";

  constructor(private readonly options: PrivateRedisOptions = {}) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** Starts (or restarts, keeping the port and the AOF) the server and waits for PONG. */
  async start(): Promise<void> {
    if (this.port === 0) this.port = await freePort();
    const args = [
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      "everysec",
      "--save",
      "",
      "--daemonize",
      "no",
      "--protected-mode",
      "yes",
    ];
    if (this.options.maxmemoryPolicy)
      args.push(
        "--maxmemory",
        this.options.maxmemory ?? "256mb",
        "--maxmemory-policy",
        this.options.maxmemoryPolicy,
      );
    const child = spawn("redis-server", args, { stdio: ["ignore", "pipe", "pipe"] });
    child.stdout?.on("data", (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-20_000);
    });
    child.stderr?.on("data", (chunk: Buffer) => {
      this.log = (this.log + chunk.toString()).slice(-20_000);
    });
    this.child = child;
    await waitFor(`redis-server on ${this.port}\n${this.log}`, async () => {
      if (child.exitCode !== null) throw new Error(`redis-server exited: ${this.log}`);
      return (await this.command("PING")) === "PONG";
    });
  }

  /** The crash: no shutdown, no final fsync. */
  async kill9(): Promise<void> {
    if (this.child) await kill9(this.child);
    this.child = undefined;
  }

  /** Redis hangs: the process stops (SIGSTOP) with its connections open; resume() continues it. */
  pause(): void {
    this.child?.kill("SIGSTOP");
  }

  resume(): void {
    this.child?.kill("SIGCONT");
  }

  /** Redis loses everything: kill -9, remove the AOF, start an empty server on the same port. */
  async replaceWithEmpty(): Promise<void> {
    await this.kill9();
    rmSync(this.dir, { recursive: true, force: true });
    mkdirSync(this.dir, { recursive: true });
    await this.start();
  }

  async command(...args: (string | number)[]): Promise<unknown> {
    const client = new Redis({
      port: this.port,
      host: "127.0.0.1",
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on("error", () => {});
    try {
      await client.connect();
      const [name, ...rest] = args;
      return await client.call(String(name), ...rest.map(String));
    } finally {
      client.disconnect();
    }
  }

  /** Always safe to call (afterAll, also after a failure). */
  async destroy(): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (child && child.exitCode === null) {
      child.kill("SIGCONT");
      child.kill("SIGKILL");
      await exited(child);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  get output(): string {
    return this.log;
  }
}
