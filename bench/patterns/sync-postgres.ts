// Pattern A of ADR-02, built as well as we know how: every operation is one transaction in
// PostgreSQL (one round trip: a PL/pgSQL function called through a named prepared statement),
// pooled connections, the same counting model and indexes that make every read an index scan.
// It answers exactly as the contract says, so the benchmark compares like with like.
import { readFile } from "node:fs/promises";
import pg from "pg";
import { ReadStateError } from "../../src/core/errors.js";
import type {
  ChannelInfo,
  FlushResult,
  PostInput,
  PostResult,
  Receipts,
  ReceiptsQuery,
  SyncStatus,
} from "../../src/core/types.js";
import type { V1ReadState } from "../execute.js";
import {
  assertSchemaName,
  insertMemberships,
  userTotals,
  type V1MemberState,
  type V1UserUnread,
} from "./v1.js";

export interface SyncPostgresOptions {
  databaseUrl: string;
  /** Schema of its own, created by migrate() and dropped by drop(). */
  schema: string;
  poolSize: number;
  /** Shows in pg_stat_activity, so the benchmark can wait for its backends to exit. */
  applicationName?: string;
}

interface StateRow {
  channel_id: string;
  user_id: string;
  unread: string;
  mentions: string;
  read_seq: string;
  channel_seq: string;
  last_read_message_id: string | null;
  last_read_at: string | null;
}

const CUSTOM_ERROR_STATE = "RS404";

export class SyncPostgresReadState implements V1ReadState {
  private readonly pool: pg.Pool;
  private closed = false;

