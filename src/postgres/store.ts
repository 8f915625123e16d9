// The durable store on PostgreSQL: cache-miss reads, and the worker's versioned bulk upserts.
import pg from "pg";
import type { ChannelChanges, ChannelSnapshot, ColdStore } from "../core/ports.js";

/**
 * Versions continue this far above what PostgreSQL holds when a channel is loaded: a worker that
 * claimed before Redis lost its data may still commit versions PostgreSQL has not seen yet, and
 * changes made after the reload must stay newer than those (or the version guard would drop them).
 */
export const VERSION_GAP_ON_LOAD = 1_000_000;

/**
 * Sessions that outlive their client must not hold locks: a worker killed mid-flush would leave its
 * transaction's row locks in place, and the next worker would wait on them. PostgreSQL checks that
 * the client is still there while a statement runs, and ends a transaction left idle.
 */
const SESSION_SETTINGS =
  "-c client_connection_check_interval=1000 -c idle_in_transaction_session_timeout=10000";

/** A flush statement waiting longer than this is cancelled and the batch retried (nothing is lost). */
const FLUSH_STATEMENT_TIMEOUT_MS = 30_000;
/** A cache load gives up before its Redis load lease (service.ts) runs out. */
const LOAD_STATEMENT_TIMEOUT_MS = 10_000;

export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: 5000,
    keepAlive: true,
    options: SESSION_SETTINGS,
  });
  // The pool listens for errors only on idle clients. A checked-out client whose server goes away
  // (PostgreSQL stopped or the session terminated while a flush or a load holds it) emits 'error'
  // after its query has already failed, and with no listener that would end the process. The failed
  // query is the report; the client, no longer queryable, is discarded by the pool on release.
  pool.on("connect", (client) => client.on("error", () => {}));
  return pool;
}

export class PostgresStore implements ColdStore {
  private readonly s: string;

  /**
   * Test-only: writes every claimed batch without the fence, to show what the fence prevents (the
   * model test must fail with it off).
   */
  fenceDisabled = false;

  constructor(
    readonly pool: pg.Pool,
    schema: string,
  ) {
    // The schema name is validated by resolveConfig (lower-case identifier), so quoting suffices.
    this.s = `"${schema}"`;
  }

