// Live events (API.md, "Live events"): the subscriptions this instance holds, fed by the change feed.
//
// Per user with a subscription here, a hub: the channels it listens to (their feeds, counted over
// every hub), the threads the user follows in them, a bounded buffer of recent events for resuming,
// and one refresh per channel (or thread) that reads the latest state when a change concerns it.
// Work is proportional to the subscriptions held for the members a change concerns: a post reads
// the member state of each local subscriber of that channel, issued in one tick so that the batcher
// sends them as a few script calls (redis/batcher.ts), never anything per member of the channel.
//
// Why nothing is missed: a change published after a hub listens to a channel reaches it, and its
// refresh reads after the change. A snapshot is read first and the hub then listens to every channel
// in it; a channel it may have missed a change of meanwhile (the instance's subscription was new, or
// a message for it came during the read) is read again on its own, after listening, and sent behind
// the snapshot. Events read before the snapshot are dropped from the subscription's queue, those
// read after it are sent behind it.
import { randomBytes } from "node:crypto";
import { performance } from "node:perf_hooks";
import { isReadStateError, ReadStateError } from "./errors.js";
import { assertId } from "./ids.js";
import type { ChangeFeed, ChannelChange, FeedListener, UserChange } from "./ports.js";
import type {
  LiveEvent,
  LiveEventName,
  MemberState,
  SubscribeOptions,
  ThreadState,
  Unsubscribe,
  UserUnread,
} from "./types.js";

/** What live events read: the service's state reads. */
export interface LiveSource {
  memberState(channelId: string, userId: string): Promise<MemberState>;
  threadState(channelId: string, threadId: string, userId: string): Promise<ThreadState>;
  /** The user's unread body, with the threads followed in each of their channels. */
  userOverview(userId: string): Promise<{ unread: UserUnread; followed: Map<string, string[]> }>;
  /** The user's state in these channels, with every thread followed there; absent: not a member. */
  channelsOverview(
    userId: string,
    channelIds: string[],
  ): Promise<Map<string, { state: MemberState; threads: ThreadState[] }>>;
}

/** Where live events report what metrics count. */
export interface LiveObserver {
  delivered(event: LiveEventName, subscriptions: number, lagMs: number | null): void;
  coalesced(changes: number): void;
  resync(reason: "reconnected" | "data_lost"): void;
}

export interface LiveOptions {
  /** Subscriptions this instance holds at most; past it, subscribe answers 503 with Retry-After. */
  maxStreams: number;
  /** At most one event per channel (or thread) per subscription in this window (API.md: 250 ms). */
  coalesceMs?: number;
  /**
   * How long a user's hub outlives its last subscription, still listening and buffering, so that a
   * client reconnecting within it resumes from its Last-Event-ID instead of a snapshot.
   */
  lingerMs?: number;
  /** Bounds of each user's buffer of recent events (what a resume can replay). */
  bufferEvents?: number;
  bufferBytes?: number;
  /** A read that failed (Redis or PostgreSQL away) is tried again after this. */
  retryMs?: number;
}

export const LIVE_DEFAULTS = {
  coalesceMs: 250,
  lingerMs: 30_000,
  // A reconnect comes within seconds; 64 events or 16 KiB of them cover it, and 10,000 users' buffers
  // stay within about 160 MiB even when all are full.
  bufferEvents: 64,
  bufferBytes: 16 * 1024,
  retryMs: 1000,
} as const;

/** Past the stream limit, clients are told to come back after 2 to 10 s (spread, so not all at once). */
const CAP_RETRY_AFTER_S = { min: 2, spread: 9 } as const;
/** Users resynced at once per instance after the feed broke or Redis lost its data. */
const RESYNC_CONCURRENCY = 64;
/** Timers due within this of each other run in one callback, so their reads share a script call. */
const DUE_GRANULARITY_MS = 5;

/** The JSON of an event's data, made once however many subscriptions send it. */
const serialized = new WeakMap<LiveEvent, string>();
export function eventData(event: LiveEvent): string {
  let json = serialized.get(event);
  if (json === undefined) {
    json = JSON.stringify(event.data);
    serialized.set(event, json);
  }
  return json;
}

