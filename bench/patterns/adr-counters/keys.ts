// Pattern D's Redis keys, the only place they are formatted. A channel's keys and its partition's
// dirty index share one hash tag, so a post changes the counters and marks them dirty in one script.
// A user's channel list has the user's own tag: join and leave touch two slots, so D runs on one
// Redis (as ADR-02 describes it), not on Redis Cluster.
import { fnv1a } from "../../../src/redis/keys.js";

/** Few partitions: the flush visits each one per pass, and D's backlog is per member, not per channel. */
export const PARTITIONS = 64;

/** The channel keys a script receives, in this order (see each script's header). */
export const CHANNEL_KEY_NAMES = [
  "meta", // hash: seq (the channel's last seq), lmid (messageId at seq)
  "unread", // hash: userId -> unread counter (one field per member: the member list too)
  "mentions", // hash: userId -> mention counter
  "reads", // hash: userId -> "readSeq|lastReadAt (ms, or empty)|lastReadMessageId (or empty)"
  "msg", // hash: messageId -> seq (idempotent posts, reads up to a message)
  "dmem", // set: userIds changed since the last flush; "*" when a post changed every member
] as const;

export const CHANNEL_KEY_COUNT = CHANNEL_KEY_NAMES.length;

export class AdrKeys {
  constructor(readonly prefix: string) {}

  partitionOf(channelId: string): number {
    return fnv1a(channelId) % PARTITIONS;
  }

  /** The channel's keys in CHANNEL_KEY_NAMES order. */
  channel(channelId: string): string[] {
    const base = `${this.prefix}:{dp${this.partitionOf(channelId)}}:c:${channelId}:`;
    return CHANNEL_KEY_NAMES.map((name) => base + name);
  }

  /** The channel's keys, then its partition's dirty index: what a write script receives. */
  channelWithDirty(channelId: string): string[] {
    return [...this.channel(channelId), this.dirty(this.partitionOf(channelId))];
  }

  /** set: channelIds with changes not yet flushed. */
  dirty(partition: number): string {
    return `${this.prefix}:{dp${partition}}:dirty`;
  }

  /** set: the user's channelIds (userUnread). */
  userChannels(userId: string): string {
    return `${this.prefix}:{du:${userId}}:channels`;
  }
}