  async loadChannel(channelId: string, fence: boolean): Promise<ChannelSnapshot> {
    const client = await this.pool.connect();
    try {
      // READ COMMITTED on purpose. The first statement takes the next generation under the channel
      // row's lock, which every flush takes too (its fence, just before it commits): a flush either
      // committed before it, and the reads below see its rows, or it finds the new generation and
      // writes nothing of this channel. No other flush of the channel can commit until this copy
      // is installed, so the reads below see one state of it.
      await client.query(`BEGIN; SET LOCAL statement_timeout = ${LOAD_STATEMENT_TIMEOUT_MS}`);
      const channel = await client.query(
        fence
          ? `INSERT INTO ${this.s}.channels AS c (channel_id, seq, live, version, generation)
             VALUES ($1, 0, false, 0, 1)
             ON CONFLICT (channel_id) DO UPDATE SET generation = c.generation + 1
             RETURNING seq, last_message_id, live, reset_version, version, generation`
          : `UPDATE ${this.s}.channels SET generation = generation + 1 WHERE channel_id = $1
             RETURNING seq, last_message_id, live, reset_version, version, generation`,
        [channelId],
      );
      const row = channel.rows[0];
      const seq = Number(row?.seq ?? 0);
      const reset = Number(row?.reset_version ?? 0);
      // Nothing above the channel's seq is part of it: such rows could only come from a writer the
      // fence did not stop (written before it existed); they must not shadow the seqs to come.
      const members = await client.query(
        `SELECT user_id, LEAST(read_seq, $3) AS read_seq, muted,
                CASE WHEN read_seq <= $3 THEN last_read_message_id END AS last_read_message_id,
                (extract(epoch FROM last_read_at) * 1000)::bigint AS last_read_ms
           FROM ${this.s}.members WHERE channel_id = $1 AND active AND version > $2`,
        [channelId, reset, seq],
      );
      // Replies count in their thread's seq, not the channel's: only top-level seqs are bounded.
      // Seq 0 marks a messageId whose post was retracted (retract_post.lua): forgotten, not loaded.
      const messages = await client.query(
        `SELECT message_id, seq, thread_id, sender_id, mentions, mention_all, deleted
           FROM ${this.s}.messages
          WHERE channel_id = $1 AND version > $2 AND seq > 0 AND (seq <= $3 OR thread_id IS NOT NULL)`,
        [channelId, reset, seq],
      );
      // Entries of users who left the channel are tombstones; an active member's entries are kept.
      const followers = await client.query(
        `SELECT f.thread_id, f.user_id, f.following, f.read_seq, f.last_read_message_id,
                (extract(epoch FROM f.last_read_at) * 1000)::bigint AS last_read_ms
           FROM ${this.s}.thread_followers f
          WHERE f.channel_id = $1 AND f.version > $2 AND (f.following OR f.unfollowed)`,
        [channelId, reset],
      );
      const versions = await client.query(
        `SELECT GREATEST(
           (SELECT max(version) FROM ${this.s}.members WHERE channel_id = $1),
           (SELECT max(version) FROM ${this.s}.messages WHERE channel_id = $1),
           (SELECT max(version) FROM ${this.s}.thread_followers WHERE channel_id = $1)) AS v`,
        [channelId],
      );
      await client.query("COMMIT");
      const version = Math.max(Number(row?.version ?? 0), Number(versions.rows[0]?.v ?? 0));
      return {
        channelId,
        seq,
        lastMessageId: row?.last_message_id ?? null,
        live: row?.live ?? false,
        version: version + VERSION_GAP_ON_LOAD,
        resetVersion: reset,
        generation: Number(row?.generation ?? 0),
        fenced: row !== undefined,
        members: members.rows.map((m) => ({
          userId: m.user_id,
          readSeq: Number(m.read_seq),
          lastReadAtMs: m.last_read_ms === null ? null : Number(m.last_read_ms),
          lastReadMessageId: m.last_read_message_id,
          muted: m.muted,
        })),
        messages: messages.rows.map((m) => ({
          messageId: m.message_id,
          seq: Number(m.seq),
          threadId: m.thread_id,
          senderId: m.sender_id,
          mentions: m.mentions,
          mentionAll: m.mention_all,
          deleted: m.deleted,
        })),
        followers: followers.rows.map((f) => ({
          threadId: f.thread_id,
          userId: f.user_id,
          following: f.following,
          readSeq: Number(f.read_seq),
          lastReadAtMs: f.last_read_ms === null ? null : Number(f.last_read_ms),
          lastReadMessageId: f.last_read_message_id,
        })),
      };
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }

  async userChannels(userId: string): Promise<string[]> {
    const result = await this.pool.query(
      `SELECT channel_id FROM ${this.s}.members WHERE user_id = $1 AND active`,
      [userId],
    );
    return result.rows.map((row) => row.channel_id);
  }

  /**
   * Writes one claimed batch in one transaction: one statement per table over unnest arrays, each
   * guarded by version so a replay, a retry or a second worker never moves a row backwards.
   *
   * Then the fence, last so that a cache load never waits behind a slow flush: the batch locks its
   * channels' rows (sorted, so two workers never deadlock) and commits only if every channel still
   * holds the generation it claimed. A channel loaded again since the claim (Redis lost its data,
   * or the channel expired and came back) has a later one, and its claimed rows would shadow the
   * newer copy: the transaction is rolled back and written again without those channels. Returns
   * rows written and the channels refused (not written, so they must not be cleared).
   */
  async writeBatch(claimed: ChannelChanges[]): Promise<{ rows: number; stale: string[] }> {
    const stale: string[] = [];
    let batch = claimed;
    while (batch.length > 0) {
      const client = await this.pool.connect();
      try {
        await client.query(`BEGIN; SET LOCAL statement_timeout = ${FLUSH_STATEMENT_TIMEOUT_MS}`);
        await this.placeLegacyRows(client, batch);
        const rows = await this.writeRows(client, batch);
        const refused = this.fenceDisabled ? new Set<string>() : await this.fence(client, batch);
        if (refused.size === 0) {
          await client.query("COMMIT");
          return { rows, stale };
        }
        await client.query("ROLLBACK");
        stale.push(...refused);
        batch = batch.filter((c) => !refused.has(c.channelId));
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    }
    return { rows: 0, stale };
  }

  /**
   * Copies loaded before migration 002 carry generation 0 and may be channels PostgreSQL has no row
   * of yet: a placeholder row (version 0, overwritten by the batch) gives the fence a row to lock.
   */
  private async placeLegacyRows(client: pg.PoolClient, batch: ChannelChanges[]): Promise<void> {
    const legacy = batch.filter((c) => c.generation === 0).map((c) => c.channelId);
    if (legacy.length === 0) return;
    await client.query(
      `INSERT INTO ${this.s}.channels (channel_id, seq, live, version)
       SELECT id, 0, false, 0 FROM unnest($1::text[]) AS id ORDER BY id ON CONFLICT DO NOTHING`,
      [legacy],
    );
  }

  /** Locks the batch's channel rows; returns the channels whose generation moved on since the claim. */
  private async fence(client: pg.PoolClient, batch: ChannelChanges[]): Promise<Set<string>> {
    const locked = await client.query<{ channel_id: string; generation: string }>(
      `SELECT channel_id, generation FROM ${this.s}.channels
        WHERE channel_id = ANY($1::text[]) ORDER BY channel_id FOR UPDATE`,
      [batch.map((c) => c.channelId)],
    );
    const current = new Map(locked.rows.map((r) => [r.channel_id, Number(r.generation)]));
    return new Set(batch.filter((c) => current.get(c.channelId) !== c.generation).map((c) => c.channelId));
  }

  private async writeRows(client: pg.PoolClient, batch: ChannelChanges[]): Promise<number> {
    const sorted = [...batch].sort((a, b) => compare(a.channelId, b.channelId));
    // A channel whose own row did not change (only cursors moved) keeps the row it has.
    const channels = sorted.filter((c) => c.rowDirty || c.resetPending);
    const members = sorted.flatMap((c) =>
      [...c.members]
        .sort((a, b) => compare(a.userId, b.userId))
        .map((m) => ({ channelId: c.channelId, ...m })),
    );
    const messages = sorted.flatMap((c) => c.messages.map((m) => ({ channelId: c.channelId, ...m })));
    const followers = sorted.flatMap((c) =>
      [...c.followers]
        .sort((a, b) => compare(a.threadId, b.threadId) || compare(a.userId, b.userId))
        .map((f) => ({ channelId: c.channelId, ...f })),
    );
    const resets = channels.filter((c) => c.resetPending);

    let rows = 0;
    if (resets.length > 0) {
      for (const table of ["members", "messages", "thread_followers"]) {
        const deleted = await client.query(
          `DELETE FROM ${this.s}.${table} t USING unnest($1::text[], $2::bigint[]) AS r(channel_id, reset)
           WHERE t.channel_id = r.channel_id AND t.version < r.reset`,
          [resets.map((c) => c.channelId), resets.map((c) => c.resetVersion)],
        );
        rows += deleted.rowCount ?? 0;
      }
    }

    // Rows older than their channel's last delete belong to an earlier incarnation: skipped.
    if (members.length > 0) {
      const written = await client.query(
        `INSERT INTO ${this.s}.members
           (channel_id, user_id, read_seq, last_read_message_id, last_read_at, active, muted, version)
         SELECT u.channel_id, u.user_id, u.read_seq, u.last_read_message_id,
                to_timestamp(u.last_read_ms / 1000.0), u.active, u.muted, u.version
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::bigint[], $6::boolean[],
                       $7::bigint[], $8::boolean[])
                AS u(channel_id, user_id, read_seq, last_read_message_id, last_read_ms, active, version, muted)
           JOIN ${this.s}.channels c ON c.channel_id = u.channel_id
          WHERE u.version > c.reset_version
         ON CONFLICT (channel_id, user_id) DO UPDATE SET
           read_seq = excluded.read_seq, last_read_message_id = excluded.last_read_message_id,
           last_read_at = excluded.last_read_at, active = excluded.active, muted = excluded.muted,
           version = excluded.version
         WHERE members.version < excluded.version`,
        [
          members.map((m) => m.channelId),
          members.map((m) => m.userId),
          members.map((m) => m.readSeq ?? 0),
          members.map((m) => m.lastReadMessageId),
          members.map((m) => m.lastReadAtMs),
          members.map((m) => m.readSeq !== null),
          members.map((m) => m.version),
          members.map((m) => m.muted),
        ],
      );
      rows += written.rowCount ?? 0;
    }

    if (followers.length > 0) {
      const written = await client.query(
        `INSERT INTO ${this.s}.thread_followers
           (channel_id, thread_id, user_id, following, unfollowed, read_seq, last_read_message_id,
            last_read_at, version)
         SELECT u.channel_id, u.thread_id, u.user_id, u.following, u.unfollowed, u.read_seq,
                u.last_read_message_id, to_timestamp(u.last_read_ms / 1000.0), u.version
           FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::boolean[], $6::bigint[],
                       $7::text[], $8::bigint[], $9::bigint[])
                AS u(channel_id, thread_id, user_id, following, unfollowed, read_seq,
                     last_read_message_id, last_read_ms, version)
           JOIN ${this.s}.channels c ON c.channel_id = u.channel_id
          WHERE u.version > c.reset_version
         ON CONFLICT (channel_id, thread_id, user_id) DO UPDATE SET
           following = excluded.following, unfollowed = excluded.unfollowed,
           read_seq = excluded.read_seq, last_read_message_id = excluded.last_read_message_id,
           last_read_at = excluded.last_read_at, version = excluded.version
         WHERE thread_followers.version < excluded.version`,
        [
          followers.map((f) => f.channelId),
          followers.map((f) => f.threadId),
          followers.map((f) => f.userId),
          followers.map((f) => f.following),
          followers.map((f) => f.unfollowed),
          followers.map((f) => f.readSeq),
          followers.map((f) => f.lastReadMessageId),
          followers.map((f) => f.lastReadAtMs),
          followers.map((f) => f.version),
        ],
      );
      rows += written.rowCount ?? 0;
    }

    if (messages.length > 0) {
      // Mentions travel comma-joined: unnest would flatten a two-dimensional array.
      const written = await client.query(
        `INSERT INTO ${this.s}.messages
           (channel_id, message_id, seq, sender_id, mentions, mention_all, version, thread_id, deleted)
         SELECT u.channel_id, u.message_id, u.seq, u.sender_id, string_to_array(u.mentions, ','),
                u.mention_all, u.version, u.thread_id, u.deleted
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::boolean[],
                       $7::bigint[], $8::text[], $9::boolean[])
                AS u(channel_id, message_id, seq, sender_id, mentions, mention_all, version, thread_id, deleted)
           JOIN ${this.s}.channels c ON c.channel_id = u.channel_id
          WHERE u.version > c.reset_version
         ON CONFLICT (channel_id, message_id) DO UPDATE SET
           seq = excluded.seq, sender_id = excluded.sender_id, mentions = excluded.mentions,
           mention_all = excluded.mention_all, version = excluded.version,
           thread_id = excluded.thread_id, deleted = excluded.deleted
         WHERE messages.version < excluded.version`,
        [
          messages.map((m) => m.channelId),
          messages.map((m) => m.messageId),
          messages.map((m) => m.seq),
          messages.map((m) => m.senderId),
          messages.map((m) => m.mentions.join(",")),
          messages.map((m) => m.mentionAll),
          messages.map((m) => m.version),
          messages.map((m) => m.threadId),
          messages.map((m) => m.deleted),
        ],
      );
      rows += written.rowCount ?? 0;
    }
    // The channel's own row last: its upsert locks the row a cache load locks first, and a load
    // must not wait behind a flush stuck on another table.
    if (channels.length > 0) {
      const upserted = await client.query(
        `INSERT INTO ${this.s}.channels (channel_id, seq, last_message_id, live, reset_version, version)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::boolean[], $5::bigint[], $6::bigint[])
         ON CONFLICT (channel_id) DO UPDATE SET
           seq = excluded.seq, last_message_id = excluded.last_message_id, live = excluded.live,
           reset_version = GREATEST(channels.reset_version, excluded.reset_version),
           version = excluded.version, updated_at = now()
         WHERE channels.version < excluded.version`,
        [
          channels.map((c) => c.channelId),
          channels.map((c) => c.seq),
          channels.map((c) => c.lastMessageId),
          channels.map((c) => c.live),
          channels.map((c) => c.resetVersion),
          channels.map((c) => c.rowVersion),
        ],
      );
      rows += upserted.rowCount ?? 0;
    }
    return rows;
  }
}

/** Code-point order, as every sort in the contract. */
function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
