// An in-memory model of API.md (no Redis, no PostgreSQL): the oracle of the model-based test.
// Where API.md is silent, it follows the decisions the engine documents (see the test's header).
//
// lastReadAt is modelled as a "stamp": null while the cursor never changed since join, otherwise a
// number that changes exactly when the cursor changes. The test maps each stamp to the first server
// time it observes for it and then demands that same time for as long as the stamp lives.

export type ErrorCode = "not_a_member" | "unknown_message" | "not_found";

export type Result<T> = { ok: true; value: T } | { ok: false; code: ErrorCode };

export interface ModelMemberState {
  channelId: string;
  userId: string;
  unread: number;
  mentions: number;
  readSeq: number;
  channelSeq: number;
  lastReadMessageId: string | null;
  /** A stamp, not a time: null when never changed since join. */
  lastReadAt: number | null;
}

export interface ModelPostInput {
  messageId: string;
  senderId: string;
  mentions?: string[];
  mentionAll?: boolean;
}

export interface ModelPostResult {
  channelId: string;
  messageId: string;
  seq: number;
  created: boolean;
}

export interface ModelUserUnread {
  userId: string;
  unread: number;
  mentions: number;
  channels: ModelMemberState[];
}

export interface ModelChannelInfo {
  channelId: string;
  channelSeq: number;
  memberCount: number;
  lastMessageId: string | null;
}

export interface ModelReceipts {
  channelId: string;
  messageId: string;
  seq: number;
  memberCount: number;
  readCount: number;
  readers: { userId: string; readSeq: number }[];
  next: string | null;
}

interface Message {
  messageId: string;
  seq: number;
  senderId: string;
  mentions: ReadonlySet<string>;
  mentionAll: boolean;
}

interface Member {
  readSeq: number;
  stamp: number | null;
}

interface Channel {
  seq: number;
  byId: Map<string, Message>;
  /** bySeq[seq - 1] is the message with that seq. */
  bySeq: Message[];
  members: Map<string, Member>;
}

export const RECEIPTS_DEFAULT_LIMIT = 100;

/** Code-point order, as every sort in the contract. */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const ok = <T>(value: T): Result<T> => ({ ok: true, value });
const fail = <T>(code: ErrorCode): Result<T> => ({ ok: false, code });

export class ReadStateModel {
  /** Live channels only: a deleted channel is gone, a later join or post starts it at seq 0. */
  private readonly channels = new Map<string, Channel>();
  private stamps = 0;

  /** Stamps are unique over the whole run, so a stamp names one change of one cursor. */
  private nextStamp(): number {
    this.stamps += 1;
    return this.stamps;
  }

  private channelFor(channelId: string): Channel {
    let channel = this.channels.get(channelId);
    if (!channel) {
      channel = { seq: 0, byId: new Map(), bySeq: [], members: new Map() };
      this.channels.set(channelId, channel);
    }
    return channel;
  }

  private state(channelId: string, userId: string, channel: Channel, member: Member): ModelMemberState {
    const { readSeq } = member;
    let mentions = 0;
    for (const message of channel.bySeq) {
      if (message.seq <= readSeq || message.senderId === userId) continue;
      if (message.mentionAll || message.mentions.has(userId)) mentions += 1;
    }
    return {
      channelId,
      userId,
      unread: Math.max(0, channel.seq - readSeq),
      mentions,
      readSeq,
      channelSeq: channel.seq,
      lastReadMessageId: readSeq > 0 ? (channel.bySeq[readSeq - 1]?.messageId ?? null) : null,
      lastReadAt: member.stamp,
    };
  }

  /** The channel and the member, or the error member-level calls answer (not_a_member). */
  private member(channelId: string, userId: string): { channel: Channel; member: Member } | undefined {
    const channel = this.channels.get(channelId);
    const member = channel?.members.get(userId);
    return channel && member ? { channel, member } : undefined;
  }

  join(channelId: string, userId: string): Result<ModelMemberState> {
    const channel = this.channelFor(channelId);
    let member = channel.members.get(userId);
    if (!member) {
      member = { readSeq: channel.seq, stamp: null };
      channel.members.set(userId, member);
    }
    return ok(this.state(channelId, userId, channel, member));
  }

