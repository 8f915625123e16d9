// The worker's view of Redis: which channels are dirty, claiming them, and clearing what was written.
import type { ChannelChanges } from "../core/ports.js";
import type { RedisClient } from "./connection.js";
import { type Keys, PARTITIONS } from "./keys.js";

export interface DirtyPartition {
  partition: number;
  /** Dirty channels, oldest first, with the time each first became dirty. */
  channels: { channelId: string; since: number }[];
}

export interface ClaimedPartition {
  partition: number;
  changes: ChannelChanges[];
}

/** Channels given their expiry per partition per cool.lua call. */
const COOL_PER_CALL = 500;

export class DirtyIndex {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly cacheTtlMs: number,
  ) {}

  /**
   * Dirty channels of every partition, oldest first, at most `perPartition` each; `before` keeps only
   * those dirty since that time or earlier. Partitions are read concurrently (auto-pipelined).
   */
  async scan(perPartition: number, before = Number.POSITIVE_INFINITY): Promise<DirtyPartition[]> {
    const max = Number.isFinite(before) ? before : "+inf";
    const replies = await Promise.all(
      Array.from({ length: PARTITIONS }, (_, partition) =>
        this.redis.zrangebyscore(
          this.keys.dirty(partition),
          "-inf",
          max,
          "WITHSCORES",
          "LIMIT",
          0,
          perPartition,
        ),
      ),
    );
    const found: DirtyPartition[] = [];
    replies.forEach((reply, partition) => {
      if (reply.length === 0) return;
      const channels: DirtyPartition["channels"] = [];
      for (let i = 0; i < reply.length; i += 2) {
        channels.push({ channelId: reply[i] as string, since: Number(reply[i + 1]) });
      }
      found.push({ partition, channels });
    });
    return found;
  }

  /** Number of dirty channels and the time the oldest became dirty (null when none is). */
  async backlog(): Promise<{ dirty: number; oldestSince: number | null }> {
    const partitions = Array.from({ length: PARTITIONS }, (_, p) => this.keys.dirty(p));
    const [counts, oldest] = await Promise.all([
      Promise.all(partitions.map((key) => this.redis.zcard(key))),
      Promise.all(partitions.map((key) => this.redis.zrange(key, "0", "0", "WITHSCORES"))),
    ]);
    let oldestSince: number | null = null;
    for (const reply of oldest) {
      if (reply.length < 2) continue;
      const since = Number(reply[1]);
      if (oldestSince === null || since < oldestSince) oldestSince = since;
    }
    return { dirty: counts.reduce((sum, n) => sum + n, 0), oldestSince };
  }

  /** Claims the channels of one partition; an empty result when another worker holds its lease. */
  async claim(
    partition: number,
    channelIds: string[],
    opts: { workerId: string; leaseMs: number; force: boolean; rowBudget: number },
  ): Promise<ChannelChanges[]> {
    const keys = [this.keys.lease(partition), this.keys.dirty(partition)];
    for (const channelId of channelIds) keys.push(this.keys.channelBase(channelId));
    const reply = (await this.redis.rs_claim(
      keys.length,
      ...keys,
      opts.workerId,
      opts.leaseMs,
      opts.force ? "1" : "0",
      opts.rowBudget,
      ...channelIds,
    )) as (string | number)[];
    return parseClaim(reply);
  }

  /** The last flush's figures, shared by every instance through Redis. */
  async recordFlush(report: { rows: number; ms: number }): Promise<void> {
    await this.redis.rs_record_flush(this.keys.syncStats(), report.rows, report.ms);
  }

  async lastFlush(): Promise<{ at: number | null; rows: number; ms: number }> {
    const [at, rows, ms] = await this.redis.hmget(this.keys.syncStats(), "at", "rows", "ms");
    return { at: at ? Number(at) : null, rows: Number(rows ?? 0), ms: Number(ms ?? 0) };
  }

  /**
   * A failed flush pass, shared like the last flush: while the newest attempt failed, PostgreSQL is
   * not answering, and no instance refuses writes because of the backlog (src/sync/backpressure.ts).
   */
  /**
   * Records that nothing older than `since` (Redis time) is dirty any more: every change made before
   * it has reached PostgreSQL. Read by FLUSHED_FRONTIER's users (a user's channel list, store.ts).
   */
  async recordFlushedFrontier(since: number): Promise<void> {
    await this.redis.hset(this.keys.syncStats(), "frontier", since);
  }

  async recordFlushFailure(): Promise<void> {
    await this.redis.hset(this.keys.syncStats(), "failedAt", await this.now());
  }

  /** The last pass's duration over the time its changes piled up in (src/sync/backpressure.ts). */
  async recordFlushLoad(load: number): Promise<void> {
    await this.redis.hset(this.keys.syncStats(), "load", load.toFixed(3));
  }

  async flushHealth(): Promise<{ failedAt: number | null; load: number | null }> {
    const [failedAt, load] = await this.redis.hmget(this.keys.syncStats(), "failedAt", "load");
    return { failedAt: failedAt ? Number(failedAt) : null, load: load ? Number(load) : null };
  }

  /**
   * Gives the cache of every channel clean for `cleanForMs` or longer (by Redis's clock, which stamps
   * the cooling index) its expiry, in every partition (cool.lua); returns how many got one. Channels
   * cleaned later wait for a later call.
   */
  async cool(cleanForMs: number): Promise<number> {
    return this.coolUntil((await this.now()) - cleanForMs);
  }

  private async coolUntil(cut: number): Promise<number> {
    const partitions = Array.from({ length: PARTITIONS }, (_, partition) => partition);
    const found = await Promise.all(
      partitions.map((p) =>
        this.redis.zrangebyscore(this.keys.cooling(p), "-inf", cut, "LIMIT", 0, COOL_PER_CALL),
      ),
    );
    const expired = await Promise.all(
      found.map((channelIds, partition) => {
        if (channelIds.length === 0) return 0;
        const keys = [this.keys.cooling(partition), this.keys.dirty(partition)];
        for (const channelId of channelIds) keys.push(this.keys.channelBase(channelId));
        return this.redis.rs_cool(
          keys.length,
          ...keys,
          this.cacheTtlMs,
          cut,
          ...channelIds,
        ) as Promise<number>;
      }),
    );
    const more = found.some((channelIds) => channelIds.length === COOL_PER_CALL);
    const count = expired.reduce((sum, n) => sum + n, 0);
    return more ? count + (await this.coolUntil(cut)) : count;
  }

  /** Redis's clock, which stamps every dirty entry. */
  async now(): Promise<number> {
    const [seconds, micros] = await this.redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** Compare-and-clear after the batch committed; returns how many channels are now clean. */
  async clear(partition: number, changes: ChannelChanges[], workerId: string): Promise<number> {
    const keys = [this.keys.lease(partition), this.keys.dirty(partition), this.keys.cooling(partition)];
    const args: (string | number)[] = [workerId];
    for (const c of changes) {
      keys.push(this.keys.channelBase(c.channelId));
      args.push(
        c.channelId,
        c.version,
        Math.max(0, ...c.members.map((m) => m.version), ...c.followers.map((f) => f.version)),
        Math.max(0, ...c.messages.map((m) => m.version)),
        c.resetPending ? c.resetVersion : "",
        c.complete ? "1" : "0",
        c.rowDirty ? c.rowVersion : "",
        c.generation,
      );
    }
    return (await this.redis.rs_clear(keys.length, ...keys, ...args)) as number;
  }
}