interface Refresh {
  readonly kind: "member" | "thread";
  readonly channelId: string;
  readonly threadId: string;
  /** "due": a read is scheduled; "reading": one is under way. */
  state: "idle" | "due" | "reading";
  /** A change arrived during the read: read again once the window allows. */
  again: boolean;
  /** Monotonic time the last read for it finished (an event was sent, or nothing was owed). */
  lastSentAt: number;
  /** Publication time (Redis ms) of the oldest change not yet delivered, for the delivery lag. */
  since: number | null;
}

class Subscription {
  /** While its snapshot is being read: hub events since it attached, with when their read finished. */
  queue: { event: LiveEvent; readDoneAt: number }[] | null = null;
  ended = false;
  constructor(
    readonly hub: UserHub,
    readonly onEvent: (event: LiveEvent) => void,
    readonly onEnd: ((reason: "closing") => void) | undefined,
  ) {}
}

class UserHub {
  readonly subscriptions = new Set<Subscription>();
  /** Channels whose feeds this hub listens to: the user's channels as last known. */
  readonly channels = new Set<string>();
  /**
   * When each channel's changes started reaching this hub (monotonic ms; absent while the SSUBSCRIBE
   * is under way): a state read before then may lack a change the hub never heard of.
   */
  readonly listening = new Map<string, number>();
  /** Threads the user follows, by channel, as last known (from snapshots and events). */
  threads = new Map<string, Set<string>>();
  readonly refreshes = new Map<string, Refresh>();
  readonly buffer: { n: number; event: LiveEvent; bytes: number }[] = [];
  bufferBytes = 0;
  /** Number of the last hub event; event ids are "<incarnation>.<n>". */
  seq = 0;
  ready: Promise<void> = Promise.resolve();
  lingerTimer: NodeJS.Timeout | undefined;
  resyncing: "idle" | "running" | "again" = "idle";
  disposed = false;

  constructor(
    readonly userId: string,
    /** Unique to this hub in this process's life: ids of another hub or process are not ours. */
    readonly incarnation: string,
  ) {}

  idOf(n: number): string {
    return `${this.incarnation}.${n}`;
  }

  knowThread(channelId: string, threadId: string): void {
    const known = this.threads.get(channelId);
    if (known) known.add(threadId);
    else this.threads.set(channelId, new Set([threadId]));
  }

  knowsThread(channelId: string, threadId: string): boolean {
    return this.threads.get(channelId)?.has(threadId) ?? false;
  }
}

/** Tasks due at about the same time run in one timer callback (their reads then share a tick). */
class DueQueue {
  private readonly buckets = new Map<number, { timer: NodeJS.Timeout; tasks: (() => void)[] }>();

  at(delayMs: number, task: () => void): void {
    const due = Math.ceil((performance.now() + delayMs) / DUE_GRANULARITY_MS) * DUE_GRANULARITY_MS;
    const bucket = this.buckets.get(due);
    if (bucket) {
      bucket.tasks.push(task);
      return;
    }
    const tasks = [task];
    const timer = setTimeout(
      () => {
        this.buckets.delete(due);
        for (const run of tasks) run();
      },
      Math.max(0, due - performance.now()),
    );
    timer.unref();
    this.buckets.set(due, { timer, tasks });
  }

  clear(): void {
    for (const { timer } of this.buckets.values()) clearTimeout(timer);
    this.buckets.clear();
  }
}

export class LiveEvents {
  private readonly hubs = new Map<string, UserHub>();
  /**
   * Per channel listened to: the hubs that need it, the pending SSUBSCRIBE while it is sent, when it
   * was confirmed and when its last message came (monotonic ms).
   */
  private readonly channelHubs = new Map<
    string,
    {
      hubs: Set<UserHub>;
      ready: Promise<void> | undefined;
      confirmedAt: number | undefined;
      lastMessageAt: number;
    }
  >();
  private readonly due = new DueQueue();
  private readonly instance = randomBytes(4).toString("hex");
  private incarnations = 0;
  private open = 0;
  private closed = false;
  private readonly settings: Required<LiveOptions>;
  private readonly listener: FeedListener = {
    channelChanged: (change) => this.channelChanged(change),
    userChanged: (change) => this.userChanged(change),
    resync: (reason) => this.resync(reason),
  };

