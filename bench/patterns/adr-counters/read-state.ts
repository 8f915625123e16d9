// Pattern D, "ADR-02 as written": per-member unread and mention counters in Redis hashes, one
// HINCRBY per member per post (the ADR's "write amplification": a post to a 1,000-member channel is
// 1,000 increments), a read resets the member's counters, and a periodic write-behind upserts the
// changed counters to PostgreSQL. Built as well as we know how: one Lua script per operation, the
// channel's counters in one hash per channel (one key per post, not one per member), coalesced
// flushes. It answers the v1 workload (post, read, member state, user unread) as readstate does.
import { readFile } from "node:fs/promises";
import { Redis } from "ioredis";
import pg from "pg";
import { ReadStateError } from "../../../src/core/errors.js";
import type {
  ChannelInfo,
  FlushResult,
  PostInput,
  PostResult,
  Receipts,
  ReceiptsQuery,
  SyncStatus,
} from "../../../src/core/types.js";
import type { V1ReadState } from "../../execute.js";
import {
  assertSchemaName,
  insertMemberships,
  userTotals,
  type V1MemberState,
  type V1UserUnread,
} from "../v1.js";
import { AdrKeys } from "./keys.js";
import {
  type AdrScriptClient,
  defineAdrScripts,
  translateScriptError,
  UnsupportedByCounters,
} from "./scripts.js";
import { AdrWriteBehind } from "./write-behind.js";

export interface AdrCountersOptions {
  redisUrl: string;
  databaseUrl: string;
  /** Schema of its own for the write-behind's tables, created by migrate(). */
  schema: string;
  keyPrefix: string;
  flushIntervalMs: number;
  /** Run the periodic write-behind (the setup connection does not). */
  worker: boolean;
  applicationName?: string;
}

/** HSET arguments per call in bulk setup: big channels go in slices. */
const SETUP_FIELDS_PER_CALL = 2000;

export class AdrCountersReadState implements V1ReadState {
  private readonly redis: Redis & AdrScriptClient;
  private readonly pool: pg.Pool;
  private readonly keys: AdrKeys;
  private readonly writeBehind: AdrWriteBehind;
  private closed = false;

