// The hot store on Redis: each operation is one atomic script on the channel's keys (operations of
// one turn of the event loop share a call, see batcher.ts).
import { randomBytes } from "node:crypto";
import { Cluster } from "ioredis";
import { type ErrorCode, ReadStateError } from "../core/errors.js";
import {
  ChannelNotLoaded,
  type ChannelSnapshot,
  type HotStore,
  type RawMemberState,
  type RawThreadState,
  type RawUserChannel,
  type UserChangeOp,
} from "../core/ports.js";
import type { ChannelInfo, PostInput, Receipts, ThreadInfo } from "../core/types.js";
import { isOutOfMemory, OperationBatcher } from "./batcher.js";
import { type RedisClock, scriptDeadline } from "./clock.js";
import type { RedisClient } from "./connection.js";
import { Keys } from "./keys.js";
import {
  type PostAttempt,
  PostRetractions,
  type RetractionEvents,
  type RetractOutcome,
} from "./retractions.js";
import type { OperationName } from "./scripts.js";

/** Script error replies and the public errors they become (RS_NOT_LOADED is handled by the service). */
/**
 * How long a loader may hold a channel's load lease: past it another instance may load the channel
 * and this loader's snapshot is dropped. Above the load's PostgreSQL statement timeout (10 s).
 */
const LOAD_LEASE_MS = 15_000;

const SCRIPT_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  RS_NOT_A_MEMBER: { code: "not_a_member", message: "the user is not a member of the channel" },
  RS_UNKNOWN_MESSAGE: { code: "unknown_message", message: "the messageId was never posted in this channel" },
  RS_NOT_FOUND: { code: "not_found", message: "the channel does not exist" },
  RS_NOT_FOLLOWING: { code: "not_following", message: "the user does not follow this thread" },
  RS_ROOT_IS_REPLY: {
    code: "validation_failed",
    message: "threadId names a reply; threads do not nest: reply to the thread's root message",
  },
};

/** The thread-level wording of errors whose channel-level wording would mislead. */
const THREAD_ERRORS: Record<string, { code: ErrorCode; message: string }> = {
  RS_UNKNOWN_MESSAGE: {
    code: "unknown_message",
    message:
      "the messageId is not a message of this thread (a thread's root is a top-level message of the channel)",
  },
  RS_NOT_FOUND: { code: "not_found", message: "the thread has neither a reply nor a follower" },
};

/** Rows sent per command while staging a cache load: keeps every command small. */
const LOAD_CHUNK = 1000;
/** How long the absence of a channel (never created, or deleted) stays cached. */
const ABSENT_TTL_MS = 60_000;
/**
 * A freshly loaded channel stays at least this long, whatever the cache ttl: the operation that
 * missed runs right after the load, and must find it (with a 1 ms ttl it used not to).
 */
const LOADED_MIN_TTL_MS = 250;
/** Staging keys of a loader that died vanish after this. */
const STAGING_TTL_MS = 60_000;

/** Channels per member_states call on a single Redis. */
const STATES_CHUNK = 100;

/** "" marks a user's channel list as merged with PostgreSQL's for good (IDs are never empty). */
const COMPLETE_MARK = "";
/**
 * ":<ms>" marks a list merged with PostgreSQL's at a time some joins may not have been flushed yet
 * (IDs never start with ':'); a later read completes it once everything before that time is flushed.
 */
const MERGED_MARK = ":";
/** Allowed difference between the clocks of two Redis Cluster nodes. */
const CLOCK_SKEW_MARGIN_MS = 1000;

/** What an operation answers when Redis is at maxmemory (noeviction). */
const OUT_OF_MEMORY =
  "Redis is out of memory (used memory reached maxmemory, policy noeviction): the write was refused and " +
  "nothing was applied; reads of cached channels still answer. Free memory or raise maxmemory";

/** How the store bounds a call: the timeout, and the clock that puts deadlines in scripts (clock.ts). */
export interface CallLimits {
  timeoutMs: number;
  clock: RedisClock;
}

