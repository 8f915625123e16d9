// The operation stream: a deterministic function of the seed and the stream label, skewed the way
// chat traffic is (a minority of users and channels carry most of it; most channel views find
// nothing new because most channels are quiet).
import type { BenchOptions, OpMix } from "./options.js";
import { childSeed, mulberry32, type Random, randomInt, zipfRank } from "./prng.js";
import type { SizeClass, Topology } from "./topology.js";

export type OpKind =
  | "post"
  | "markRead"
  | "markUnread"
  | "memberState"
  | "userUnread"
  | "deleteMessage"
  | "mute"
  | "threadReply"
  | "threadRead";

export type Op =
  | {
      kind: "post";
      channelId: string;
      messageId: string;
      senderId: string;
      mentions: string[];
      mentionAll: boolean;
      /** Members of the channel: the ADR counts a post as this many status updates. */
      audience: number;
      sizeClass: SizeClass;
    }
  | { kind: "markRead"; channelId: string; userId: string }
  | { kind: "markUnread"; channelId: string; userId: string; messageId: string }
  | { kind: "memberState"; channelId: string; userId: string }
  | { kind: "userUnread"; userId: string }
  // v1.1 (--scenario v1.1 only)
  | { kind: "deleteMessage"; channelId: string; messageId: string }
  | { kind: "mute"; channelId: string; userId: string; muted: boolean }
  | { kind: "threadReply"; channelId: string; threadId: string; messageId: string; senderId: string }
  | { kind: "threadRead"; channelId: string; threadId: string; userId: string };

/** ADR-02's unit: a post to an M-member channel is M status updates; a read or unread is one. */
export function statusUpdates(op: Op): number {
  if (op.kind === "post") return op.audience;
  return op.kind === "markRead" || op.kind === "markUnread" || op.kind === "threadRead" ? 1 : 0;
}

export type WorkloadOptions = Pick<
  BenchOptions,
  "seed" | "scenario" | "mix" | "mentionPercent" | "mentionAllPercent" | "repeatPercent" | "skew"
>;

interface RecentMessage {
  messageId: string;
  emittedAt: number;
}

/** A reply of the v1.1 scenario: its thread and its sender, who follows that thread from then on. */
interface RecentReply {
  threadId: string;
  userId: string;
  emittedAt: number;
}

const RECENT_PER_CHANNEL = 8;

export class WorkloadGenerator {
  private readonly random: Random;
  private readonly thresholds: [OpKind, number][];
  private readonly recent = new Map<number, RecentMessage[]>();
  private readonly recentReplies = new Map<number, RecentReply[]>();
  private readonly channelPool: number[] | null;
  private emitted = 0;
  private messageCounter = 0;

  /**
   * @param stream names this stream: its seed and its messageId prefix, so parallel streams
   *   (HTTP worker threads) never collide and each is reproducible on its own.
   * @param settleOps a message is only reused (mark unread, repeat post) once this many ops have
   *   been emitted after it, so it has been acknowledged even with that many operations in flight.
   */
  constructor(
    private readonly topology: Topology,
    private readonly options: WorkloadOptions,
    private readonly stream: string,
    private readonly settleOps = 1024,
  ) {
    this.random = mulberry32(childSeed(options.seed, `ops:${stream}`));
    this.thresholds = cumulative(
      options.scenario === "burst" ? BURST_MIX : options.mix,
      options.scenario === "v1.1" ? V11_SHARES : {},
    );
    // Burst: all traffic lands in the 1,000-member channels (ADR-02's case).
    this.channelPool = options.scenario === "burst" ? topology.bySize.large : null;
  }

  next(): Op {
    this.emitted++;
    const roll = this.random() * 100;
    let kind: OpKind = "memberState";
    for (const [candidate, upTo] of this.thresholds) {
      if (roll < upTo) {
        kind = candidate;
        break;
      }
    }
    switch (kind) {
      case "post":
        return this.post();
      case "markUnread":
        return this.markUnread();
      case "deleteMessage":
      case "threadReply":
      case "threadRead":
      case "mute":
        return this.v11(kind);
      case "userUnread":
        return { kind: "userUnread", userId: this.topology.users[this.activeUser()] as string };
      default: {
        const [channel, user] = this.memberPick();
        const channelId = this.channelId(channel);
        const userId = this.topology.users[user] as string;
        return kind === "markRead" ? { kind, channelId, userId } : { kind: "memberState", channelId, userId };
      }
    }
  }

  private post(): Op {
    const channel = this.hotChannel();
    const info = this.topology.channels[channel];
    if (info === undefined) throw new Error(`no channel ${channel}`);
    const members = info.members;
    const sender = members[zipfRank(this.random, members.length, this.options.skew)] as number;
    const repeat = this.random() * 100 < this.options.repeatPercent ? this.settled(channel) : undefined;
    const messageId = repeat ?? `m.${this.stream}.${++this.messageCounter}`;
    const mentionAll = this.random() * 100 < this.options.mentionAllPercent;
    const mentions: string[] = [];
    if (!mentionAll && this.random() * 100 < this.options.mentionPercent) {
      const count = randomInt(this.random, 1, Math.min(3, members.length));
      for (let i = 0; i < count; i++) {
        mentions.push(
          this.topology.users[members[randomInt(this.random, 0, members.length - 1)] as number] as string,
        );
      }
    }
    if (repeat === undefined) this.remember(channel, messageId);
    return {
      kind: "post",
      channelId: info.id,
      messageId,
      senderId: this.topology.users[sender] as string,
      mentions,
      mentionAll,
      audience: members.length,
      sizeClass: info.sizeClass,
    };
  }

