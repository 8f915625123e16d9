// Setup of the patterns that keep their members in PostgreSQL (A, D): every (channel, member) pair
// inserted with unnest, a bounded number of rows per statement.
import type pg from "pg";

const ROWS_PER_STATEMENT = 20_000;

/** Runs `sql` ($1 channel IDs, $2 user IDs, as text arrays) over every pair, in chunks. */
export async function insertMemberships(
  pool: pg.Pool,
  sql: string,
  memberships: { channelId: string; userIds: string[] }[],
): Promise<void> {
  let chunk: [string[], string[]] = [[], []];
  for (const { channelId, userIds } of memberships) {
    for (const userId of userIds) {
      chunk[0].push(channelId);
      chunk[1].push(userId);
      if (chunk[0].length >= ROWS_PER_STATEMENT) {
        await pool.query(sql, chunk);
        chunk = [[], []];
      }
    }
  }
  if (chunk[0].length > 0) await pool.query(sql, chunk);
}