  constructor(
    private readonly source: LiveSource,
    private readonly feed: ChangeFeed,
    options: LiveOptions,
    private readonly observer: LiveObserver,
  ) {
    this.settings = { ...LIVE_DEFAULTS, ...options };
  }

  /** What this instance holds: subscriptions, users with a hub, channels listened to. */
  status(): { subscriptions: number; users: number; channels: number } {
    return { subscriptions: this.open, users: this.hubs.size, channels: this.channelHubs.size };
  }

  async subscribe(
    userId: string,
    onEvent: (event: LiveEvent) => void,
    options: SubscribeOptions = {},
  ): Promise<Unsubscribe> {
    assertId("userId", userId);
    if (this.closed) {
      throw new ReadStateError("unavailable", "the server is shutting down; subscribe on another instance");
    }
    if (this.open >= this.settings.maxStreams) {
      throw new ReadStateError(
        "unavailable",
        `this instance holds ${this.settings.maxStreams} live streams, its limit (READSTATE_MAX_STREAMS); ` +
          "retry later or on another instance",
        { retryAfterSeconds: CAP_RETRY_AFTER_S.min + Math.floor(Math.random() * CAP_RETRY_AFTER_S.spread) },
      );
    }
    this.open++;
    let subscription: Subscription | undefined;
    try {
      await this.feed.start(this.listener);
      const hub = this.hubFor(userId);
      await hub.ready;
      subscription = new Subscription(hub, onEvent, options.onEnd);
      this.attach(hub, subscription);
      const resumed =
        options.lastEventId !== undefined && this.resume(hub, subscription, options.lastEventId);
      if (!resumed) await this.sendSnapshot(hub, subscription);
      if (subscription.ended) throw new ReadStateError("unavailable", "the server is shutting down");
    } catch (err) {
      if (subscription) this.detach(subscription);
      else this.open--;
      throw unavailable(err);
    }
    const done = subscription;
    return () => this.detach(done);
  }

  /** Ends every subscription (each hears onEnd "closing") and the feed. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const hub of [...this.hubs.values()]) {
      for (const subscription of hub.subscriptions) {
        subscription.ended = true;
        this.open--;
        try {
          subscription.onEnd?.("closing");
        } catch {
          // The subscriber's own failure must not keep the others from hearing it.
        }
      }
      hub.subscriptions.clear();
      this.dispose(hub);
    }
    this.due.clear();
    await this.feed.close();
  }

  // ---- subscriptions -------------------------------------------------------------------------

  private hubFor(userId: string): UserHub {
    let hub = this.hubs.get(userId);
    if (hub) return hub;
    const created = new UserHub(userId, `${this.instance}-${++this.incarnations}`);
    this.hubs.set(userId, created);
    // Before any snapshot: a join made meanwhile on another instance must reach this hub.
    created.ready = this.feed.listenUsers([userId]).catch((err: unknown) => {
      this.dispose(created);
      throw err;
    });
    hub = created;
    return hub;
  }

  private attach(hub: UserHub, subscription: Subscription): void {
    clearTimeout(hub.lingerTimer);
    hub.lingerTimer = undefined;
    hub.subscriptions.add(subscription);
  }

  private detach(subscription: Subscription): void {
    if (subscription.ended) return;
    subscription.ended = true;
    this.open--;
    const { hub } = subscription;
    hub.subscriptions.delete(subscription);
    if (hub.subscriptions.size > 0 || hub.disposed) return;
    hub.lingerTimer = setTimeout(() => {
      if (hub.subscriptions.size === 0) this.dispose(hub);
    }, this.settings.lingerMs);
    hub.lingerTimer.unref();
  }

  private dispose(hub: UserHub): void {
    if (hub.disposed) return;
    hub.disposed = true;
    clearTimeout(hub.lingerTimer);
    if (this.hubs.get(hub.userId) === hub) this.hubs.delete(hub.userId);
    for (const channelId of [...hub.channels]) this.unregister(hub, channelId);
    this.feed.forgetUsers([hub.userId]);
  }

  /** Replays the buffered events after `lastEventId`; false when they are not all here. */
  private resume(hub: UserHub, subscription: Subscription, lastEventId: string): boolean {
    const dot = lastEventId.lastIndexOf(".");
    if (dot < 0 || lastEventId.slice(0, dot) !== hub.incarnation) return false;
    const seen = Number(lastEventId.slice(dot + 1));
    if (!Number.isInteger(seen) || seen < 0 || seen > hub.seq) return false;
    const oldest = hub.buffer[0]?.n ?? hub.seq + 1;
    if (seen + 1 < oldest) return false;
    for (const { n, event } of hub.buffer) {
      if (n <= seen) continue;
      this.deliver(subscription, event);
      this.observer.delivered(event.event, 1, null);
    }
    return true;
  }

