// The demo's stand-in for a chat product's message store. readstate keeps read state, not messages: a
// chat product stores message text elsewhere and tells readstate what was posted. The demo page does
// the same: it records a message's text here first, then posts it through the real API; a page that
// learns from the event stream that a channel moved on reads the new texts from here.
//
// Kept in this process's memory, bounded: only the demo's own channels, at most MAX_MESSAGES each.
// The first page load seeds those channels through the real API (deleting what an earlier process
// left in them, since that process's texts are gone).
import { isReadStateError } from "../core/errors.js";
import type { Engine } from "../engine.js";

export const DEMO_USERS = ["alice", "bob", "carol"] as const;
export const DEMO_CHANNELS = ["demo-general", "demo-random", "demo-design"] as const;
export const MAX_TEXT = 500;
const MAX_MESSAGES = 1000;
/** A text whose post never arrived (the page failed between the two calls) is dropped after this. */
const UNPOSTED_TTL_MS = 60_000;

export interface DemoMessage {
  messageId: string;
  senderId: string;
  text: string;
  /** Set for a reply: its thread's root. */
  threadId?: string;
  /** The seq readstate gave it (in its thread, for a reply); absent until the post is seen. */
  seq?: number;
  at: number;
}

/** How the seed reaches the API: one request through the app's own routes (inject), token included. */
export type ApiCall = (method: "PUT" | "POST" | "DELETE", url: string, body?: unknown) => Promise<unknown>;

export class DemoChat {
  private readonly channels = new Map<string, DemoMessage[]>(DEMO_CHANNELS.map((id) => [id, []]));
  private seeding: Promise<void> | undefined;

  constructor(private readonly engine: Engine) {}

  isDemoChannel(channelId: string): boolean {
    return this.channels.has(channelId);
  }

  /** Seeds the demo channels once per process; a failed seed is tried again by the next caller. */
  ensureSeeded(call: ApiCall): Promise<void> {
    this.seeding ??= seed(this, call).catch((err: unknown) => {
      this.seeding = undefined;
      throw err;
    });
    return this.seeding;
  }

  /** Records a message's text before the page posts it. False when the channel is not the demo's. */
  record(channelId: string, message: Omit<DemoMessage, "at" | "seq">): boolean {
    const log = this.channels.get(channelId);
    if (!log) return false;
    const known = log.find((entry) => entry.messageId === message.messageId);
    if (known) return true;
    log.push({ ...message, text: message.text.slice(0, MAX_TEXT), at: Date.now() });
    if (log.length > MAX_MESSAGES) log.splice(0, log.length - MAX_MESSAGES);
    return true;
  }

  /**
   * The channel's posted messages and replies, each with its seq, in the order readstate numbered them.
   * A text whose seq is not known yet is looked up once (the receipts of that message name its seq).
   */
  async messages(channelId: string): Promise<DemoMessage[]> {
    const log = this.channels.get(channelId) ?? [];
    const now = Date.now();
    await Promise.all(
      log
        .filter((entry) => entry.seq === undefined)
        .map(async (entry) => {
          try {
            entry.seq = (await this.engine.receipts(channelId, entry.messageId, { limit: 1 })).seq;
          } catch (err) {
            if (!isReadStateError(err)) throw err;
            // Not posted (yet): the page records the text first. Forget it if the post never came.
            if (now - entry.at > UNPOSTED_TTL_MS) log.splice(log.indexOf(entry), 1);
          }
        }),
    );
    return log
      .filter((entry) => entry.seq !== undefined)
      .sort((a, b) => (a.threadId ?? "").localeCompare(b.threadId ?? "") || (a.seq ?? 0) - (b.seq ?? 0));
  }

  clear(): void {
    for (const log of this.channels.values()) log.length = 0;
  }
}

interface SeedPost {
  channel: (typeof DEMO_CHANNELS)[number];
  id: string;
  from: (typeof DEMO_USERS)[number];
  text: string;
  mentions?: string[];
  threadId?: string;
}

// A morning in a small team: alice comes back to unread messages, a mention and a thread reply;
// bob has one unread message; carol is the third voice.
const MEMBERS: Record<(typeof DEMO_CHANNELS)[number], (typeof DEMO_USERS)[number][]> = {
  "demo-general": ["alice", "bob", "carol"],
  "demo-random": ["alice", "bob"],
  "demo-design": ["alice", "carol"],
};

const POSTS: SeedPost[] = [
  { channel: "demo-general", id: "g1", from: "carol", text: "Welcome to the demo! Each panel is one user." },
  { channel: "demo-general", id: "g2", from: "bob", text: "Morning all. Release 1.1 goes out today." },
  {
    channel: "demo-general",
    id: "g3",
    from: "carol",
    text: "Ideas for the team offsite? Reply in the thread.",
  },
  { channel: "demo-general", id: "g3r1", from: "carol", text: "I vote for a hike.", threadId: "g3" },
  { channel: "demo-general", id: "g3r2", from: "alice", text: "Board games if it rains!", threadId: "g3" },
  { channel: "demo-general", id: "g3r3", from: "bob", text: "Both, then.", threadId: "g3" },
  {
    channel: "demo-general",
    id: "g4",
    from: "carol",
    text: "@alice could you review the release notes?",
    mentions: ["alice"],
  },
  { channel: "demo-general", id: "g5", from: "bob", text: "Changelog is in the usual place." },
  { channel: "demo-general", id: "g6", from: "carol", text: "Deploy window starts at 3pm." },
  { channel: "demo-random", id: "r1", from: "bob", text: "Lunch at the new ramen place?" },
  { channel: "demo-random", id: "r2", from: "alice", text: "Yes! 12:30?" },
  { channel: "demo-random", id: "r3", from: "bob", text: "12:30 it is." },
  { channel: "demo-random", id: "r4", from: "bob", text: "I'll book a table for three." },
  { channel: "demo-design", id: "d1", from: "carol", text: "New icons are in the shared folder." },
  { channel: "demo-design", id: "d2", from: "alice", text: "They look great, thanks." },
];

async function seed(chat: DemoChat, call: ApiCall): Promise<void> {
  chat.clear();
  for (const channel of DEMO_CHANNELS) {
    await call("DELETE", `/v1/channels/${channel}`);
    for (const user of MEMBERS[channel]) await call("PUT", `/v1/channels/${channel}/members/${user}`);
  }
  for (const post of POSTS) {
    chat.record(post.channel, {
      messageId: post.id,
      senderId: post.from,
      text: post.text,
      ...(post.threadId ? { threadId: post.threadId } : {}),
    });
    await call("POST", `/v1/channels/${post.channel}/messages`, {
      messageId: post.id,
      senderId: post.from,
      ...(post.mentions ? { mentions: post.mentions } : {}),
      ...(post.threadId ? { threadId: post.threadId } : {}),
    });
  }
  // Read positions: alice read up to bob's news in general (so the thread root, the mention and two
  // more are new) and to her own answer in random; bob is behind by carol's last message.
  await call("POST", "/v1/channels/demo-general/read", { userId: "alice", messageId: "g2" });
  await call("POST", "/v1/channels/demo-general/read", { userId: "bob", messageId: "g5" });
  await call("POST", "/v1/channels/demo-general/read", { userId: "carol" });
  await call("POST", "/v1/channels/demo-general/threads/g3/read", { userId: "bob" });
}
