// The log of every operation the load sent, with its outcome, plus the online loss detector.
//
// Operations on one channel are sent one at a time (see load.ts), so on a channel the order of
// acknowledgements is the order Redis applied them. That makes two things checkable as they happen:
// - the channel's sequence never goes below the highest seq already acknowledged (a post lost in
//   Redis shows up as its seq being handed out again, or as a lower channelSeq in any answer);
// - a member's cursor, for operations whose result depends on the previous cursor (join of a member,
//   GET, mark read at a message), equals what the previous acknowledged answer implies.
// A request that got no answer or a 503 may or may not have been applied (Redis can die after running
// the script and before replying): it makes the member "ambiguous" until the next acknowledgement.

export type OpKind = "join" | "post" | "read" | "unread" | "get";

export interface Op {
  id: number;
  kind: OpKind;
  channelId: string;
  userId: string;
  messageId?: string;
  sentAt: number;
  doneAt: number;
  status: number;
  /** ack: 2xx. rejected: a 4xx, nothing applied. failed: 503 or no answer, maybe applied. */
  outcome: "ack" | "rejected" | "failed";
  code?: string;
  /** The error message of a failed or rejected answer. */
  message?: string;
  /** readSeq in the answer (member-state answers), or the post's seq. */
  readSeq?: number;
  seq?: number;
  channelSeq?: number;
}

export interface Loss {
  op: Op;
  /** How it was seen: "seq-regression", "cursor-regression", "final-*". */
  how: string;
  detectedAt: number;
}

export interface MemberTrack {
  readSeq: number;
  lastAck: Op;
  ambiguous: boolean;
}

export class Ledger {
  readonly ops: Op[] = [];
  readonly losses: Loss[] = [];
  private readonly lostIds = new Set<number>();
  private nextId = 1;
  private readonly maxSeq = new Map<string, number>();
  /** Acknowledged posts still believed alive, per channel, by seq. */
  private readonly posts = new Map<string, Map<number, Op>>();
  private readonly members = new Map<string, MemberTrack>();
  /** Set when an answer showed a seq reused for a different message. */
  readonly seqReuses: { channelId: string; seq: number; messageId: string; at: number }[] = [];

  newId(): number {
    return this.nextId++;
  }

  get acked(): Op[] {
    return this.ops.filter((op) => op.outcome === "ack");
  }

  isLost(op: Op): boolean {
    return this.lostIds.has(op.id);
  }

  markLost(op: Op, how: string): void {
    if (this.lostIds.has(op.id)) return;
    this.lostIds.add(op.id);
    this.losses.push({ op, how, detectedAt: Date.now() });
  }

  /** Seq of an acknowledged, not lost, post of the channel, or undefined. */
  seqOf(channelId: string, messageId: string): number | undefined {
    for (const [seq, op] of this.posts.get(channelId) ?? []) if (op.messageId === messageId) return seq;
    return undefined;
  }

  /** Alive acknowledged posts of a channel (for choosing read/unread targets and for the final check). */
  alivePosts(channelId: string): Op[] {
    return [...(this.posts.get(channelId)?.values() ?? [])];
  }

  record(op: Op): void {
    this.ops.push(op);
    const key = `${op.channelId}\u0000${op.userId}`;
    if (op.outcome === "failed") {
      const track = this.members.get(key);
      if (track) track.ambiguous = true;
      return;
    }
    if (op.outcome !== "ack") return;
    if (op.kind === "post" && op.seq !== undefined) this.observeSeq(op, op.seq, true);
    if (op.channelSeq !== undefined) this.observeSeq(op, op.channelSeq, false);
    if (op.readSeq !== undefined) this.observeCursor(key, op);
  }

  private observeSeq(op: Op, seq: number, isNewPost: boolean): void {
    const channel = op.channelId;
    const max = this.maxSeq.get(channel) ?? 0;
    const posts = this.posts.get(channel) ?? new Map<number, Op>();
    this.posts.set(channel, posts);
    // A new post must get a seq above every acknowledged one; any answer's channelSeq must not be below.
    // Above is fine: a maybe-applied post may have taken a seq in between.
    const survivorsUpTo = isNewPost ? seq - 1 : seq;
    if (survivorsUpTo < max) {
      for (const [s, post] of posts) {
        if (s <= survivorsUpTo) continue;
        this.markLost(post, "seq-regression");
        posts.delete(s);
        if (isNewPost && s === seq) {
          this.seqReuses.push({ channelId: channel, seq, messageId: post.messageId ?? "", at: op.doneAt });
        }
      }
    }
    if (isNewPost) posts.set(seq, op);
    // What the channel holds now is the new baseline, whether it went up or (after a loss) down.
    this.maxSeq.set(channel, seq);
  }

  private observeCursor(key: string, op: Op): void {
    const observed = op.readSeq as number;
    const track = this.members.get(key);
    if (track && !track.ambiguous) {
      const expected = this.expectedCursor(track.readSeq, op);
      if (expected !== undefined && observed < expected) this.markLost(track.lastAck, "cursor-regression");
    }
    this.members.set(key, { readSeq: observed, lastAck: op, ambiguous: false });
  }

  /** What the answer's readSeq must be given the previous one, for operations that depend on it. */
  private expectedCursor(previous: number, op: Op): number | undefined {
    if (op.kind === "join" || op.kind === "get") return previous;
    if (op.kind === "read" && op.messageId !== undefined) {
      const target = this.seqOf(op.channelId, op.messageId);
      return target === undefined ? undefined : Math.max(previous, target);
    }
    return undefined;
  }

  /** The last acknowledged answer for each member and whether a maybe-applied request followed it. */
  memberTracks(): Map<string, MemberTrack> {
    return this.members;
  }

  /**
   * The state the log implies, for a check without the service (after it exited). Members with a
   * maybe-applied request after their last acknowledgement are left out: either outcome is allowed.
   */
  expected(): Snapshot {
    const members = new Map<string, number>();
    for (const [key, track] of this.members) if (!track.ambiguous) members.set(key, track.readSeq);
    const posts = new Map<string, number>();
    for (const [channelId, bySeq] of this.posts) {
      for (const [seq, op] of bySeq) posts.set(memberKey(channelId, op.messageId ?? ""), seq);
    }
    const failedPosts = new Set(
      this.ops.filter((o) => o.kind === "post" && o.outcome === "failed").map((o) => o.channelId),
    );
    const channels = new Map<string, number>();
    // A maybe-applied post may have raised the seq: such a channel's seq is only bounded below.
    for (const [channelId, seq] of this.maxSeq) if (!failedPosts.has(channelId)) channels.set(channelId, seq);
    return { channels, members, posts };
  }
}

/** What the read state must be, as the service answers it or as the log implies it. */
export interface Snapshot {
  /** channelId → channelSeq */
  channels: Map<string, number>;
  /** channelId\0userId → readSeq */
  members: Map<string, number>;
  /** channelId\0messageId → seq, for acknowledged posts not already counted lost */
  posts: Map<string, number>;
}

export const memberKey = (channelId: string, userId: string) => `${channelId}\u0000${userId}`;