export class RedisStore implements HotStore {
  readonly keys: Keys;
  /** Posts answered 503 that Redis may have applied, until retracted (retractions.ts). */
  readonly retractions: PostRetractions;
  private readonly clustered: boolean;
  private readonly batcher: OperationBatcher;
  /** Attempt tokens: unique per process (the random part) and per post (the counter). */
  private readonly attemptPrefix = randomBytes(4).toString("hex");
  private attempts = 0;

  constructor(
    readonly redis: RedisClient,
    keyPrefix: string,
    private readonly cacheTtlMs: number,
    private readonly onError: (err: Error) => void = () => {},
    private readonly limits?: CallLimits,
    retractionEvents?: RetractionEvents,
  ) {
    this.keys = new Keys(keyPrefix);
    this.clustered = redis instanceof Cluster;
    this.batcher = new OperationBatcher(redis, this.clustered, limits);
    this.retractions = new PostRetractions((attempt) => this.retract(attempt), retractionEvents);
  }

  async join(channelId: string, userId: string): Promise<{ joined: boolean; state: RawMemberState }> {
    const reply = (await this.script(channelId, "join", channelId, userId)) as unknown[];
    return { joined: reply[0] === 1, state: toMemberState(reply.slice(1)) };
  }

  async leave(channelId: string, userId: string): Promise<void> {
    await this.script(channelId, "leave", channelId, userId);
  }

  async post(
    channelId: string,
    message: PostInput,
  ): Promise<{ created: boolean; seq: number; threadId: string | null }> {
    const mentions = [...new Set(message.mentions ?? [])].join(",");
    const args = [channelId, message.messageId, message.senderId, message.mentionAll ? "1" : "0", mentions];
    if (message.threadId !== undefined) {
      const reply = (await this.script(channelId, "reply", ...args, message.threadId)) as [
        number,
        number,
        string,
      ];
      return { created: reply[0] === 1, seq: reply[1], threadId: reply[2] || null };
    }
    const attempt = `${this.attemptPrefix}.${(this.attempts++).toString(36)}`;
    const pending = this.script(channelId, "post", ...args, attempt);
    // Taken after the batcher took the call's own deadline: never earlier than it.
    const deadline = this.limits ? scriptDeadline(this.limits.clock, this.limits.timeoutMs) : undefined;
    try {
      const reply = (await pending) as [number, number, string];
      return { created: reply[0] === 1, seq: reply[1], threadId: reply[2] || null };
    } catch (err) {
      // Without a deadline a late run could follow the retraction: only calls with limits retract.
      if (err instanceof OutcomeUnknown && deadline !== undefined) {
        this.retractions.add({ channelId, messageId: message.messageId, attempt, deadline });
      }
      throw err;
    }
  }

  /** Undoes a post answered 503 if Redis applied it (retract_post.lua). */
  private async retract(attempt: PostAttempt): Promise<RetractOutcome> {
    const { channelId, messageId } = attempt;
    try {
      return (await this.call(
        () =>
          this.redis.rs_retract_post(
            ...this.keys.channelWithDirty(channelId),
            "",
            channelId,
            messageId,
            attempt.attempt,
            attempt.deadline,
          ),
        channelId,
      )) as RetractOutcome;
    } catch (err) {
      if (err instanceof ChannelNotLoaded) return "not_loaded";
      throw err;
    }
  }

  async deleteMessage(channelId: string, messageId: string): Promise<void> {
    await this.script(channelId, "delete_message", channelId, messageId);
  }

  async setMuted(channelId: string, userId: string, muted: boolean): Promise<RawMemberState> {
    return toMemberState(await this.script(channelId, "mute", channelId, userId, muted ? "1" : "0"));
  }

  async follow(channelId: string, threadId: string, userId: string): Promise<RawThreadState> {
    return toThreadState(await this.threadScript(channelId, "follow", channelId, threadId, userId));
  }

