// Pattern D's write-behind (ADR-02: "a background worker periodically reads the buffer and executes
// batch updates"): every interval, take the dirty channels of each partition, claim their changed
// members, and upsert them in one transaction: a member changed many times in an interval is one row.
import type { Redis } from "ioredis";
import type pg from "pg";
import type { AdrKeys } from "./keys.js";
import { PARTITIONS } from "./keys.js";
import type { AdrScriptClient } from "./scripts.js";

/** Channels taken from one partition per step: bounds one transaction (a 10,000-member channel is 10,000 rows). */
const CHANNELS_PER_STEP = 200;

interface MemberRow {
  channelId: string;
  userId: string;
  unread: string;
  mentions: string;
  readSeq: string;
  lastReadAtMs: string;
  lastReadMessageId: string;
}

export interface FlushFigures {
  rows: number;
  lastFlushAt: string | null;
  lastFlushRows: number;
  lastFlushMs: number;
}

export class AdrWriteBehind {
  private timer: NodeJS.Timeout | undefined;
  /** One pass at a time: the timer's and flush()'s passes are chained, never concurrent. */
  private running: Promise<number> = Promise.resolve(0);
  readonly figures: FlushFigures = { rows: 0, lastFlushAt: null, lastFlushRows: 0, lastFlushMs: 0 };

  constructor(
    private readonly redis: Redis & AdrScriptClient,
    private readonly keys: AdrKeys,
    private readonly pool: pg.Pool,
    private readonly schema: string,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    const tick = () => {
      this.timer = setTimeout(() => {
        this.pass()
          .catch(this.onError)
          .finally(() => {
            if (this.timer !== undefined) tick();
          });
      }, this.intervalMs);
    };
    tick();
  }

  stop(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Writes everything dirty now; returns the rows written. */
  pass(): Promise<number> {
    this.running = this.running.catch(() => 0).then(() => this.writeAll());
    return this.running;
  }

  async dirtyChannels(): Promise<number> {
    const counts = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, p) => this.redis.scard(this.keys.dirty(p))),
    );
    return counts.reduce((a, b) => a + b, 0);
  }

  private async writeAll(): Promise<number> {
    const started = performance.now();
    let rows = 0;
    for (let partition = 0; partition < PARTITIONS; partition++) {
      for (;;) {
        const channelIds = await this.redis.spop(this.keys.dirty(partition), CHANNELS_PER_STEP);
        if (channelIds.length === 0) break;
        rows += await this.writeChannels(channelIds);
        if (channelIds.length < CHANNELS_PER_STEP) break;
      }
    }
    this.figures.rows += rows;
    this.figures.lastFlushAt = new Date().toISOString();
    this.figures.lastFlushRows = rows;
    this.figures.lastFlushMs = performance.now() - started;
    return rows;
  }

  private async writeChannels(channelIds: string[]): Promise<number> {
    const claims = (await Promise.all(
      channelIds.map((channelId) => this.redis.adr_claim(...this.keys.channel(channelId))),
    )) as string[][];
    const channels: [string[], string[], (string | null)[]] = [[], [], []];
    const members: MemberRow[] = [];
    const gone: [string[], string[]] = [[], []];
    claims.forEach((reply, i) => {
      const channelId = channelIds[i] as string;
      channels[0].push(channelId);
      channels[1].push(reply[0] ?? "0");
      channels[2].push(reply[1] || null);
      for (let j = 2; j + 1 < reply.length; j += 2) {
        const userId = reply[j] as string;
        const state = reply[j + 1] as string;
        if (state === "") {
          gone[0].push(channelId);
          gone[1].push(userId);
          continue;
        }
        const [unread = "0", mentions = "0", readSeq = "0", lastReadAtMs = "", ...rest] = state.split("|");
        members.push({
          channelId,
          userId,
          unread,
          mentions,
          readSeq,
          lastReadAtMs,
          lastReadMessageId: rest.join("|"),
        });
      }
    });
    try {
      await this.write(channels, members, gone);
    } catch (err) {
      // Claimed but not written: mark the channels whole again, so the next pass rewrites them.
      const pipeline = this.redis.pipeline();
      for (const channelId of channelIds) {
        const keys = this.keys.channelWithDirty(channelId);
        pipeline.sadd(keys[5] as string, "*");
        pipeline.sadd(keys[6] as string, channelId);
      }
      await pipeline.exec();
      throw err;
    }
    return channels[0].length + members.length + gone[0].length;
  }

  private async write(
    channels: [string[], string[], (string | null)[]],
    members: MemberRow[],
    gone: [string[], string[]],
  ): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      await client.query(
        `INSERT INTO ${this.schema}.d_channels (channel_id, channel_seq, last_message_id)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
         ON CONFLICT (channel_id) DO UPDATE SET channel_seq = excluded.channel_seq,
           last_message_id = excluded.last_message_id
         WHERE (d_channels.channel_seq, d_channels.last_message_id)
           IS DISTINCT FROM (excluded.channel_seq, excluded.last_message_id)`,
        channels,
      );
      if (members.length > 0) {
        await client.query(
          `INSERT INTO ${this.schema}.d_members
             (channel_id, user_id, unread, mentions, read_seq, last_read_at, last_read_message_id)
           SELECT c, u, n, m, r, CASE WHEN t = '' THEN NULL ELSE to_timestamp(t::bigint / 1000.0) END, NULLIF(l, '')
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
               AS x(c, u, n, m, r, t, l)
           ON CONFLICT (channel_id, user_id) DO UPDATE SET unread = excluded.unread,
             mentions = excluded.mentions, read_seq = excluded.read_seq,
             last_read_at = excluded.last_read_at, last_read_message_id = excluded.last_read_message_id
           -- A member rewritten after a failed pass, or changed and changed back: no row write.
           WHERE (d_members.unread, d_members.mentions, d_members.read_seq, d_members.last_read_message_id)
             IS DISTINCT FROM (excluded.unread, excluded.mentions, excluded.read_seq, excluded.last_read_message_id)`,
          [
            members.map((m) => m.channelId),
            members.map((m) => m.userId),
            members.map((m) => m.unread),
            members.map((m) => m.mentions),
            members.map((m) => m.readSeq),
            members.map((m) => m.lastReadAtMs),
            members.map((m) => m.lastReadMessageId),
          ],
        );
      }
      if (gone[0].length > 0) {
        await client.query(
          `DELETE FROM ${this.schema}.d_members d USING unnest($1::text[], $2::text[]) AS x(c, u)
            WHERE d.channel_id = x.c AND d.user_id = x.u`,
          gone,
        );
      }
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      client.release();
    }
  }
}