  constructor(private readonly options: AdrCountersOptions) {
    assertSchemaName(options.schema);
    this.keys = new AdrKeys(options.keyPrefix);
    // As readstate connects: one connection, commands of one tick sent as one pipeline.
    this.redis = defineAdrScripts(
      new Redis(options.redisUrl, { enableAutoPipelining: true, maxRetriesPerRequest: 2 }),
    );
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: 2,
      application_name: options.applicationName ?? "readstate-bench-d",
    });
    this.writeBehind = new AdrWriteBehind(
      this.redis,
      this.keys,
      this.pool,
      options.schema,
      options.flushIntervalMs,
      (err) => process.stderr.write(`pattern D flush failed: ${(err as Error).message}\n`),
    );
    if (options.worker) this.writeBehind.start();
  }

  async migrate(): Promise<void> {
    const template = await readFile(new URL("./schema.sql", import.meta.url), "utf8");
    await this.pool.query(template.replaceAll("{{schema}}", this.options.schema));
  }

  /**
   * Setup only: every member joined before the first message, in Redis and in PostgreSQL at once
   * (nothing dirty), in bulk. Not part of the measured run.
   */
  async bulkJoin(memberships: { channelId: string; userIds: string[] }[]): Promise<void> {
    let pipeline = this.redis.pipeline();
    let queued = 0;
    const flushPipeline = async () => {
      await pipeline.exec();
      pipeline = this.redis.pipeline();
      queued = 0;
    };
    for (const { channelId, userIds } of memberships) {
      const [meta, unread, mentions, reads] = this.keys.channel(channelId) as [
        string,
        string,
        string,
        string,
      ];
      pipeline.hset(meta, "seq", 0);
      for (let i = 0; i < userIds.length; i += SETUP_FIELDS_PER_CALL) {
        const slice = userIds.slice(i, i + SETUP_FIELDS_PER_CALL);
        pipeline.hset(unread, ...slice.flatMap((u) => [u, "0"]));
        pipeline.hset(mentions, ...slice.flatMap((u) => [u, "0"]));
        pipeline.hset(reads, ...slice.flatMap((u) => [u, "0||"]));
        queued += 3;
      }
      for (const userId of userIds) pipeline.sadd(this.keys.userChannels(userId), channelId);
      queued += userIds.length;
      if (queued > 20_000) await flushPipeline();
    }
    await flushPipeline();
    const schema = this.options.schema;
    await this.pool.query(
      `INSERT INTO ${schema}.d_channels (channel_id, channel_seq) SELECT c, 0 FROM unnest($1::text[]) AS t(c)`,
      [memberships.map((m) => m.channelId)],
    );
    await insertMemberships(
      this.pool,
      `INSERT INTO ${schema}.d_members (channel_id, user_id, unread, mentions, read_seq)
       SELECT c, u, 0, 0, 0 FROM unnest($1::text[], $2::text[]) AS t(c, u)`,
      memberships,
    );
  }

  async join(channelId: string, userId: string): Promise<V1MemberState> {
    const reply = (await this.redis.adr_join(
      ...this.keys.channelWithDirty(channelId),
      this.keys.userChannels(userId),
      channelId,
      userId,
    )) as string;
    return parseState(channelId, userId, reply);
  }

  async leave(channelId: string, userId: string): Promise<void> {
    await this.call(channelId, userId, "", () =>
      this.redis.adr_leave(
        ...this.keys.channelWithDirty(channelId),
        this.keys.userChannels(userId),
        channelId,
        userId,
      ),
    );
  }

  async post(channelId: string, message: PostInput): Promise<PostResult> {
    const [created, seq] = (await this.redis.adr_post(
      ...this.keys.channelWithDirty(channelId),
      channelId,
      message.messageId,
      message.senderId,
      message.mentionAll === true ? "1" : "0",
      (message.mentions ?? []).join(","),
    )) as [number, number];
    return { channelId, messageId: message.messageId, seq, created: created === 1 };
  }

  async markRead(channelId: string, userId: string, messageId?: string): Promise<V1MemberState> {
    const reply = (await this.call(channelId, userId, messageId ?? "", () =>
      this.redis.adr_mark_read(...this.keys.channelWithDirty(channelId), channelId, userId, messageId ?? ""),
    )) as string;
    return parseState(channelId, userId, reply);
  }

  async markUnread(channelId: string, _userId: string, messageId: string): Promise<V1MemberState> {
    throw new UnsupportedByCounters(
      `pattern D keeps counters only: cannot mark ${channelId} unread from ${messageId} (the mentions above it are not kept)`,
    );
  }

  async memberState(channelId: string, userId: string): Promise<V1MemberState> {
    const [state] = await this.states(userId, [channelId]);
    if (state === undefined)
      throw new ReadStateError("not_a_member", `${userId} is not a member of ${channelId}`);
    return state;
  }

  async userUnread(userId: string): Promise<V1UserUnread> {
    // Code-point order, as API.md sorts IDs (not localeCompare).
    const channelIds = (await this.redis.smembers(this.keys.userChannels(userId))).sort((a, b) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return userTotals(
      userId,
      (await this.states(userId, channelIds)).filter((s) => s !== undefined),
    );
  }

  async channelInfo(channelId: string): Promise<ChannelInfo> {
    const [meta, unread] = this.keys.channel(channelId) as [string, string];
    const [[seq, lastMessageId], memberCount] = await Promise.all([
      this.redis.hmget(meta, "seq", "lmid"),
      this.redis.hlen(unread),
    ]);
    if (seq === null || seq === undefined)
      throw new ReadStateError("not_found", `channel ${channelId} does not exist`);
    return { channelId, channelSeq: Number(seq), memberCount, lastMessageId: lastMessageId ?? null };
  }

  /** Not on the hot path: every member's cursor is read and filtered (O(members) per call). */
  async receipts(channelId: string, messageId: string, query: ReceiptsQuery = {}): Promise<Receipts> {
    const limit = query.limit ?? 100;
    if (!Number.isInteger(limit) || limit < 1 || limit > 1000) {
      throw new ReadStateError("validation_failed", "limit must be a whole number from 1 to 1000");
    }
    const [meta, unread, , reads, msg] = this.keys.channel(channelId) as [
      string,
      string,
      string,
      string,
      string,
    ];
    const [seqText, memberCount, all] = await Promise.all([
      this.redis.hget(msg, messageId),
      this.redis.hlen(unread),
      this.redis.hgetall(reads),
    ]);
    if ((await this.redis.exists(meta)) === 0)
      throw new ReadStateError("not_found", `channel ${channelId} does not exist`);
    if (seqText === null) {
      throw new ReadStateError("unknown_message", `message ${messageId} was never posted in ${channelId}`);
    }
    const seq = Number(seqText);
    const readers = Object.entries(all)
      .map(([userId, value]) => ({ userId, readSeq: Number(value.split("|")[0]) }))
      .filter((r) => r.readSeq >= seq)
      .sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
    const after = query.after;
    const from = after === undefined ? readers : readers.filter((r) => r.userId > after);
    const page = from.slice(0, limit);
    return {
      channelId,
      messageId,
      seq,
      memberCount,
      readCount: readers.length,
      readers: page,
      next: from.length > limit ? (page[page.length - 1]?.userId ?? null) : null,
    };
  }

  async deleteChannel(channelId: string): Promise<void> {
    const keys = this.keys.channel(channelId);
    const members = await this.redis.hkeys(keys[1] as string);
    const pipeline = this.redis.pipeline();
    for (const userId of members) pipeline.srem(this.keys.userChannels(userId), channelId);
    pipeline.del(...keys);
    pipeline.srem(this.keys.dirty(this.keys.partitionOf(channelId)), channelId);
    await pipeline.exec();
    await this.pool.query(`DELETE FROM ${this.options.schema}.d_members WHERE channel_id = $1`, [channelId]);
    await this.pool.query(`DELETE FROM ${this.options.schema}.d_channels WHERE channel_id = $1`, [channelId]);
  }

  async flush(): Promise<FlushResult> {
    const flushed = await this.writeBehind.pass();
    return { flushed, remaining: await this.writeBehind.dirtyChannels() };
  }

  async syncStatus(): Promise<SyncStatus> {
    const { lastFlushAt, lastFlushRows, lastFlushMs } = this.writeBehind.figures;
    return {
      dirty: await this.writeBehind.dirtyChannels(),
      // Not tracked: D's dirty sets hold no times (the ADR keeps none); the bench samples C's lag only.
      oldestDirtyAgeMs: 0,
      lastFlushAt,
      lastFlushRows,
      lastFlushMs,
      shedding: false,
      backpressureAgeMs: 0,
    };
  }

  /** Stops the timer, writes everything still dirty (like readstate's close), disconnects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.writeBehind.stop();
    try {
      if (this.options.worker) await this.writeBehind.pass();
    } finally {
      this.redis.disconnect();
      await this.pool.end();
    }
  }

  async drop(): Promise<void> {
    await this.pool.query(`DROP SCHEMA IF EXISTS ${this.options.schema} CASCADE`);
  }

  private async states(userId: string, channelIds: string[]): Promise<(V1MemberState | undefined)[]> {
    if (channelIds.length === 0) return [];
    const keys = channelIds.flatMap((channelId) => this.keys.channel(channelId));
    const replies = (await this.redis.adr_member_states(keys.length, ...keys, userId)) as string[];
    return replies.map((reply, i) =>
      reply === "" ? undefined : parseState(channelIds[i] as string, userId, reply),
    );
  }

  private async call<T>(
    channelId: string,
    userId: string,
    messageId: string,
    run: () => Promise<T>,
  ): Promise<T> {
    try {
      return await run();
    } catch (err) {
      throw translateScriptError(err, channelId, userId, messageId);
    }
  }
}

/** "unread|mentions|channelSeq|readSeq|lastReadAt|lastReadMessageId" (_lib.lua) → a v1 member state. */
function parseState(channelId: string, userId: string, reply: string): V1MemberState {
  const [unread, mentions, channelSeq, readSeq, at, ...rest] = reply.split("|");
  const lastReadMessageId = rest.join("|");
  return {
    channelId,
    userId,
    unread: Number(unread),
    mentions: Number(mentions),
    readSeq: Number(readSeq),
    channelSeq: Number(channelSeq),
    lastReadMessageId: lastReadMessageId === "" ? null : lastReadMessageId,
    lastReadAt: at === undefined || at === "" ? null : new Date(Number(at)).toISOString(),
  };
}
