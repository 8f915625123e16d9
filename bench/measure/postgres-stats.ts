// What an implementation cost PostgreSQL: rows written (pg_stat_user_tables over its own schema),
// transactions (pg_stat_database of the run's own database) and CPU time of the postgres processes.
// pg_stat counters are flushed by each backend at exit or within ~1 s of going idle, so a reading is
// taken only after the implementation's backends exit.
//
// The run gets a database of its own (openRunDatabase): PostgreSQL counts transactions per database
// only, and the default one is shared with whatever else runs on the machine.
import { readdir, readFile } from "node:fs/promises";
import pg from "pg";

export type RowCounts = Record<string, number>;

export class PostgresProbe {
  /** On the database the bench was given: pg_stat_activity, pg_stat_database, CREATE/DROP DATABASE. */
  private readonly pool: pg.Pool;
  /** On the run's own database, once open: its tables' statistics and schemas. */
  private runPool: pg.Pool | undefined;
  private runDatabase: string | undefined;

  constructor(databaseUrl: string) {
    this.pool = new pg.Pool({
      connectionString: databaseUrl,
      max: 2,
      application_name: "readstate-bench-probe",
    });
  }

  /**
   * Creates the run's database and returns its URL; from then on schemas and row counts are read
   * there. Its name holds the run id, so two benches on one server never share it.
   */
  async openRunDatabase(name: string, databaseUrl: string): Promise<string> {
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unusable database name "${name}"`);
    await this.pool.query(`CREATE DATABASE ${quoteIdent(name)}`);
    this.runDatabase = name;
    const url = new URL(databaseUrl);
    url.pathname = `/${name}`;
    this.runPool = new pg.Pool({
      connectionString: url.toString(),
      max: 2,
      application_name: "readstate-bench-probe",
    });
    // pg-pool's end() resolves once it has asked its idle clients to close, before their sessions
    // are gone: the DROP … WITH (FORCE) that follows (dropRunDatabase) can terminate one first, and
    // its error, re-emitted by the pool, would end the bench (seen once in the smoke test).
    this.runPool.on("error", () => {});
    return url.toString();
  }

  /** Drops the run's database, closing whatever still connects to it (PostgreSQL 13+). */
  async dropRunDatabase(): Promise<void> {
    const name = this.runDatabase;
    if (name === undefined) return;
    await this.runPool?.end();
    this.runPool = undefined;
    this.runDatabase = undefined;
    await this.pool.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
  }

  /**
   * Transactions committed or rolled back in the run's database so far (the probe's own reads of
   * pg_stat_* go through the other database, so they are not counted). undefined without one.
   */
  async transactions(): Promise<number | undefined> {
    if (this.runDatabase === undefined) return undefined;
    const result = await this.pool.query<{ n: string | null }>(
      "SELECT (xact_commit + xact_rollback)::text AS n FROM pg_stat_database WHERE datname = $1",
      [this.runDatabase],
    );
    const n = result.rows[0]?.n;
    return n === null || n === undefined ? undefined : Number(n);
  }

  /** Pids of the backends connected to the run's database (clients and autovacuum workers). */
  async runBackendPids(): Promise<number[]> {
    if (this.runDatabase === undefined) return [];
    const result = await this.pool.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name <> 'readstate-bench-probe'",
      [this.runDatabase],
    );
    return result.rows.map((r) => r.pid);
  }

  /** Rows inserted + updated + deleted so far, per table of the schema. */
  async rowsWritten(schema: string): Promise<RowCounts> {
    const result = await (this.runPool ?? this.pool).query<{ relname: string; written: string }>(
      `SELECT relname, (n_tup_ins + n_tup_upd + n_tup_del)::text AS written
         FROM pg_stat_user_tables WHERE schemaname = $1`,
      [schema],
    );
    return Object.fromEntries(result.rows.map((r) => [r.relname, Number(r.written)]));
  }

  /**
   * Waits until no backend of `applicationName` is left, so their counters reached the shared stats.
   * Gives up after `timeoutMs`: a reading a little low is better than a hung benchmark.
   */
  async waitForBackendsToExit(applicationName: string, timeoutMs = 5000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const result = await this.pool.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE application_name = $1",
        [applicationName],
      );
      if (Number(result.rows[0]?.n ?? 0) === 0) {
        // Exit hooks flush the counters just before the backend leaves pg_stat_activity.
        await new Promise((resolve) => setTimeout(resolve, 100));
        return true;
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  async dropSchema(schema: string): Promise<void> {
    await (this.runPool ?? this.pool).query(`DROP SCHEMA IF EXISTS ${quoteIdent(schema)} CASCADE`);
  }

  async version(): Promise<string> {
    const result = await this.pool.query<{ v: string }>("SELECT current_setting('server_version') AS v");
    return result.rows[0]?.v ?? "unknown";
  }

  async settings(): Promise<Record<string, string>> {
    const result = await this.pool.query<{ name: string; setting: string; unit: string | null }>(
      `SELECT name, setting, unit FROM pg_settings
        WHERE name IN ('synchronous_commit', 'fsync', 'shared_buffers', 'max_connections', 'wal_level')`,
    );
    return Object.fromEntries(
      result.rows.map((r) => [r.name, r.unit ? `${r.setting} ${r.unit}` : r.setting]),
    );
  }

  async close(): Promise<void> {
    await this.runPool?.end();
    await this.pool.end();
  }
}

export function sumRows(counts: RowCounts): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

export function diffRows(after: RowCounts, before: RowCounts): RowCounts {
  const out: RowCounts = {};
  for (const [table, value] of Object.entries(after)) out[table] = value - (before[table] ?? 0);
  return out;
}

/** CPU seconds used so far by each process named postgres (server, backends, WAL writer…), by pid. */
export async function postgresCpuByPid(): Promise<Map<string, number>> {
  const byPid = new Map<string, number>();
  let entries: string[];
  try {
    entries = await readdir("/proc");
  } catch {
    return byPid;
  }
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (pid) => {
        const stat = await readProcStat(pid);
        if (stat?.comm === "postgres") byPid.set(pid, stat.ticks / CLOCK_TICKS);
      }),
  );
  return byPid;
}

/**
 * CPU seconds between two readings: backends that started in between count in full. Backends
 * that exited in between are lost, so the end reading is taken before any connection closes.
 */
export function cpuBetween(start: Map<string, number>, end: Map<string, number>): number {
  let seconds = 0;
  for (const [pid, value] of end) seconds += value - (start.get(pid) ?? 0);
  return seconds;
}

/** Linux USER_HZ: 100 on every mainstream kernel build. */
const CLOCK_TICKS = 100;

export async function processCpuSeconds(pid: number): Promise<number> {
  const stat = await readProcStat(String(pid));
  return stat === undefined ? Number.NaN : stat.ticks / CLOCK_TICKS;
}

async function readProcStat(pid: string): Promise<{ comm: string; ticks: number } | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, "utf8");
    // comm is in parentheses and may contain spaces; the fields after it are space-separated.
    const open = text.indexOf("(");
    const close = text.lastIndexOf(")");
    const comm = text.slice(open + 1, close);
    const fields = text.slice(close + 2).split(" ");
    // utime and stime are fields 14 and 15 of the stat line: 12 and 13 after the comm.
    const ticks = Number(fields[11]) + Number(fields[12]);
    return { comm, ticks };
  } catch {
    return undefined;
  }
}

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