  constructor(private readonly options: SyncPostgresOptions) {
    assertSchemaName(options.schema);
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize,
      application_name: options.applicationName ?? "readstate-bench-a",
      // The functions name their tables unqualified; the schema comes from the connection.
      options: `-c search_path=${options.schema}`,
    });
  }

  /** Creates the schema, tables, indexes and functions (fails if the schema already has them). */
  async migrate(): Promise<void> {
    const template = await readFile(new URL("./sync-postgres.sql", import.meta.url), "utf8");
    await this.pool.query(template.replaceAll("{{schema}}", this.options.schema));
  }

  async drop(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.options.schema} CASCADE`);
  }

  /**
   * Setup only: creates channels and members in bulk (unnest), with every cursor at 0, as if each
   * member had joined before the first message. Not part of the measured run.
   */
  async bulkJoin(memberships: { channelId: string; userIds: string[] }[]): Promise<void> {
    const channelIds = memberships.map((m) => m.channelId);
    const counts = memberships.map((m) => m.userIds.length);
    await this.pool.query(
      `INSERT INTO channels (channel_id, member_count) SELECT * FROM unnest($1::text[], $2::int[])
       ON CONFLICT (channel_id) DO UPDATE SET member_count = channels.member_count + excluded.member_count`,
      [channelIds, counts],
    );
    await insertMemberships(
      this.pool,
      `INSERT INTO members (channel_id, user_id, read_seq) SELECT c, u, 0 FROM unnest($1::text[], $2::text[]) AS t(c, u)`,
      memberships,
    );
    await this.pool.query("ANALYZE channels; ANALYZE members");
  }

  async join(channelId: string, userId: string): Promise<V1MemberState> {
    return this.oneState("join_channel", "SELECT * FROM join_channel($1, $2)", [channelId, userId]);
  }

  async leave(channelId: string, userId: string): Promise<void> {
    await this.run("leave_channel", "SELECT leave_channel($1, $2)", [channelId, userId]);
  }

  async post(channelId: string, message: PostInput): Promise<PostResult> {
    const result = await this.run<{ seq: string; created: boolean }>(
      "post_message",
      "SELECT * FROM post_message($1, $2, $3, $4, $5)",
      [channelId, message.messageId, message.senderId, message.mentions ?? [], message.mentionAll === true],
    );
    const row = result.rows[0];
    if (row === undefined) throw new Error("post_message returned no row");
    return { channelId, messageId: message.messageId, seq: Number(row.seq), created: row.created };
  }

  async markRead(channelId: string, userId: string, messageId?: string): Promise<V1MemberState> {
    return this.oneState("mark_read", "SELECT * FROM mark_read($1, $2, $3)", [
      channelId,
      userId,
      messageId ?? null,
    ]);
  }

  async markUnread(channelId: string, userId: string, messageId: string): Promise<V1MemberState> {
    return this.oneState("mark_unread", "SELECT * FROM mark_unread($1, $2, $3)", [
      channelId,
      userId,
      messageId,
    ]);
  }

  async memberState(channelId: string, userId: string): Promise<V1MemberState> {
    return this.oneState("member_or_raise", "SELECT * FROM member_or_raise($1, $2)", [channelId, userId]);
  }

  async userUnread(userId: string): Promise<V1UserUnread> {
    const result = await this.run<StateRow>("user_unread", "SELECT * FROM user_unread($1)", [userId]);
    return userTotals(userId, result.rows.map(toMemberState));
  }

  async channelInfo(channelId: string): Promise<ChannelInfo> {
    const result = await this.run<{
      channel_seq: string;
      member_count: number;
      last_message_id: string | null;
    }>(
      "channel_info",
      "SELECT channel_seq, member_count, last_message_id FROM channels WHERE channel_id = $1",
      [channelId],
    );
    const row = result.rows[0];
    if (row === undefined) throw new ReadStateError("not_found", `channel ${channelId} does not exist`);
    return {
      channelId,
      channelSeq: Number(row.channel_seq),
      memberCount: row.member_count,
      lastMessageId: row.last_message_id,
    };
  }

  async receipts(channelId: string, messageId: string, query: ReceiptsQuery = {}): Promise<Receipts> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ReadStateError("validation_failed", "limit must be a whole number from 1 to 1000");
    }
    // One statement, so the counts and the page come from one snapshot.
    const result = await this.run<{
      seq: string | null;
      member_count: number | null;
      read_count: string;
      readers: { user_id: string; read_seq: number }[] | null;
    }>(
      "receipts",
      `WITH msg AS (SELECT seq FROM messages WHERE channel_id = $1 AND message_id = $2)
       SELECT (SELECT seq FROM msg) AS seq,
              (SELECT member_count FROM channels WHERE channel_id = $1) AS member_count,
              (SELECT count(*) FROM members WHERE channel_id = $1 AND read_seq >= (SELECT seq FROM msg)) AS read_count,
              (SELECT json_agg(json_build_object('user_id', p.user_id, 'read_seq', p.read_seq) ORDER BY p.user_id)
                 FROM (SELECT user_id, read_seq FROM members
                        WHERE channel_id = $1 AND read_seq >= (SELECT seq FROM msg)
                          AND ($3::text IS NULL OR user_id > $3)
                        ORDER BY user_id LIMIT $4) p) AS readers`,
      [channelId, messageId, query.after ?? null, limit + 1],
    );
    const row = result.rows[0];
    if (row === undefined || row.member_count === null) {
      throw new ReadStateError("not_found", `channel ${channelId} does not exist`);
    }
    if (row.seq === null) {
      throw new ReadStateError("unknown_message", `message ${messageId} was never posted in ${channelId}`);
    }
    const page = row.readers ?? [];
    const more = page.length > limit;
    const readers = page.slice(0, limit).map((r) => ({ userId: r.user_id, readSeq: Number(r.read_seq) }));
    return {
      channelId,
      messageId,
      seq: Number(row.seq),
      memberCount: row.member_count,
      readCount: Number(row.read_count),
      readers,
      next: more ? (readers[readers.length - 1]?.userId ?? null) : null,
    };
  }

  async deleteChannel(channelId: string): Promise<void> {
    await this.run("delete_channel", "SELECT delete_channel($1)", [channelId]);
  }

  /** Nothing is ever pending: every acknowledged operation is already committed. */
  async flush(): Promise<FlushResult> {
    return { flushed: 0, remaining: 0 };
  }

  async syncStatus(): Promise<SyncStatus> {
    return {
      dirty: 0,
      oldestDirtyAgeMs: 0,
      lastFlushAt: null,
      lastFlushRows: 0,
      lastFlushMs: 0,
      shedding: false,
      backpressureAgeMs: 0,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async oneState(name: string, text: string, values: unknown[]): Promise<V1MemberState> {
    const result = await this.run<StateRow>(name, text, values);
    const row = result.rows[0];
    if (row === undefined) {
      throw new ReadStateError("not_a_member", `${values[1]} is not a member of ${values[0]}`);
    }
    return toMemberState(row);
  }

  private async run<R extends pg.QueryResultRow>(
    name: string,
    text: string,
    values: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      // A named statement is parsed and planned once per pooled connection.
      return await this.pool.query<R>({ name, text, values });
    } catch (err) {
      throw translate(err, values);
    }
  }
}

function translate(err: unknown, values: unknown[]): unknown {
  if (!(err instanceof Error) || (err as { code?: string }).code !== CUSTOM_ERROR_STATE) return err;
  const [channelId, userId, messageId] = values;
  switch (err.message) {
    case "not_a_member":
      return new ReadStateError("not_a_member", `${userId} is not a member of ${channelId}`);
    case "unknown_message":
      return new ReadStateError("unknown_message", `message ${messageId} was never posted in ${channelId}`);
    default:
      return err;
  }
}

function toMemberState(row: StateRow): V1MemberState {
  return {
    channelId: row.channel_id,
    userId: row.user_id,
    unread: Number(row.unread),
    mentions: Number(row.mentions),
    readSeq: Number(row.read_seq),
    channelSeq: Number(row.channel_seq),
    lastReadMessageId: row.last_read_message_id,
    lastReadAt: row.last_read_at,
  };
}
