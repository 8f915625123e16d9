// The load driver: a few channels, each driven by its own sequential loop (so acknowledgements on a
// channel come in the order Redis applied them), a mix of join/post/read/unread plus GETs that act as
// observations. Every answer goes into the Ledger. Bounded in time and in count.
import { type Client, enc, errorCode } from "./http.js";
import { Ledger, type Op, type OpKind } from "./ledger.js";
import { sleep } from "./procs.js";

export interface LoadOptions {
  channels: number;
  usersPerChannel: number;
  /** Unique per run, so channel ids never meet an earlier run's state. */
  tag: string;
  /** Pause between two operations of one channel loop. */
  pauseMs?: number;
}

export interface RunBounds {
  durationMs: number;
  maxOps: number;
}

/** Deterministic PRNG (mulberry32): a failing run can be replayed with the same seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class LoadDriver {
  readonly ledger = new Ledger();
  readonly channelIds: string[];
  readonly userIds: string[];
  /** Answers that break the contract (5xx other than 503, error bodies not in the contract's shape). */
  readonly violations: string[] = [];
  private stopped = false;
  private messageCounter = 0;
  private readonly random: () => number;

  constructor(
    private readonly http: Client,
    private readonly options: LoadOptions,
    seed = 42,
  ) {
    this.random = prng(seed);
    this.channelIds = Array.from({ length: options.channels }, (_, i) => `c-${options.tag}-${i}`);
    this.userIds = Array.from({ length: options.usersPerChannel }, (_, i) => `u${i}`);
  }

  /** Every user joins every channel; each join must be acknowledged. */
  async setup(): Promise<void> {
    for (const channelId of this.channelIds) {
      for (const userId of this.userIds) {
        const op = await this.send("join", channelId, userId);
        if (op.outcome !== "ack") throw new Error(`setup join failed: ${op.status} ${op.code ?? ""}`);
      }
    }
  }

  /** Runs the channel loops until the bounds or stop(). */
  async run(bounds: RunBounds): Promise<void> {
    this.stopped = false;
    const deadline = Date.now() + bounds.durationMs;
    const perLoop = Math.ceil(bounds.maxOps / this.channelIds.length);
    await Promise.all(
      this.channelIds.map(async (channelId) => {
        for (let i = 0; i < perLoop && !this.stopped && Date.now() < deadline; i++) {
          await this.step(channelId);
          if (this.options.pauseMs) await sleep(this.options.pauseMs);
        }
      }),
    );
  }

  /** Starts run() in the background; the returned promise settles when the loops end. */
  start(bounds: RunBounds): Promise<void> {
    return this.run(bounds);
  }

  stop(): void {
    this.stopped = true;
  }

  private pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.random() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }

  private async step(channelId: string): Promise<Op> {
    const userId = this.pick(this.userIds);
    const roll = this.random();
    const posts = this.ledger.alivePosts(channelId);
    if (roll < 0.4 || posts.length === 0) return this.send("post", channelId, userId);
    if (roll < 0.65) {
      const target = this.random() < 0.5 ? this.pick(posts).messageId : undefined;
      return this.send("read", channelId, userId, target);
    }
    if (roll < 0.8) return this.send("unread", channelId, userId, this.pick(posts).messageId);
    if (roll < 0.9) return this.send("join", channelId, userId);
    return this.send("get", channelId, userId);
  }

  async send(kind: OpKind, channelId: string, userId: string, messageId?: string): Promise<Op> {
    const id = this.ledger.newId();
    const c = enc(channelId);
    const u = enc(userId);
    let method = "POST";
    let path: string;
    let body: unknown;
    switch (kind) {
      case "join":
        method = "PUT";
        path = `/v1/channels/${c}/members/${u}`;
        break;
      case "get":
        method = "GET";
        path = `/v1/channels/${c}/members/${u}`;
        break;
      case "post": {
        messageId = `m${++this.messageCounter}`;
        const mentions = this.userIds.filter(() => this.random() < 0.2);
        path = `/v1/channels/${c}/messages`;
        body = { messageId, senderId: userId, mentions, mentionAll: this.random() < 0.05 };
        break;
      }
      case "read":
        path = `/v1/channels/${c}/read`;
        body = messageId === undefined ? { userId } : { userId, messageId };
        break;
      case "unread":
        path = `/v1/channels/${c}/unread`;
        body = { userId, messageId };
        break;
    }
    const sentAt = Date.now();
    const reply = await this.http.request(method, path, body);
    const op: Op = {
      id,
      kind,
      channelId,
      userId,
      sentAt,
      doneAt: Date.now(),
      status: reply.status,
      outcome: "failed",
    };
    if (messageId !== undefined) op.messageId = messageId;
    if (reply.status >= 200 && reply.status < 300) {
      op.outcome = "ack";
      const answer = reply.body as { seq?: number; readSeq?: number; channelSeq?: number };
      if (kind === "post") {
        op.seq = answer.seq;
        // Posting moves the sender's cursor to the new message (API.md rule 3): the ledger tracks it.
        op.readSeq = answer.seq;
      } else {
        op.readSeq = answer.readSeq;
        op.channelSeq = answer.channelSeq;
      }
    } else if (reply.status === 0 || reply.status === 503) {
      op.outcome = "failed";
      op.code = reply.status === 0 ? `network: ${reply.error}` : errorCode(reply.body);
      if (reply.status === 503) op.message = (reply.body as { error?: { message?: string } }).error?.message;
      if (reply.status === 503 && errorCode(reply.body) !== "unavailable") {
        this.violations.push(
          `${kind} ${path}: 503 without the unavailable error shape: ${JSON.stringify(reply.body)}`,
        );
      }
    } else {
      op.outcome = "rejected";
      op.code = errorCode(reply.body);
      if (reply.status >= 500 || op.code === undefined) {
        this.violations.push(`${kind} ${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      }
    }
    // A GET changes nothing: it is an observation, logged like the writes so the detector sees it.
    this.ledger.record(op);
    return op;
  }
}