  async unfollow(channelId: string, threadId: string, userId: string): Promise<void> {
    await this.threadScript(channelId, "unfollow", channelId, threadId, userId);
  }

  async threadState(channelId: string, threadId: string, userId: string): Promise<RawThreadState> {
    return toThreadState(await this.threadScript(channelId, "thread_state", channelId, threadId, userId));
  }

  async markThreadRead(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string | undefined,
  ): Promise<RawThreadState> {
    return toThreadState(
      await this.threadScript(channelId, "thread_read", channelId, threadId, userId, messageId ?? ""),
    );
  }

  async markThreadUnread(
    channelId: string,
    threadId: string,
    userId: string,
    messageId: string,
  ): Promise<RawThreadState> {
    return toThreadState(
      await this.threadScript(channelId, "thread_unread", channelId, threadId, userId, messageId),
    );
  }

  async threadInfo(channelId: string, threadId: string): Promise<Omit<ThreadInfo, "channelId" | "threadId">> {
    const [threadSeq, followerCount, lastMessageId] = (await this.threadScript(
      channelId,
      "thread_info",
      channelId,
      threadId,
    )) as [number, number, string];
    return { threadSeq, followerCount, lastMessageId: lastMessageId || null };
  }

  async markRead(channelId: string, userId: string, messageId: string | undefined): Promise<RawMemberState> {
    return toMemberState(await this.script(channelId, "mark_read", channelId, userId, messageId ?? ""));
  }

  async markUnread(channelId: string, userId: string, messageId: string): Promise<RawMemberState> {
    return toMemberState(await this.script(channelId, "mark_unread", channelId, userId, messageId));
  }

  async memberState(channelId: string, userId: string): Promise<RawMemberState> {
    return toMemberState(await this.script(channelId, "member_state", channelId, userId));
  }

  async memberStates(
    userId: string,
    channelIds: string[],
  ): Promise<Map<string, RawUserChannel | "not_loaded" | "not_a_member">> {
    const states = new Map<string, RawUserChannel | "not_loaded" | "not_a_member">();
    await Promise.all(
      this.statesGroups(channelIds).map(async (group) => {
        const keys = group.map((channelId) => this.keys.channelBase(channelId));
        const reply = (await this.call(() =>
          this.redis.rs_member_states(keys.length, ...keys, userId, ...group),
        )) as unknown[];
        // Per channel "status|8 member fields|n", then n × "threadId|7 thread fields".
        let i = 0;
        for (const channelId of group) {
          const fields = String(reply[i++]).split("|");
          const status = fields[0] as "ok" | "not_loaded" | "not_a_member";
          if (status !== "ok") {
            states.set(channelId, status);
            continue;
          }
          const threads: RawUserChannel["threads"] = [];
          for (let n = Number(fields[9]); n > 0; n--) {
            const thread = String(reply[i++]).split("|");
            threads.push({ threadId: thread[0] as string, state: threadStateOf(thread, 1) });
          }
          states.set(channelId, { state: memberStateOf(fields, 1), threads });
        }
      }),
    );
    return states;
  }

  async channelInfo(channelId: string): Promise<Omit<ChannelInfo, "channelId">> {
    const [channelSeq, memberCount, lastMessageId] = (await this.script(
      channelId,
      "channel_info",
      channelId,
    )) as [number, number, string];
    return { channelSeq, memberCount, lastMessageId: lastMessageId || null };
  }

  async receipts(
    channelId: string,
    messageId: string,
    limit: number,
    after: string,
  ): Promise<Omit<Receipts, "channelId" | "messageId">> {
    const reply = (await this.script(channelId, "receipts", channelId, messageId, limit, after)) as unknown[];
    const readers: Receipts["readers"] = [];
    for (let i = 4; i < reply.length; i += 2) {
      readers.push({ userId: String(reply[i]), readSeq: Number(reply[i + 1]) });
    }
    return {
      seq: Number(reply[0]),
      memberCount: Number(reply[1]),
      readCount: Number(reply[2]),
      readers,
      next: (reply[3] as string) || null,
    };
  }

