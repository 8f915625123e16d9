// The change feed on Redis sharded pub/sub (ports.ts ChangeFeed). Write scripts publish one message
// per change on their channel's shard channel (_lib.lua publish_change); the service publishes joins
// and leaves on the user's (store.ts publishUserChange). Each instance holds one subscriber
// connection, listening to the channels and users its live streams need.
//
// Missed changes are never silent: when the subscription breaks and comes back, and when Redis lost
// its data (a sentinel key vanished or changed), the listener is told to resync.
import { randomBytes } from "node:crypto";
import { Cluster, type Redis } from "ioredis";
import type {
  ChangeFeed,
  ChannelChange,
  ChannelChangeOp,
  FeedListener,
  UserChangeOp,
} from "../core/ports.js";
import type { RedisClock } from "./clock.js";
import type { RedisClient } from "./connection.js";
import type { Keys } from "./keys.js";

/** Shard channels per SSUBSCRIBE on a single Redis: keeps each command small. */
const SUBSCRIBE_CHUNK = 1000;
/** How often the sentinel is checked: a data loss is noticed within this (API.md: "Live events"). */
const SENTINEL_CHECK_MS = 1000;

const CHANNEL_OPS: ReadonlySet<string> = new Set<ChannelChangeOp>([
  "join",
  "leave",
  "post",
  "reply",
  "mark_read",
  "mark_unread",
  "mute",
  "delete_message",
  "delete_channel",
  "follow",
  "unfollow",
  "thread_read",
  "thread_unread",
]);
const USER_OPS: ReadonlySet<string> = new Set<UserChangeOp>(["join", "leave"]);

export interface FeedOptions {
  /** Connect the subscriber here instead of where the engine's connection goes (tests: a proxy). */
  redisUrl?: string;
  onError?: (err: Error) => void;
}

