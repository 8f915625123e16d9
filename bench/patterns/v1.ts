// What the patterns that implement API.md v1 only (A: synchronous PostgreSQL, D: ADR-02's counters)
// share: v1's answer shapes, their schema name check, their user totals and their bulk setup.
import type pg from "pg";
import type { MemberState, UserUnread } from "../../src/core/types.js";

/** API.md v1's member state and user totals (see bench/execute.ts). */
export type V1MemberState = Omit<MemberState, "firstUnreadMessageId" | "muted">;
export type V1UserUnread = Omit<UserUnread, "channels" | "threads"> & { channels: V1MemberState[] };

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;

/** The schema name goes into SQL unquoted: a plain lower-case identifier only. */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_RE.test(schema)) throw new Error(`unusable schema name "${schema}"`);
}

/** A user's totals over the states of their channels. */
export function userTotals(userId: string, channels: V1MemberState[]): V1UserUnread {
  let unread = 0;
  let mentions = 0;
  for (const state of channels) {
    unread += state.unread;
    mentions += state.mentions;
  }
  return { userId, unread, mentions, channels };
}

const ROWS_PER_STATEMENT = 20_000;

/**
 * Setup: runs `sql` ($1 channel IDs, $2 user IDs, as text arrays) over every (channel, member)
 * pair, a bounded number of rows per statement.
 */
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