  private async sendSnapshot(hub: UserHub, subscription: Subscription): Promise<void> {
    subscription.queue = [];
    // Every change before the hub's next event is covered by this snapshot or sent after it.
    const id = hub.idOf(hub.seq);
    const readStartedAt = performance.now();
    const overview = await this.source.userOverview(hub.userId);
    if (subscription.ended) return;
    const late = await this.register(hub, [...overview.followed.keys()], readStartedAt);
    for (const [channelId, threadIds] of overview.followed) {
      for (const threadId of threadIds) hub.knowThread(channelId, threadId);
    }
    this.deliver(subscription, { id, event: "snapshot", data: overview.unread });
    this.observer.delivered("snapshot", 1, null);
    const queued = subscription.queue ?? [];
    subscription.queue = null;
    for (const { event, readDoneAt } of queued) {
      // Read before the snapshot began: the snapshot holds that state or a newer one.
      if (readDoneAt < readStartedAt) continue;
      this.deliver(subscription, event);
      this.observer.delivered(event.event, 1, null);
    }
    // Channels whose changes may have passed this hub by while it read: read them again.
    if (late.length > 0) void this.catchUp(hub, late);
  }

  /**
   * The user's state in channels whose changes may have been missed, sent as events: the member
   * state, and every thread followed there (also those the hub does not know of yet, which only a
   * read can tell). Falls back to the refreshes, which retry, when the read fails.
   */
  private async catchUp(hub: UserHub, channelIds: string[]): Promise<void> {
    // This read stands for the refreshes of these channels and their known threads: a change that
    // comes meanwhile waits for it, then reads again once the window allows, as during a refresh.
    const claimed = new Map<string, Refresh>();
    const claim = (kind: "member" | "thread", channelId: string, threadId: string) => {
      const key = refreshKey(kind, channelId, threadId);
      const refresh = this.refreshOf(hub, key, kind, channelId, threadId);
      if (refresh.state !== "idle") return;
      refresh.state = "reading";
      refresh.again = false;
      claimed.set(key, refresh);
    };
    for (const channelId of channelIds) {
      claim("member", channelId, "");
      for (const threadId of hub.threads.get(channelId) ?? []) claim("thread", channelId, threadId);
    }
    let found: Map<string, { state: MemberState; threads: ThreadState[] }> | undefined;
    try {
      found = await this.source.channelsOverview(hub.userId, channelIds);
    } catch {
      // Redis or PostgreSQL away: the refreshes below read (and retry) instead.
    }
    if (hub.disposed) return;
    const sent = new Set<string>();
    for (const [channelId, channel] of found ?? []) {
      this.emit(hub, "member", channel.state, null);
      sent.add(refreshKey("member", channelId, ""));
      for (const thread of channel.threads) {
        hub.knowThread(channelId, thread.threadId);
        this.emit(hub, "thread", thread, null);
        sent.add(refreshKey("thread", channelId, thread.threadId));
      }
    }
    const now = performance.now();
    for (const [key, refresh] of claimed) {
      refresh.state = "idle";
      // Not sent (no longer a member or a follower, or the read failed): its refresh reads and says so.
      if (sent.has(key)) refresh.lastSentAt = now;
      else refresh.again = true;
      if (refresh.again) {
        refresh.again = false;
        this.schedule(hub, key, refresh);
      } else this.forgetLater(hub, key, refresh);
    }
    for (const key of sent) {
      const refresh = hub.refreshes.get(key);
      if (!claimed.has(key) && refresh) refresh.lastSentAt = now;
      else if (!refresh) {
        const [channelId = "", threadId = ""] = key.split("|");
        this.sentOutside(hub, threadId === "" ? "member" : "thread", channelId, threadId);
      }
    }
  }

