// The only place a Redis key is formatted.
//
// Channels are spread over PARTITIONS hash tags. Every key of one channel, and the dirty index and
// lease of its partition, share the tag `{p<n>}`: one script can change a channel and mark it dirty
// atomically, also on Redis Cluster. A user's channel list lives under the user's own tag.
// IDs never contain braces (API.md), so they cannot forge a tag.

/** Fixed for a deployment: changing it moves every channel to another tag. */
export const PARTITIONS = 256;

/** The names of a channel's keys, each its base key followed by the name (_lib.lua channel_keys). */
export const CHANNEL_KEY_NAMES = [
  "meta", // hash: seq, lmid (messageId at seq, deleted or not), ver, live, reset, rf (reset flushed),
  //        ct (claim time), gen (fencing generation), nf ('1': loaded absent without a generation),
  //        nd (messages ever deleted), nm (members muting it), nt ('1' once it has thread entries):
  //        each lets a state read skip a lookup while it is absent
  "cur", // zset: userId -> readSeq (the read cursors)
  "lra", // hash: userId -> "lastReadAt (ms)|lastReadMessageId", either part may be empty
  "msg", // hash: messageId -> "<seq>" for a top-level message, "<seq>|<threadId>" for a reply
  "seqs", // hash: seq -> messageId (top-level messages)
  "mn", // zset, all scores 0: "userId|<seq, 16 digits>" for every named mention of a live message
  "all", // zset: "<seq>" -> seq, the live mentionAll messages
  "alls", // zset, all scores 0: "senderId|<seq, 16 digits>" for mentionAll messages, to leave out own ones
  "mdat", // hash: messageId -> "senderId|mentionAll|m1,m2" for every message (root senders, deletes)
  "th", // hash: "q|userId" -> 1 while the member muted the channel; threads: "s|threadId" -> threadSeq,
  //      "m|threadId|<seq>" -> reply messageId,
  //      "c|threadId|userId" -> "readSeq|lastReadAt|lastReadMessageId" (following) or "x" (unfollowed)
  "ix", // zset, all scores 0, ranged by prefix: "d|<seq>" deleted message, "r|threadId|<seq>" deleted
  //      reply, "f|threadId|userId" follower, "u|userId|threadId" an entry of c| (what a leave drops),
  //      reply mentions "n|threadId|userId|<seq>", "n|threadId|*|<seq>" (mentionAll) and
  //      "n|threadId|-senderId|<seq>" (its sender, left out); every <seq> 16 digits
  "dmem", // zset: userId, or "#threadId|userId" for a follower, -> version of its last unflushed change
  "dmsg", // zset: messageId -> version, messages (and deletes) not yet flushed
] as const;

/**
 * Keys that hold a clean channel's cached state (meta first); they expire together. The last two,
 * dmem and dmsg, record what is not yet flushed.
 */
export const CACHED_KEY_COUNT = 11;

/** Channel key pairs kept ready: formatting them on every call was a visible share of an operation. */
const KEY_CACHE_SIZE = 50_000;

export class Keys {
  private readonly channelKeys = new Map<string, readonly [string, string]>();

  constructor(readonly prefix: string) {}

  partitionOf(channelId: string): number {
    return fnv1a(channelId) % PARTITIONS;
  }

  /**
   * What a script receives for a channel: its base key, "<prefix>:{p<n>}:c:<channelId>:". Each of its
   * keys is the base followed by a name of CHANNEL_KEY_NAMES (_lib.lua channel_keys forms them).
   */
  channelBase(channelId: string): string {
    return this.channelWithDirty(channelId)[0];
  }

  /** The channel's base key, then its partition's dirty index: what a writing operation receives. */
  channelWithDirty(channelId: string): readonly [string, string] {
    let keys = this.channelKeys.get(channelId);
    if (!keys) {
      const partition = this.partitionOf(channelId);
      keys = [`${this.prefix}:{p${partition}}:c:${channelId}:`, this.dirty(partition)];
      // A plain bound, not an LRU: hot channels come back at once after a reset.
      if (this.channelKeys.size >= KEY_CACHE_SIZE) this.channelKeys.clear();
      this.channelKeys.set(channelId, keys);
    }
    return keys;
  }

  /** The channel's keys themselves, in CHANNEL_KEY_NAMES order (for Node code that reads or writes them). */
  channel(channelId: string): string[] {
    const base = this.channelBase(channelId);
    return CHANNEL_KEY_NAMES.map((name) => base + name);
  }

  /** Staging keys a cache load fills before one script moves them into place. */
  channelStaging(channelId: string, token: string): string[] {
    const base = `${this.prefix}:{p${this.partitionOf(channelId)}}:c:${channelId}:load:${token}:`;
    return CHANNEL_KEY_NAMES.slice(0, CACHED_KEY_COUNT).map((name) => base + name);
  }

  /**
   * Shard channel (sharded pub/sub) of the channel's changes. Not a key: the scripts derive it from
   * meta's key (_lib.lua publish_change), so it hashes to the channel's slot.
   */
  channelFeed(channelId: string): string {
    return `${this.prefix}:{p${this.partitionOf(channelId)}}:c:${channelId}:feed`;
  }

  /**
   * Shard channel of one user's membership changes (join, leave), under the user's tag: a stream
   * must hear of a join made on another instance before it listens to that channel's feed.
   */
  userFeed(userId: string): string {
    return `${this.prefix}:{u:${userId}}:feed`;
  }

  /**
   * string: a random value each instance with live streams remembers; gone or changed means Redis
   * lost its data (streams then get a fresh snapshot).
   */
  liveSentinel(): string {
    return `${this.prefix}:live`;
  }

  /** string: the token of the one loader, across every instance, filling the channel from PostgreSQL. */
  channelLoader(channelId: string): string {
    return `${this.prefix}:{p${this.partitionOf(channelId)}}:c:${channelId}:loader`;
  }

  /** zset: channelId -> time (ms) it first became dirty. */
  dirty(partition: number): string {
    return `${this.prefix}:{p${partition}}:dirty`;
  }

  /**
   * zset: channelId -> time (ms) a flush left it clean; its cache gets an expiry once it stayed clean
   * a while (cool.lua).
   */
  cooling(partition: number): string {
    return `${this.prefix}:{p${partition}}:cooling`;
  }

  /** string: the worker id holding the partition's flush lease. */
  lease(partition: number): string {
    return `${this.prefix}:{p${partition}}:lease`;
  }

  /** set: the user's channelIds, plus "" once merged with PostgreSQL's list. */
  userChannels(userId: string): string {
    return `${this.prefix}:{u:${userId}}:channels`;
  }

  /** hash: the last flush's figures, shared by every instance. */
  syncStats(): string {
    return `${this.prefix}:sync`;
  }
}

/** 32-bit FNV-1a: stable across processes and languages, cheap, spreads short IDs well. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