/** Reads claim.lua's flat reply (see its header). */
function parseClaim(reply: (string | number)[]): ChannelChanges[] {
  const changes: ChannelChanges[] = [];
  let i = 0;
  const next = (): string => String(reply[i++] ?? "");
  while (i < reply.length) {
    const channelId = next();
    const seq = Number(next());
    const lastMessageId = next() || null;
    const version = Number(next());
    const live = next() === "1";
    const resetVersion = Number(next());
    const resetPending = next() === "1";
    const claimedAtMs = Number(next());
    const complete = next() === "1";
    const rowVersion = Number(next());
    const rowDirty = next() === "1";
    const generation = Number(next());
    const members: ChannelChanges["members"] = [];
    for (let n = Number(next()); n > 0; n--) {
      const userId = next();
      const readSeq = next();
      const lastReadAt = next();
      const lastReadMessageId = next() || null;
      const version = Number(next());
      members.push({
        userId,
        readSeq: readSeq === "" ? null : Number(readSeq),
        lastReadAtMs: lastReadAt === "" ? null : Number(lastReadAt),
        lastReadMessageId,
        version,
        muted: next() === "1",
      });
    }
    const followers: ChannelChanges["followers"] = [];
    for (let n = Number(next()); n > 0; n--) {
      const threadId = next();
      const userId = next();
      const state = next();
      const readSeq = next();
      const lastReadAt = next();
      const lastReadMessageId = next() || null;
      followers.push({
        threadId,
        userId,
        following: state === "f",
        unfollowed: state === "x",
        readSeq: readSeq === "" ? 0 : Number(readSeq),
        lastReadAtMs: lastReadAt === "" ? null : Number(lastReadAt),
        lastReadMessageId,
        version: Number(next()),
      });
    }
    const messages: ChannelChanges["messages"] = [];
    for (let n = Number(next()); n > 0; n--) {
      const messageId = next();
      const seqOfMessage = Number(next());
      const threadId = next() || null;
      const [senderId = "", mentionAll = "0", mentions = ""] = next().split("|");
      const deleted = next() === "1";
      messages.push({
        messageId,
        seq: seqOfMessage,
        threadId,
        senderId,
        mentionAll: mentionAll === "1",
        mentions: mentions === "" ? [] : mentions.split(","),
        deleted,
        version: Number(next()),
      });
    }
    changes.push({
      channelId,
      seq,
      lastMessageId,
      live,
      version,
      generation,
      resetVersion,
      resetPending,
      claimedAtMs,
      complete,
      rowVersion,
      rowDirty,
      members,
      followers,
      messages,
    });
  }
  return changes;
}
