// Holding a flush between its claim and its commit, for real: a PostgreSQL session locks the tables
// a flush batch writes first (members, messages) in SHARE mode. The batch has claimed its channels
// in Redis and begun its transaction; its first delete or insert waits, before any channel row is
// locked and before the fence is checked. Cache loads go on meanwhile: they only read those two
// tables, and write the channels table (the generation), which stays free.
import pg from "pg";
import type { TestSpace } from "./env.js";

export interface FlushHold {
  /**
   * "waiting" once a session waits on a lock of the space's schema (the flush, held), "done" when
   * `flush` settled first (it had nothing to write to those tables, so it never waited).
   */
  untilFlushWaits(flush: Promise<unknown>, timeoutMs?: number): Promise<"waiting" | "done">;
  /** Terminates the sessions waiting on the held tables, as a PostgreSQL going away would; their count. */
  terminateWaiting(): Promise<number>;
  /** Commits the locking session: the held flush goes on. */
  release(): Promise<void>;
}

export async function holdFlushes(space: Pick<TestSpace, "databaseUrl" | "schema">): Promise<FlushHold> {
  const locker = new pg.Client({ connectionString: space.databaseUrl });
  // A test may stop PostgreSQL while it holds the lock: the lost session must not end the test.
  locker.on("error", () => {});
  await locker.connect();
  try {
    await locker.query(
      `BEGIN; LOCK TABLE "${space.schema}".members, "${space.schema}".messages IN SHARE MODE`,
    );
  } catch (err) {
    await locker.end().catch(() => {});
    throw err;
  }
  let released: Promise<void> | undefined;
  return {
    async untilFlushWaits(flush, timeoutMs = 5000) {
      let settled = false;
      flush.then(
        () => {
          settled = true;
        },
        () => {
          settled = true;
        },
      );
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        if (settled) return "done";
        // Only this schema's locks: other test runs share the server and may be waiting too.
        const waiting = await locker.query(
          `SELECT 1 FROM pg_locks l
             JOIN pg_class c ON c.oid = l.relation
             JOIN pg_namespace n ON n.oid = c.relnamespace
            WHERE NOT l.granted AND n.nspname = $1 LIMIT 1`,
          [space.schema],
        );
        if (waiting.rowCount) return "waiting";
        if (Date.now() > deadline) {
          throw new Error(`a flush neither finished nor waited on the held tables within ${timeoutMs} ms`);
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    async terminateWaiting() {
      const { rows } = await locker.query(
        `SELECT pg_terminate_backend(l.pid) AS ended FROM pg_locks l
           JOIN pg_class c ON c.oid = l.relation
           JOIN pg_namespace n ON n.oid = c.relnamespace
          WHERE NOT l.granted AND n.nspname = $1`,
        [space.schema],
      );
      return rows.filter((row) => row.ended).length;
    },
    release() {
      released ??= (async () => {
        try {
          await locker.query("COMMIT");
        } finally {
          await locker.end();
        }
      })();
      return released;
    },
  };
}