  private deliver(subscription: Subscription, event: LiveEvent): void {
    if (subscription.ended) return;
    try {
      subscription.onEvent(event);
    } catch {
      // A subscriber that throws is dropped rather than left half-served.
      this.detach(subscription);
    }
  }

  // ---- channels listened to ------------------------------------------------------------------

  /**
   * Listens to these channels for the hub; resolves once their changes reach it. Returns those of
   * which a state read begun at `since` (monotonic ms) may lack a change the hub never heard of: the
   * hub heard the channel only from after `since`, and either the instance's subscription was not
   * confirmed by then or a message for it came since (dispatched to other hubs only). A reconnect to
   * a quiet channel the instance already listens to is not late: one read serves.
   */
  private async register(hub: UserHub, channelIds: string[], since = performance.now()): Promise<string[]> {
    const fresh: string[] = [];
    const waits = new Set<Promise<void>>();
    for (const channelId of channelIds) {
      if (hub.listening.has(channelId)) continue;
      let entry = this.channelHubs.get(channelId);
      if (!hub.channels.has(channelId)) {
        hub.channels.add(channelId);
        if (!entry) {
          entry = { hubs: new Set(), ready: undefined, confirmedAt: undefined, lastMessageAt: -Infinity };
          this.channelHubs.set(channelId, entry);
          fresh.push(channelId);
        }
        entry.hubs.add(hub);
      }
      if (entry?.ready) waits.add(entry.ready);
    }
    if (fresh.length > 0) {
      const ready = this.feed.listenChannels(fresh);
      waits.add(ready);
      for (const channelId of fresh) {
        const entry = this.channelHubs.get(channelId);
        if (entry) entry.ready = ready;
      }
      const settle = (confirmed: boolean) => {
        const at = performance.now();
        for (const channelId of fresh) {
          const entry = this.channelHubs.get(channelId);
          if (entry?.ready !== ready) continue;
          entry.ready = undefined;
          if (confirmed) entry.confirmedAt = at;
        }
      };
      ready.then(
        () => settle(true),
        () => settle(false),
      );
    }
    await Promise.all(waits);
    // Conservative: the hub hears a channel from the moment it is in the channel's set and the
    // SSUBSCRIBE was answered, which is no later than now.
    const now = performance.now();
    const late: string[] = [];
    for (const channelId of channelIds) {
      if (!hub.channels.has(channelId)) continue;
      let from = hub.listening.get(channelId);
      if (from === undefined) {
        from = now;
        hub.listening.set(channelId, from);
      }
      if (from <= since) continue;
      const entry = this.channelHubs.get(channelId);
      const quiet =
        entry?.confirmedAt !== undefined && entry.confirmedAt <= since && entry.lastMessageAt < since;
      if (!quiet) late.push(channelId);
    }
    return late;
  }

  private unregister(hub: UserHub, channelId: string): void {
    hub.listening.delete(channelId);
    if (!hub.channels.delete(channelId)) return;
    const entry = this.channelHubs.get(channelId);
    if (!entry) return;
    entry.hubs.delete(hub);
    if (entry.hubs.size > 0) return;
    this.channelHubs.delete(channelId);
    this.feed.forgetChannels([channelId]);
  }

  // ---- changes -------------------------------------------------------------------------------