  async deleteChannel(channelId: string): Promise<void> {
    await this.script(channelId, "delete_channel", channelId);
  }

  async beginLoad(channelId: string, token: string, fence: boolean): Promise<"loaded" | "busy" | "go"> {
    const [meta] = this.keys.channel(channelId);
    const reply = await this.call(() =>
      this.redis.rs_load_begin(
        meta as string,
        this.keys.channelLoader(channelId),
        token,
        LOAD_LEASE_MS,
        fence ? "1" : "0",
      ),
    );
    return reply as "loaded" | "busy" | "go";
  }

  async abortLoad(channelId: string, token: string): Promise<void> {
    await this.call(() => this.redis.rs_load_abort(this.keys.channelLoader(channelId), token));
  }

  async installLoad(snapshot: ChannelSnapshot, token: string): Promise<boolean> {
    const { channelId } = snapshot;
    const staging = this.keys.channelStaging(channelId, token);
    const [, cur, lra, msg, seqs, mn, all, alls, mdat, th, ix] = staging as [string, ...string[]];
    return this.call(async () => {
      // All staging keys share the channel's hash tag, so one pipeline also works on Cluster.
      // The layout of every key is the one the scripts keep (keys.ts).
      const pipeline = this.redis.pipeline();
      for (const part of chunks(snapshot.members, LOAD_CHUNK)) {
        pipeline.zadd(cur as string, ...part.flatMap((m) => [m.readSeq, m.userId]));
        pipeline.hset(
          lra as string,
          ...part.flatMap((m) => [m.userId, `${m.lastReadAtMs ?? ""}|${m.lastReadMessageId ?? ""}`]),
        );
        const muted = part.filter((m) => m.muted).flatMap((m) => [`q|${m.userId}`, "1"]);
        if (muted.length > 0) pipeline.hset(th as string, ...muted);
      }
      const threadSeqs = new Map<string, number>();
      for (const part of chunks(snapshot.messages, LOAD_CHUNK)) {
        const positions: (string | number)[] = [];
        const bySeq: (string | number)[] = [];
        const data: string[] = [];
        const thread: (string | number)[] = [];
        const index: string[] = [];
        for (const m of part) {
          const seqKey = String(m.seq).padStart(16, "0");
          data.push(m.messageId, `${m.senderId}|${m.mentionAll ? "1" : "0"}|${m.mentions.join(",")}`);
          const named = m.mentionAll ? [] : [...new Set(m.mentions)].filter((u) => u !== m.senderId);
          if (m.threadId === null) {
            positions.push(m.messageId, m.seq);
            bySeq.push(m.seq, m.messageId);
            if (m.deleted) index.push("0", `d|${seqKey}`);
            else if (m.mentionAll) {
              pipeline.zadd(all as string, m.seq, String(m.seq));
              pipeline.zadd(alls as string, 0, `${m.senderId}|${seqKey}`);
            } else if (named.length > 0) {
              pipeline.zadd(mn as string, ...named.flatMap((userId) => ["0", `${userId}|${seqKey}`]));
            }
          } else {
            const t = m.threadId;
            positions.push(m.messageId, `${m.seq}|${t}`);
            thread.push(`m|${t}|${m.seq}`, m.messageId);
            threadSeqs.set(t, Math.max(threadSeqs.get(t) ?? 0, m.seq));
            if (m.deleted) index.push("0", `r|${t}|${seqKey}`);
            else if (m.mentionAll)
              index.push("0", `n|${t}|*|${seqKey}`, "0", `n|${t}|-${m.senderId}|${seqKey}`);
            else for (const userId of named) index.push("0", `n|${t}|${userId}|${seqKey}`);
          }
        }
        if (positions.length > 0) pipeline.hset(msg as string, ...positions);
        if (bySeq.length > 0) pipeline.hset(seqs as string, ...bySeq);
        pipeline.hset(mdat as string, ...data);
        if (thread.length > 0) pipeline.hset(th as string, ...thread);
        if (index.length > 0) pipeline.zadd(ix as string, ...index);
      }
      if (threadSeqs.size > 0) {
        pipeline.hset(th as string, ...[...threadSeqs].flatMap(([t, seq]) => [`s|${t}`, seq]));
      }
      for (const part of chunks(snapshot.followers, LOAD_CHUNK)) {
        const entries: string[] = [];
        const index: string[] = [];
        for (const f of part) {
          const field = `c|${f.threadId}|${f.userId}`;
          index.push("0", `u|${f.userId}|${f.threadId}`);
          if (f.following) {
            entries.push(field, `${f.readSeq}|${f.lastReadAtMs ?? ""}|${f.lastReadMessageId ?? ""}`);
            index.push("0", `f|${f.threadId}|${f.userId}`);
          } else entries.push(field, "x");
        }
        pipeline.hset(th as string, ...entries);
        pipeline.zadd(ix as string, ...index);
      }
      for (const key of staging) pipeline.pexpire(key, STAGING_TTL_MS);
      const results = await pipeline.exec();
      const failed = results?.find(([err]) => err);
      if (failed?.[0]) throw failed[0];
      const installed = await this.redis.rs_load_channel(
        this.keys.channelBase(channelId),
        ...staging,
        this.keys.channelLoader(channelId),
        snapshot.seq,
        snapshot.lastMessageId ?? "",
        snapshot.version,
        snapshot.live ? "1" : "0",
        snapshot.resetVersion,
        // Caching that a channel does not exist saves PostgreSQL a query per call, but callers naming
        // random channels must not fill Redis for a day.
        Math.max(
          LOADED_MIN_TTL_MS,
          snapshot.live ? this.cacheTtlMs : Math.min(this.cacheTtlMs, ABSENT_TTL_MS),
        ),
        token,
        snapshot.generation,
        snapshot.fenced ? "1" : "0",
        snapshot.messages.filter((m) => m.deleted && m.threadId === null).length,
        snapshot.followers.length > 0 ? "1" : "0",
        snapshot.members.filter((m) => m.muted).length,
      );
      return installed === 1;
    });
  }

