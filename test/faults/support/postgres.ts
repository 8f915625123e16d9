// A private PostgreSQL 15 for one scenario: own data directory (owned by the postgres user, since
// initdb refuses to run as root), own port and socket directory, trust auth on loopback. fsync is off:
// these scenarios stop the server with -m immediate, not the machine, so the OS keeps what was written.
// synchronous_commit stays on: with it off, an immediate stop loses commits the worker already cleared.
import { chownSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import pg from "pg";
import { freePort, run, waitFor } from "./procs.js";

const BIN = process.env.PG_BIN ?? "/usr/lib/postgresql/15/bin";

export class PrivatePostgres {
  readonly root = mkdtempSync("/tmp/readstate-fault-pg-");
  readonly dataDir = join(this.root, "data");
  readonly socketDir = join(this.root, "sock");
  port = 0;

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** initdb as the postgres user (root runs it through runuser), then start. */
  async init(): Promise<void> {
    this.port = await freePort();
    mkdirSync(this.socketDir);
    const { uid, gid } = await postgresIds();
    for (const dir of [this.root, this.socketDir]) chownSync(dir, uid, gid);
    const result = await this.asPostgres(`${BIN}/initdb`, [
      "-D",
      this.dataDir,
      "-U",
      "postgres",
      "-A",
      "trust",
      "--no-sync",
      "-E",
      "UTF8",
    ]);
    if (result.code !== 0) throw new Error(`initdb failed: ${result.stderr}${result.stdout}`);
    await this.start();
  }

  async start(): Promise<void> {
    const options = `-p ${this.port} -k ${this.socketDir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`;
    const result = await this.asPostgres(`${BIN}/pg_ctl`, [
      "-D",
      this.dataDir,
      "-l",
      join(this.root, "server.log"),
      "-o",
      options,
      "-w",
      "-t",
      "60",
      "start",
    ]);
    if (result.code !== 0) throw new Error(`pg_ctl start failed: ${result.stderr}${result.stdout}`);
    await waitFor("PostgreSQL to accept connections", () => this.ping(), 30_000, 100);
  }

  /** The crash-like stop: no checkpoint, every connection dropped at once. */
  async stopImmediate(): Promise<void> {
    await this.asPostgres(`${BIN}/pg_ctl`, ["-D", this.dataDir, "-m", "immediate", "-w", "stop"]);
  }

  async ping(): Promise<boolean> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 2000 });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.query("SELECT 1");
      return true;
    } catch {
      return false;
    } finally {
      await client.end().catch(() => {});
    }
  }

  /** Always safe to call (afterAll, also after a failure). */
  async destroy(): Promise<void> {
    if (this.port !== 0) await this.stopImmediate().catch(() => {});
    rmSync(this.root, { recursive: true, force: true });
  }

  private asPostgres(cmd: string, args: string[]) {
    return process.getuid?.() === 0 ? run("runuser", ["-u", "postgres", "--", cmd, ...args]) : run(cmd, args);
  }
}

async function postgresIds(): Promise<{ uid: number; gid: number }> {
  if (process.getuid?.() !== 0) return { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  const uid = Number((await run("id", ["-u", "postgres"])).stdout.trim());
  const gid = Number((await run("id", ["-g", "postgres"])).stdout.trim());
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error("no postgres user on this machine");
  return { uid, gid };
}