  private markUnread(): Op {
    const [channel, user] = this.memberPick();
    const messageId = this.settled(channel);
    const channelId = this.channelId(channel);
    const userId = this.topology.users[user] as string;
    // Nothing acknowledged in this channel yet: the client would just open it.
    if (messageId === undefined) return { kind: "markRead", channelId, userId };
    return { kind: "markUnread", channelId, userId, messageId };
  }

  /**
   * A v1.1 operation on a settled message of a member's channel (a deleted one is forgotten, so it is
   * neither read to nor replied to again); a plain mark read while the channel has none yet.
   */
  private v11(kind: "deleteMessage" | "threadReply" | "threadRead" | "mute"): Op {
    const [channel, user] = this.memberPick();
    const channelId = this.channelId(channel);
    const userId = this.topology.users[user] as string;
    if (kind === "mute") return { kind, channelId, userId, muted: this.random() < 0.5 };
    if (kind === "threadRead") {
      // A follower's read: the sender of an acknowledged reply follows its thread.
      const reply = this.settledReply(channel);
      if (reply === undefined) return { kind: "markRead", channelId, userId };
      return { kind, channelId, threadId: reply.threadId, userId: reply.userId };
    }
    const messageId = this.settled(channel);
    if (messageId === undefined) return { kind: "markRead", channelId, userId };
    if (kind === "deleteMessage") {
      this.forget(channel, messageId);
      return { kind, channelId, messageId };
    }
    const replies = this.recentReplies.get(channel) ?? [];
    replies.push({ threadId: messageId, userId, emittedAt: this.emitted });
    if (replies.length > RECENT_PER_CHANNEL) replies.shift();
    this.recentReplies.set(channel, replies);
    return {
      kind,
      channelId,
      threadId: messageId,
      messageId: `r.${this.stream}.${++this.messageCounter}`,
      senderId: userId,
    };
  }

  private forget(channel: number, messageId: string): void {
    const list = this.recent.get(channel);
    if (list !== undefined)
      this.recent.set(
        channel,
        list.filter((m) => m.messageId !== messageId),
      );
    const replies = this.recentReplies.get(channel);
    if (replies !== undefined)
      this.recentReplies.set(
        channel,
        replies.filter((r) => r.threadId !== messageId),
      );
  }

  private settledReply(channel: number): RecentReply | undefined {
    const list = this.recentReplies.get(channel) ?? [];
    for (let i = list.length - 1; i >= 0; i--) {
      const reply = list[i] as RecentReply;
      if (this.emitted - reply.emittedAt >= this.settleOps) return reply;
    }
    return undefined;
  }

  /** A member and one of its channels: active users, and their hotter channels more often. */
  private memberPick(): [channel: number, user: number] {
    if (this.channelPool === null) {
      const user = this.activeUser();
      const mine = this.topology.channelsOfUser[user] ?? [];
      if (mine.length > 0) {
        return [mine[zipfRank(this.random, mine.length, this.options.skew)] as number, user];
      }
    }
    const channel = this.hotChannel();
    const members = this.topology.channels[channel]?.members ?? [];
    return [channel, members[zipfRank(this.random, members.length, this.options.skew)] as number];
  }

  private hotChannel(): number {
    if (this.channelPool !== null && this.channelPool.length > 0) {
      return this.channelPool[zipfRank(this.random, this.channelPool.length, this.options.skew)] as number;
    }
    return zipfRank(this.random, this.topology.channels.length, this.options.skew);
  }

  private activeUser(): number {
    return zipfRank(this.random, this.topology.users.length, this.options.skew);
  }

  private channelId(channel: number): string {
    return this.topology.channels[channel]?.id as string;
  }

  private remember(channel: number, messageId: string): void {
    let list = this.recent.get(channel);
    if (list === undefined) {
      list = [];
      this.recent.set(channel, list);
    }
    list.push({ messageId, emittedAt: this.emitted });
    if (list.length > RECENT_PER_CHANNEL) list.shift();
  }

  /** The newest message of the channel that is surely acknowledged by now. */
  private settled(channel: number): string | undefined {
    const list = this.recent.get(channel);
    if (list === undefined) return undefined;
    for (let i = list.length - 1; i >= 0; i--) {
      const message = list[i] as RecentMessage;
      if (this.emitted - message.emittedAt >= this.settleOps) return message.messageId;
    }
    return undefined;
  }
}

/** Burst: members of big channels posting and catching up at once (a live event, an outage thread). */
const BURST_MIX: OpMix = { post: 25, read: 65, unread: 0, state: 10, userUnread: 0 };

/** v1.1's operations beside the mix, a few percent each (issue 12: "a few percent each"). */
const V11_SHARES: Partial<Record<OpKind, number>> = {
  deleteMessage: 2,
  mute: 2,
  threadReply: 4,
  threadRead: 4,
};

function cumulative(mix: OpMix, extra: Partial<Record<OpKind, number>>): [OpKind, number][] {
  const entries: [OpKind, number][] = [
    ["post", mix.post],
    ["markRead", mix.read],
    ["markUnread", mix.unread],
    ["memberState", mix.state],
    ["userUnread", mix.userUnread],
    ...(Object.entries(extra) as [OpKind, number][]),
  ];
  const total = entries.reduce((sum, [, share]) => sum + share, 0);
  let running = 0;
  return entries.map(([kind, share]) => {
    running += (share / total) * 100;
    return [kind, running];
  });
}