  async userChannels(
    userId: string,
  ): Promise<{ channelIds: string[]; complete: boolean; mergedAt: number | null }> {
    const members = await this.call(() => this.redis.smembers(this.keys.userChannels(userId)));
    let complete = false;
    let mergedAt: number | null = null;
    const channelIds: string[] = [];
    for (const member of members) {
      if (member === COMPLETE_MARK) complete = true;
      else if (member.startsWith(MERGED_MARK)) {
        // Two first reads at once may both leave a mark: the earlier one settles first.
        const at = Number(member.slice(MERGED_MARK.length));
        mergedAt = mergedAt === null ? at : Math.min(mergedAt, at);
      } else channelIds.push(member);
    }
    return { channelIds, complete, mergedAt };
  }

  async addUserChannel(userId: string, channelId: string): Promise<void> {
    await this.call(() => this.redis.sadd(this.keys.userChannels(userId), channelId));
  }

  async publishUserChange(userId: string, op: UserChangeOp, channelId: string): Promise<void> {
    // The channel feeds' payload shape (_lib.lua publish_change), with the channel in place of users.
    const at = Math.floor(this.limits?.clock.now() ?? Date.now());
    await this.call(() => this.redis.spublish(this.keys.userFeed(userId), `${op}|${channelId}||${at}`));
  }