  leave(channelId: string, userId: string): Result<null> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    found.channel.members.delete(userId);
    return ok(null);
  }

  post(channelId: string, input: ModelPostInput): Result<ModelPostResult> {
    const channel = this.channelFor(channelId);
    const existing = channel.byId.get(input.messageId);
    if (existing) return ok({ channelId, messageId: input.messageId, seq: existing.seq, created: false });
    channel.seq += 1;
    const message: Message = {
      messageId: input.messageId,
      seq: channel.seq,
      senderId: input.senderId,
      mentions: new Set(input.mentions ?? []),
      mentionAll: input.mentionAll ?? false,
    };
    channel.byId.set(message.messageId, message);
    channel.bySeq.push(message);
    const sender = channel.members.get(input.senderId);
    if (sender) {
      sender.readSeq = message.seq;
      sender.stamp = this.nextStamp();
    }
    return ok({ channelId, messageId: input.messageId, seq: message.seq, created: true });
  }

  markRead(channelId: string, userId: string, messageId?: string): Result<ModelMemberState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    const { channel, member } = found;
    let target = channel.seq;
    if (messageId !== undefined) {
      const message = channel.byId.get(messageId);
      if (!message) return fail("unknown_message");
      target = message.seq;
    }
    if (target > member.readSeq) {
      member.readSeq = target;
      member.stamp = this.nextStamp();
    }
    return ok(this.state(channelId, userId, channel, member));
  }

  markUnread(channelId: string, userId: string, messageId: string): Result<ModelMemberState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    const { channel, member } = found;
    const message = channel.byId.get(messageId);
    if (!message) return fail("unknown_message");
    const target = message.seq - 1;
    if (target !== member.readSeq) {
      member.readSeq = target;
      member.stamp = this.nextStamp();
    }
    return ok(this.state(channelId, userId, channel, member));
  }

  memberState(channelId: string, userId: string): Result<ModelMemberState> {
    const found = this.member(channelId, userId);
    if (!found) return fail("not_a_member");
    return ok(this.state(channelId, userId, found.channel, found.member));
  }

  userUnread(userId: string): Result<ModelUserUnread> {
    const channels: ModelMemberState[] = [];
    for (const channelId of [...this.channels.keys()].sort(compare)) {
      const state = this.memberState(channelId, userId);
      if (state.ok) channels.push(state.value);
    }
    return ok({
      userId,
      unread: channels.reduce((sum, s) => sum + s.unread, 0),
      mentions: channels.reduce((sum, s) => sum + s.mentions, 0),
      channels,
    });
  }

  channelInfo(channelId: string): Result<ModelChannelInfo> {
    const channel = this.channels.get(channelId);
    if (!channel) return fail("not_found");
    return ok({
      channelId,
      channelSeq: channel.seq,
      memberCount: channel.members.size,
      lastMessageId: channel.bySeq.at(-1)?.messageId ?? null,
    });
  }

  receipts(
    channelId: string,
    messageId: string,
    query: { limit?: number; after?: string } = {},
  ): Result<ModelReceipts> {
    const channel = this.channels.get(channelId);
    if (!channel) return fail("not_found");
    const message = channel.byId.get(messageId);
    if (!message) return fail("unknown_message");
    const readers = [...channel.members]
      .filter(([, m]) => m.readSeq >= message.seq)
      .map(([userId, m]) => ({ userId, readSeq: m.readSeq }))
      .sort((a, b) => compare(a.userId, b.userId));
    const after = query.after;
    const candidates = after === undefined ? readers : readers.filter((r) => r.userId > after);
    const limit = query.limit ?? RECEIPTS_DEFAULT_LIMIT;
    const page = candidates.slice(0, limit);
    return ok({
      channelId,
      messageId,
      seq: message.seq,
      memberCount: channel.members.size,
      readCount: readers.length,
      readers: page,
      next: candidates.length > page.length ? (page.at(-1)?.userId ?? null) : null,
    });
  }

  deleteChannel(channelId: string): Result<null> {
    if (!this.channels.delete(channelId)) return fail("not_found");
    return ok(null);
  }

  /**
   * A copy of the state as it is now, to come back to with restore(): what a completed flush made
   * durable. The copy holds every channel (seqs, messages with their mentions, memberships, cursors
   * with their stamps); user lists, lastReadMessageId and unread/mention counts follow from those,
   * and a deleted channel is one the copy lacks. The stamp counter is not part of it.
   */
  snapshot(): ReadStateModel {
    const copy = new ReadStateModel();
    copyChannels(this.channels, copy.channels);
    return copy;
  }

  /**
   * Back to a snapshot's state: Redis lost everything after it. Stamps keep counting from where they
   * are, so a cursor changed again after the restore never reuses the stamp of a lost change.
   */
  restore(snapshot: ReadStateModel): void {
    copyChannels(snapshot.channels, this.channels);
  }

  /** How many cursor changes happened so far: stamps 1..stampCount exist. */
  get stampCount(): number {
    return this.stamps;
  }

  /** Every channel the model knows (live), sorted. */
  channelIds(): string[] {
    return [...this.channels.keys()].sort(compare);
  }

  /** The members of a live channel, sorted ([] for a missing channel). */
  memberIds(channelId: string): string[] {
    return [...(this.channels.get(channelId)?.members.keys() ?? [])].sort(compare);
  }

  /** The messageIds of a live channel, in seq order ([] for a missing channel). */
  messageIds(channelId: string): string[] {
    return this.channels.get(channelId)?.bySeq.map((m) => m.messageId) ?? [];
  }
}

/** Replaces `to`'s channels by copies of `from`'s; messages are never changed, so they are shared. */
function copyChannels(from: ReadonlyMap<string, Channel>, to: Map<string, Channel>): void {
  to.clear();
  for (const [channelId, channel] of from) {
    to.set(channelId, {
      seq: channel.seq,
      byId: new Map(channel.byId),
      bySeq: [...channel.bySeq],
      members: new Map([...channel.members].map(([userId, member]) => [userId, { ...member }])),
    });
  }
}