  private channelChanged(change: ChannelChange): void {
    const { channelId, publishedAt } = change;
    const entry = this.channelHubs.get(channelId);
    if (entry) entry.lastMessageAt = performance.now();
    const hubs = entry?.hubs;
    const userHub = () => {
      const userId = change.users[0];
      return userId === undefined ? undefined : this.hubs.get(userId);
    };
    switch (change.op) {
      case "join":
      case "mark_read":
      case "mark_unread":
      case "mute": {
        const hub = userHub();
        if (hub) this.changed(hub, "member", channelId, "", publishedAt);
        return;
      }
      case "leave": {
        const hub = userHub();
        if (!hub) return;
        for (const threadId of change.threads) hub.knowThread(channelId, threadId);
        this.changedChannel(hub, channelId, publishedAt);
        return;
      }
      case "post":
        for (const hub of hubs ?? []) this.changed(hub, "member", channelId, "", publishedAt);
        return;
      case "delete_channel":
        for (const hub of hubs ?? []) this.changedChannel(hub, channelId, publishedAt);
        return;
      case "delete_message": {
        const threadId = change.threads[0];
        for (const hub of hubs ?? []) {
          if (threadId === undefined) this.changed(hub, "member", channelId, "", publishedAt);
          else if (hub.knowsThread(channelId, threadId))
            this.changed(hub, "thread", channelId, threadId, publishedAt);
        }
        return;
      }
      case "reply": {
        const threadId = change.threads[0];
        if (threadId === undefined) return;
        const started = new Set(change.users);
        for (const hub of hubs ?? []) {
          if (started.has(hub.userId)) hub.knowThread(channelId, threadId);
          if (hub.knowsThread(channelId, threadId))
            this.changed(hub, "thread", channelId, threadId, publishedAt);
        }
        return;
      }
      case "follow":
      case "unfollow":
      case "thread_read":
      case "thread_unread": {
        const hub = userHub();
        const threadId = change.threads[0];
        if (!hub || threadId === undefined) return;
        // Known from here on: an unfollow then reads "not following" and says so.
        hub.knowThread(channelId, threadId);
        this.changed(hub, "thread", channelId, threadId, publishedAt);
        return;
      }
    }
  }

  private userChanged(change: UserChange): void {
    const hub = this.hubs.get(change.userId);
    if (!hub) return;
    const { channelId, publishedAt } = change;
    if (change.op === "leave" || hub.channels.has(channelId)) {
      this.changedChannel(hub, channelId, publishedAt);
      return;
    }
    // A join, maybe on another instance: listen to the channel first, then read (nothing between
    // the two is missed).
    this.register(hub, [channelId]).then(
      () => this.changed(hub, "member", channelId, "", publishedAt),
      // The feed broke: its resync brings every stream up to date.
      () => {},
    );
  }

  /** The member state in the channel and every thread known followed there. */
  private changedChannel(hub: UserHub, channelId: string, since: number | null): void {
    this.changed(hub, "member", channelId, "", since);
    for (const threadId of hub.threads.get(channelId) ?? []) {
      this.changed(hub, "thread", channelId, threadId, since);
    }
  }

  /**
   * A change concerns the user's state in a channel (or thread): read it now if no event went out
   * for it within the window, else once the window ends; changes meanwhile fold into that read.
   */
  private changed(
    hub: UserHub,
    kind: "member" | "thread",
    channelId: string,
    threadId: string,
    since: number | null,
  ): void {
    if (hub.disposed) return;
    const key = refreshKey(kind, channelId, threadId);
    const refresh = this.refreshOf(hub, key, kind, channelId, threadId);
    if (since !== null) refresh.since = refresh.since === null ? since : Math.min(refresh.since, since);
    if (refresh.state === "due" || (refresh.state === "reading" && refresh.again)) {
      this.observer.coalesced(1);
      return;
    }
    if (refresh.state === "reading") {
      refresh.again = true;
      return;
    }
    this.schedule(hub, key, refresh);
  }