  async mergeUserChannels(
    userId: string,
    channelIds: string[],
    merge: { complete: boolean; mergedAt: number | null },
  ): Promise<void> {
    try {
      await this.call(() =>
        this.redis.rs_merge_user_channels(
          this.keys.userChannels(userId),
          merge.complete ? "1" : "0",
          merge.mergedAt === null ? "" : `${MERGED_MARK}${merge.mergedAt}`,
          ...channelIds,
        ),
      );
    } catch (err) {
      // Only a cache of PostgreSQL's list: at maxmemory the read goes on and the next one merges again.
      if (!isOutOfMemory((err as Error).cause)) throw err;
    }
  }

  async flushedBefore(timeMs: number): Promise<boolean> {
    const frontier = await this.call(() => this.redis.hget(this.keys.syncStats(), "frontier"));
    // Redis Cluster nodes stamp with their own clocks: a margin covers a small skew between them.
    return frontier !== null && Number(frontier) > timeMs + CLOCK_SKEW_MARGIN_MS;
  }

  /**
   * Channels that one member_states call may read together: on a single Redis any of them (in
   * chunks, so no call runs long); on Cluster only those sharing a hash tag (partition).
   */
  private statesGroups(channelIds: string[]): string[][] {
    const groups = new Map<string | number, string[]>();
    channelIds.forEach((channelId, i) => {
      const group = this.clustered ? this.keys.partitionOf(channelId) : Math.floor(i / STATES_CHUNK);
      const list = groups.get(group);
      if (list) list.push(channelId);
      else groups.set(group, [channelId]);
    });
    return [...groups.values()];
  }

  private script(channelId: string, name: OperationName, ...args: (string | number)[]): Promise<unknown> {
    return this.runOperation(channelId, name, args);
  }

  /** An operation on a thread: its errors are worded for the thread. */
  private threadScript(
    channelId: string,
    name: OperationName,
    ...args: (string | number)[]
  ): Promise<unknown> {
    return this.runOperation(channelId, name, args, THREAD_ERRORS);
  }

  private runOperation(
    channelId: string,
    name: OperationName,
    args: (string | number)[],
    wording?: Record<string, { code: ErrorCode; message: string }>,
  ): Promise<unknown> {
    return this.call(
      () =>
        this.batcher.run(name, this.keys.channelWithDirty(channelId), this.keys.partitionOf(channelId), args),
      channelId,
      wording,
    );
  }

  /** Maps script error replies to public errors, and any other failure to 503 `unavailable`. */
  private async call<T>(
    run: () => Promise<T>,
    channelId?: string,
    wording: Record<string, { code: ErrorCode; message: string }> = {},
  ): Promise<T> {
    try {
      return await this.within(run());
    } catch (err) {
      const message = (err as Error).message ?? "";
      // Redis 7.0 prefixes a script's error reply with "ERR ".
      const scriptError = /^(?:ERR )?(RS_[A-Z_]+)/.exec(message)?.[1];
      if (scriptError === "RS_NOT_LOADED" && channelId !== undefined) throw new ChannelNotLoaded(channelId);
      if (scriptError === "RS_NOT_FENCED" && channelId !== undefined) {
        throw new ChannelNotLoaded(channelId, true);
      }
      const known = scriptError ? (wording[scriptError] ?? SCRIPT_ERRORS[scriptError]) : undefined;
      if (known) throw new ReadStateError(known.code, known.message);
      this.onError(err as Error);
      if (isOutOfMemory(err)) throw new ReadStateError("unavailable", OUT_OF_MEMORY, { cause: err });
      // Past its deadline an operation script applies nothing (RS_DEADLINE), and one that timed out
      // here can only run past it. Other commands that may still run later change no answer: an
      // extra entry in a user's channel list (filtered on read), a channel loaded into the cache.
      if (scriptError === "RS_DEADLINE" || err instanceof RedisTimeout || message === "Command timed out") {
        const within = this.limits ? `within ${this.limits.timeoutMs} ms` : "in time";
        const answer = `Redis did not answer ${within}; nothing was applied`;
        if (scriptError === "RS_DEADLINE") throw new ReadStateError("unavailable", answer, { cause: err });
        throw new OutcomeUnknown(answer, err);
      }
      throw new OutcomeUnknown(`Redis is unavailable, nothing was applied: ${message}`, err);
    }
  }