export class RedisChangeFeed implements ChangeFeed {
  private subscriber: Redis | Cluster | undefined;
  private listener: FeedListener | undefined;
  private starting: Promise<void> | undefined;
  /** Shard channel → channelId, userId: what the subscription must hold, also across reconnects. */
  private readonly channels = new Map<string, string>();
  private readonly users = new Map<string, string>();
  /** The subscription dropped since it was last complete: its next start resyncs. */
  private broken = false;
  private restoring: Promise<void> | undefined;
  private sentinel: string | undefined;
  private sentinelTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: Keys,
    private readonly clock: RedisClock,
    private readonly options: FeedOptions = {},
  ) {}

  start(listener: FeedListener): Promise<void> {
    this.starting ??= this.connect(listener).catch((err) => {
      this.starting = undefined;
      this.subscriber?.disconnect();
      this.subscriber = undefined;
      throw err;
    });
    return this.starting;
  }

  private async connect(listener: FeedListener): Promise<void> {
    this.listener = listener;
    const subscriber = this.createSubscriber();
    this.subscriber = subscriber;
    subscriber.on("error", (err: Error) => this.options.onError?.(err));
    subscriber.on("smessage", (channel: string, message: string) => this.receive(channel, message));
    if (subscriber instanceof Cluster) {
      // ioredis keeps a Cluster's shard subscriptions and restores them itself once its subscribers
      // are back; what was published meanwhile is lost, so the streams resync then.
      subscriber.on("-node", () => {
        this.broken = true;
      });
      subscriber.on("subscribersReady", () => {
        if (!this.broken) return;
        this.broken = false;
        this.listener?.resync("reconnected");
      });
    } else {
      subscriber.on("close", () => {
        this.broken = true;
      });
      subscriber.on("ready", () => {
        if (this.broken) void this.restore();
      });
    }
    await subscriber.connect();
    this.broken = false;
    await this.checkSentinel();
    this.sentinelTimer = setInterval(() => void this.checkSentinel().catch(() => {}), SENTINEL_CHECK_MS);
    this.sentinelTimer.unref();
  }

  private createSubscriber(): Redis | Cluster {
    if (this.redis instanceof Cluster) {
      return this.redis.duplicate(undefined, {
        shardedSubscribers: true,
        lazyConnect: true,
        enableAutoPipelining: false,
      });
    }
    const override = this.options.redisUrl ? urlOptions(this.options.redisUrl) : {};
    // Subscriptions are restored by restore(), which knows every channel wanted (also those whose
    // SSUBSCRIBE failed while the connection was down) and resyncs once they hold.
    // No auto-pipelining: subscriber-mode commands must not be wrapped in a pipeline.
    return (this.redis as Redis).duplicate({
      ...override,
      autoResubscribe: false,
      lazyConnect: true,
      enableAutoPipelining: false,
    });
  }

  /** After a reconnect: subscribe to everything wanted again, then tell the listener to resync. */
  private restore(): Promise<void> {
    this.restoring ??= (async () => {
      try {
        await this.subscribe([...this.channels.keys(), ...this.users.keys()]);
        // Answered after every SSUBSCRIBE before it: the subscription holds from here on.
        await (this.subscriber as Redis).ping();
        this.broken = false;
        this.listener?.resync("reconnected");
      } catch {
        // Dropped again: the next "ready" restores.
      } finally {
        this.restoring = undefined;
      }
    })();
    return this.restoring;
  }

  async listenChannels(channelIds: string[]): Promise<void> {
    const names = channelIds.map((channelId) => {
      const name = this.keys.channelFeed(channelId);
      this.channels.set(name, channelId);
      return name;
    });
    await this.subscribe(names);
  }

  forgetChannels(channelIds: string[]): void {
    const names = channelIds.map((channelId) => this.keys.channelFeed(channelId));
    for (const name of names) this.channels.delete(name);
    this.unsubscribe(names);
  }

  async listenUsers(userIds: string[]): Promise<void> {
    const names = userIds.map((userId) => {
      const name = this.keys.userFeed(userId);
      this.users.set(name, userId);
      return name;
    });
    await this.subscribe(names);
  }

  forgetUsers(userIds: string[]): void {
    const names = userIds.map((userId) => this.keys.userFeed(userId));
    for (const name of names) this.users.delete(name);
    this.unsubscribe(names);
  }

  now(): number {
    return this.clock.now();
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.sentinelTimer);
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private async subscribe(names: string[]): Promise<void> {
    const subscriber = this.subscriber;
    if (!subscriber) throw new Error("the change feed is not started");
    await Promise.all(this.groups(names).map((group) => subscriber.ssubscribe(...group)));
  }

  private unsubscribe(names: string[]): void {
    const subscriber = this.subscriber;
    if (!subscriber || names.length === 0) return;
    // Nothing to do if it fails: the connection is gone, and with it the subscription.
    for (const group of this.groups(names)) subscriber.sunsubscribe(...group).catch(() => {});
  }

  /** On a single Redis, chunks of any channels; on Cluster, one SSUBSCRIBE per hash tag (slot). */
  private groups(names: string[]): string[][] {
    if (names.length === 0) return [];
    if (!(this.subscriber instanceof Cluster)) {
      const groups: string[][] = [];
      for (let i = 0; i < names.length; i += SUBSCRIBE_CHUNK)
        groups.push(names.slice(i, i + SUBSCRIBE_CHUNK));
      return groups;
    }
    const byTag = new Map<string, string[]>();
    for (const name of names) {
      const tag = /\{([^}]*)\}/.exec(name)?.[1] ?? name;
      const group = byTag.get(tag);
      if (group) group.push(name);
      else byTag.set(tag, [name]);
    }
    return [...byTag.values()];
  }

  private receive(name: string, message: string): void {
    const listener = this.listener;
    if (!listener || this.closed) return;
    const [op = "", who = "", threads = "", at = ""] = message.split("|");
    const publishedAt = Number(at);
    const channelId = this.channels.get(name);
    if (channelId !== undefined && CHANNEL_OPS.has(op)) {
      const change: ChannelChange = {
        channelId,
        op: op as ChannelChangeOp,
        users: who === "" ? [] : who.split(","),
        threads: threads === "" ? [] : threads.split(","),
        publishedAt,
      };
      listener.channelChanged(change);
      return;
    }
    const userId = this.users.get(name);
    if (userId !== undefined && USER_OPS.has(op) && who !== "") {
      listener.userChanged({ userId, op: op as UserChangeOp, channelId: who, publishedAt });
    }
  }

  /**
   * Redis lost its data when the sentinel this instance saw is gone or replaced (every instance puts
   * one there if none is). Checked on the engine's connection: the subscriber cannot run GET.
   */
  private async checkSentinel(): Promise<void> {
    const key = this.keys.liveSentinel();
    let value = await this.redis.get(key);
    if (value === null) {
      await this.redis.set(key, randomBytes(8).toString("hex"), "NX");
      value = await this.redis.get(key);
    }
    if (value === null || this.closed) return;
    const lost = this.sentinel !== undefined && value !== this.sentinel;
    this.sentinel = value;
    if (lost) this.listener?.resync("data_lost");
  }
}

function urlOptions(url: string): { host: string; port: number } {
  const parsed = new URL(url.includes("://") ? url : `redis://${url}`);
  return { host: parsed.hostname, port: Number(parsed.port || 6379) };
}