  private refreshOf(
    hub: UserHub,
    key: string,
    kind: "member" | "thread",
    channelId: string,
    threadId: string,
  ): Refresh {
    let refresh = hub.refreshes.get(key);
    if (!refresh) {
      refresh = {
        kind,
        channelId,
        threadId,
        state: "idle",
        again: false,
        lastSentAt: -Infinity,
        since: null,
      };
      hub.refreshes.set(key, refresh);
    }
    return refresh;
  }

  /** An event for the channel (or thread) went out other than by its refresh: its window starts now. */
  private sentOutside(hub: UserHub, kind: "member" | "thread", channelId: string, threadId: string): void {
    const key = refreshKey(kind, channelId, threadId);
    const refresh = this.refreshOf(hub, key, kind, channelId, threadId);
    refresh.lastSentAt = performance.now();
    if (refresh.state === "idle") this.forgetLater(hub, key, refresh);
  }

  private forgetLater(hub: UserHub, key: string, refresh: Refresh): void {
    this.due.at(this.settings.coalesceMs, () => {
      if (refresh.state === "idle" && hub.refreshes.get(key) === refresh) hub.refreshes.delete(key);
    });
  }

  private schedule(hub: UserHub, key: string, refresh: Refresh): void {
    refresh.state = "due";
    const wait = refresh.lastSentAt + this.settings.coalesceMs - performance.now();
    // Now, in this tick: the reads of every hub a change concerns share a script call.
    if (wait <= 0) void this.refresh(hub, key, refresh);
    else this.due.at(wait, () => void this.refresh(hub, key, refresh));
  }

  private async refresh(hub: UserHub, key: string, refresh: Refresh): Promise<void> {
    if (hub.disposed) return;
    refresh.state = "reading";
    refresh.again = false;
    const since = refresh.since;
    refresh.since = null;
    try {
      if (refresh.kind === "member") await this.readMember(hub, refresh.channelId, since);
      else await this.readThread(hub, refresh.channelId, refresh.threadId, since);
      refresh.lastSentAt = performance.now();
    } catch {
      // Redis or PostgreSQL is away: nothing was sent. Try again later with the same changes; if the
      // feed broke too, its resync sends a snapshot anyway.
      if (since !== null) refresh.since = refresh.since === null ? since : Math.min(refresh.since, since);
      refresh.again = true;
      refresh.lastSentAt = performance.now() + this.settings.retryMs - this.settings.coalesceMs;
    }
    refresh.state = "idle";
    if (hub.disposed) return;
    if (refresh.again) {
      refresh.again = false;
      this.schedule(hub, key, refresh);
      return;
    }
    // Forget it once its window is over, unless it is busy again by then.
    this.forgetLater(hub, key, refresh);
  }

  private async readMember(hub: UserHub, channelId: string, since: number | null): Promise<void> {
    let state: MemberState;
    try {
      state = await this.source.memberState(channelId, hub.userId);
    } catch (err) {
      if (!(isReadStateError(err) && err.code === "not_a_member")) throw err;
      // Not a member (left, or the channel was deleted): said once, for a channel the hub knew.
      if (!hub.channels.has(channelId)) return;
      this.unregister(hub, channelId);
      this.emit(hub, "member", { channelId, userId: hub.userId, left: true }, since);
      for (const threadId of hub.threads.get(channelId) ?? []) {
        this.changed(hub, "thread", channelId, threadId, since);
      }
      return;
    }
    // A join heard on the channel's feed: listen to it for this user too.
    if (!hub.channels.has(channelId)) void this.register(hub, [channelId]).catch(() => {});
    this.emit(hub, "member", state, since);
  }

  private async readThread(hub: UserHub, channelId: string, threadId: string, since: number | null) {
    let state: ThreadState;
    try {
      state = await this.source.threadState(channelId, threadId, hub.userId);
    } catch (err) {
      if (!(isReadStateError(err) && err.code === "not_following")) throw err;
      const known = hub.threads.get(channelId);
      if (!known?.delete(threadId)) return;
      if (known.size === 0) hub.threads.delete(channelId);
      this.emit(hub, "thread", { channelId, threadId, userId: hub.userId, unfollowed: true }, since);
      return;
    }
    hub.knowThread(channelId, threadId);
    this.emit(hub, "thread", state, since);
  }