  /**
   * The timeout counts from the call, not from when the client writes the command: ioredis's own
   * command timeout starts at the write, and an auto-pipelined command waits for the pipeline before
   * it (one more timeout when Redis hangs). Scripts' deadlines count from the call too (batcher.ts).
   */
  private within<T>(pending: Promise<T>): Promise<T> {
    const limits = this.limits;
    if (!limits) return pending;
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      // setImmediate: a reply already received when the timer fires (the event loop was busy) is
      // read first and wins, since its script did apply.
      const timer = setTimeout(
        () =>
          setImmediate(() => {
            if (settled) return;
            settled = true;
            reject(new RedisTimeout(limits.timeoutMs));
          }),
        limits.timeoutMs,
      );
      pending.then(
        (value) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve(value);
        },
        (err: unknown) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          reject(err);
        },
      );
    });
  }
}

/**
 * 503 for a call that may have reached Redis and run there: its reply did not come (in time). The
 * answer still says nothing was applied; for posts the store makes that true (retractions.ts).
 */
class OutcomeUnknown extends ReadStateError {
  constructor(message: string, cause: unknown) {
    super("unavailable", message, { cause });
    this.name = "OutcomeUnknown";
  }
}

class RedisTimeout extends Error {
  override name = "RedisTimeout";
  constructor(ms: number) {
    super(`no answer from Redis within ${ms} ms`);
  }
}

function toMemberState(reply: unknown): RawMemberState {
  const [readSeq, channelSeq, unread, mentions, lastReadMessageId, lastReadAt, firstUnread, muted] =
    reply as [number, number, number, number, string, string, string, number];
  return {
    readSeq,
    channelSeq,
    unread,
    mentions,
    lastReadMessageId: lastReadMessageId || null,
    lastReadAtMs: lastReadAt ? Number(lastReadAt) : null,
    firstUnreadMessageId: firstUnread || null,
    muted: muted === 1,
  };
}

/** A member state from its 8 fields as strings, starting at fields[at] (member_states.lua). */
function memberStateOf(fields: string[], at: number): RawMemberState {
  return {
    readSeq: Number(fields[at]),
    channelSeq: Number(fields[at + 1]),
    unread: Number(fields[at + 2]),
    mentions: Number(fields[at + 3]),
    lastReadMessageId: fields[at + 4] || null,
    lastReadAtMs: fields[at + 5] ? Number(fields[at + 5]) : null,
    firstUnreadMessageId: fields[at + 6] || null,
    muted: fields[at + 7] === "1",
  };
}

/** A thread state from its 7 fields as strings, starting at fields[at] (member_states.lua). */
function threadStateOf(fields: string[], at: number): RawThreadState {
  return {
    readSeq: Number(fields[at]),
    threadSeq: Number(fields[at + 1]),
    unread: Number(fields[at + 2]),
    mentions: Number(fields[at + 3]),
    lastReadMessageId: fields[at + 4] || null,
    lastReadAtMs: fields[at + 5] ? Number(fields[at + 5]) : null,
    firstUnreadMessageId: fields[at + 6] || null,
  };
}

function toThreadState(reply: unknown): RawThreadState {
  const [readSeq, threadSeq, unread, mentions, lastReadMessageId, lastReadAt, firstUnread] = reply as [
    number,
    number,
    number,
    number,
    string,
    string,
    string,
  ];
  return {
    readSeq,
    threadSeq,
    unread,
    mentions,
    lastReadMessageId: lastReadMessageId || null,
    lastReadAtMs: lastReadAt ? Number(lastReadAt) : null,
    firstUnreadMessageId: firstUnread || null,
  };
}

function* chunks<T>(items: T[], size: number): Generator<T[]> {
  for (let i = 0; i < items.length; i += size) yield items.slice(i, i + size);
}
