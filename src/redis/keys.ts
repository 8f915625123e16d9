// The only place a Redis key is formatted.
//
// Channels are spread over PARTITIONS hash tags. Every key of one channel, and the dirty index and
// lease of its partition, share the tag `{p<n>}`: one script can change a channel and mark it dirty
// atomically, also on Redis Cluster. A user's channel list lives under the user's own tag.
// IDs never contain braces (API.md), so they cannot forge a tag.

/** Fixed for a deployment: changing it moves every channel to another tag. */
export const PARTITIONS = 256;

/** The channel keys a script receives, in this order (see each script's header). */
export const CHANNEL_KEY_NAMES = [
  "meta", // hash: seq, lmid (last messageId), ver, live, reset, rf (reset flushed), ct (claim time),
  //        gen (fencing generation), nf ('1': loaded absent without a generation; no writes)
  "cur", // zset: userId -> readSeq (the read cursors)
  "lra", // hash: userId -> "lastReadAt (ms)|lastReadMessageId", either part may be empty
  "msg", // hash: messageId -> seq
  "seqs", // hash: seq -> messageId
  "mn", // zset, all scores 0: "userId|<seq, 16 digits>" for every named mention
  "all", // zset: "<seq>" -> seq, the mentionAll messages
  "alls", // zset, all scores 0: "senderId|<seq, 16 digits>" for mentionAll messages, to leave out own ones
  "dmem", // zset: userId -> version of its last unflushed change (removed members too)
  "dmsg", // zset: messageId -> version, messages not yet flushed
  "mdat", // hash: messageId -> "senderId|mentionAll|m1,m2", only while not yet flushed
] as const;

/** Keys that hold a clean channel's cached state; they share one expiry time. */
export const CACHED_KEY_COUNT = 8;

/** Channel key lists kept ready: building 11 strings per call was a visible share of each operation. */
const KEY_CACHE_SIZE = 50_000;

export class Keys {
  private readonly channelKeys = new Map<string, readonly string[]>();

  constructor(readonly prefix: string) {}

  partitionOf(channelId: string): number {
    return fnv1a(channelId) % PARTITIONS;
  }

  /** The channel's keys in CHANNEL_KEY_NAMES order, then its partition's dirty index. */
  channelWithDirty(channelId: string): readonly string[] {
    let keys = this.channelKeys.get(channelId);
    if (!keys) {
      const partition = this.partitionOf(channelId);
      const base = `${this.prefix}:{p${partition}}:c:${channelId}:`;
      keys = [...CHANNEL_KEY_NAMES.map((name) => base + name), this.dirty(partition)];
      // A plain bound, not an LRU: hot channels come back at once after a reset.
      if (this.channelKeys.size >= KEY_CACHE_SIZE) this.channelKeys.clear();
      this.channelKeys.set(channelId, keys);
    }
    return keys;
  }

  /** The channel's keys in CHANNEL_KEY_NAMES order. */
  channel(channelId: string): string[] {
    return this.channelWithDirty(channelId).slice(0, CHANNEL_KEY_NAMES.length);
  }

  /** Staging keys a cache load fills before one script moves them into place. */
  channelStaging(channelId: string, token: string): string[] {
    const base = `${this.prefix}:{p${this.partitionOf(channelId)}}:c:${channelId}:load:${token}:`;
    return CHANNEL_KEY_NAMES.slice(0, CACHED_KEY_COUNT).map((name) => base + name);
  }

  /** string: the token of the one loader, across every instance, filling the channel from PostgreSQL. */
  channelLoader(channelId: string): string {
    return `${this.prefix}:{p${this.partitionOf(channelId)}}:c:${channelId}:loader`;
  }

  /** zset: channelId -> time (ms) it first became dirty. */
  dirty(partition: number): string {
    return `${this.prefix}:{p${partition}}:dirty`;
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
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}