  /** A hub event: numbered, buffered for resumes, sent to every subscription (queued during a snapshot). */
  private emit(hub: UserHub, name: LiveEventName, data: LiveEvent["data"], since: number | null): void {
    if (hub.disposed) return;
    const readDoneAt = performance.now();
    hub.seq++;
    const event = { id: hub.idOf(hub.seq), event: name, data } as LiveEvent;
    const bytes = eventData(event).length;
    hub.buffer.push({ n: hub.seq, event, bytes });
    hub.bufferBytes += bytes;
    while (
      hub.buffer.length > this.settings.bufferEvents ||
      (hub.bufferBytes > this.settings.bufferBytes && hub.buffer.length > 1)
    ) {
      hub.bufferBytes -= hub.buffer.shift()?.bytes ?? 0;
    }
    let delivered = 0;
    for (const subscription of hub.subscriptions) {
      if (subscription.queue) subscription.queue.push({ event, readDoneAt });
      else {
        this.deliver(subscription, event);
        delivered++;
      }
    }
    if (delivered > 0) {
      const lag = since === null ? null : Math.max(0, this.feed.now() - since);
      this.observer.delivered(name, delivered, lag);
    }
  }

  // ---- resync --------------------------------------------------------------------------------

  private resync(reason: "reconnected" | "data_lost"): void {
    if (this.closed) return;
    this.observer.resync(reason);
    // Not all at once: after a Redis restart every instance resyncs every user it holds, and the
    // reads (and the channel loads behind them) queue in Redis and PostgreSQL rather than pile up.
    const hubs = [...this.hubs.values()];
    let next = 0;
    const drain = async () => {
      for (let hub = hubs[next++]; hub; hub = hubs[next++]) await this.resyncHub(hub);
    };
    for (let i = 0; i < Math.min(RESYNC_CONCURRENCY, hubs.length); i++) void drain();
  }

  /** A fresh snapshot to every subscription of the hub, and the hub's channels and threads anew. */
  private async resyncHub(hub: UserHub): Promise<void> {
    if (hub.resyncing !== "idle") {
      hub.resyncing = "again";
      return;
    }
    hub.resyncing = "running";
    try {
      for (;;) {
        try {
          const readStartedAt = performance.now();
          const overview = await this.source.userOverview(hub.userId);
          if (hub.disposed) return;
          for (const channelId of [...hub.channels]) {
            if (!overview.followed.has(channelId)) this.unregister(hub, channelId);
          }
          const late = await this.register(hub, [...overview.followed.keys()], readStartedAt);
          hub.threads = new Map([...overview.followed].map(([c, threads]) => [c, new Set(threads)]));
          this.emit(hub, "snapshot", overview.unread, null);
          if (late.length > 0) void this.catchUp(hub, late);
          // Set by a resync asked for while this one read (TypeScript cannot see that across awaits).
          if ((hub.resyncing as UserHub["resyncing"]) === "again") {
            hub.resyncing = "running";
            continue;
          }
          return;
        } catch {
          if (hub.disposed) return;
          // Redis may still be away, or reloading channels from PostgreSQL: try again.
          await new Promise((resolve) => setTimeout(resolve, this.settings.retryMs).unref());
          if (hub.disposed) return;
        }
      }
    } finally {
      hub.resyncing = "idle";
    }
  }
}

/** A refresh's key in its hub; IDs contain no '|', so a channel's key never equals a thread's. */
function refreshKey(kind: "member" | "thread", channelId: string, threadId: string): string {
  return kind === "member" ? channelId : `${channelId}|${threadId}`;
}

function unavailable(err: unknown): ReadStateError {
  if (isReadStateError(err)) return err;
  return new ReadStateError(
    "unavailable",
    `the change feed (Redis pub/sub) is unavailable: ${(err as Error).message}`,
    { cause: err },
  );
}
