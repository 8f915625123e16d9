// The final comparison: the service's answers and PostgreSQL's rows against the log. Any acknowledged
// operation whose effect is missing is a loss; a PostgreSQL row that disagrees with the service after
// a full flush is a durability failure.
import pg from "pg";
import { type Client, enc, errorCode } from "./http.js";
import { type Ledger, memberKey, type Snapshot } from "./ledger.js";
import { waitFor } from "./procs.js";

/** GET with retries: the check runs after recovery, but a transient 503 must not count as a loss. */
async function get(http: Client, path: string) {
  return waitFor(
    `GET ${path}`,
    async () => {
      const reply = await http.request("GET", path);
      return reply.status === 0 || reply.status === 503 ? undefined : reply;
    },
    30_000,
    200,
  );
}

/**
 * Reads the service's state for every channel, member and acknowledged post of the log, marks in the
 * ledger every acknowledged operation the service no longer reflects, and returns the snapshot.
 * `problems` collects answers no loss explains (a cursor ahead of every acknowledged change).
 */
export async function checkService(
  http: Client,
  ledger: Ledger,
  channelIds: string[],
  userIds: string[],
): Promise<{ snapshot: Snapshot; problems: string[] }> {
  const snapshot: Snapshot = { channels: new Map(), members: new Map(), posts: new Map() };
  const problems: string[] = [];
  const tracks = ledger.memberTracks();
  for (const channelId of channelIds) {
    const info = await get(http, `/v1/channels/${enc(channelId)}`);
    if (info.status === 200)
      snapshot.channels.set(channelId, (info.body as { channelSeq: number }).channelSeq);
    else problems.push(`channel ${channelId}: ${info.status} ${errorCode(info.body)}`);

    for (const post of ledger.alivePosts(channelId)) {
      const messageId = post.messageId ?? "";
      const reply = await get(
        http,
        `/v1/channels/${enc(channelId)}/messages/${enc(messageId)}/receipts?limit=1`,
      );
      const seq = reply.status === 200 ? (reply.body as { seq: number }).seq : undefined;
      if (seq !== post.seq)
        ledger.markLost(post, `final-post (${reply.status} ${errorCode(reply.body) ?? `seq ${seq}`})`);
      else if (seq !== undefined) snapshot.posts.set(memberKey(channelId, messageId), seq);
    }

    for (const userId of userIds) {
      const key = memberKey(channelId, userId);
      const track = tracks.get(key);
      const reply = await get(http, `/v1/channels/${enc(channelId)}/members/${enc(userId)}`);
      if (reply.status !== 200) {
        if (track) ledger.markLost(track.lastAck, `final-member (${reply.status} ${errorCode(reply.body)})`);
        continue;
      }
      const readSeq = (reply.body as { readSeq: number }).readSeq;
      snapshot.members.set(key, readSeq);
      if (!track || track.ambiguous || readSeq === track.readSeq) continue;
      if (readSeq < track.readSeq)
        ledger.markLost(track.lastAck, `final-cursor (${readSeq} < ${track.readSeq})`);
      else
        problems.push(
          `${channelId}/${userId}: readSeq ${readSeq} is ahead of the last acknowledged ${track.readSeq}`,
        );
    }
  }
  // Two surviving acknowledged posts with one seq would mean a seq handed out twice.
  for (const channelId of channelIds) {
    const seen = new Map<number, string>();
    for (const [key, seq] of snapshot.posts) {
      if (!key.startsWith(`${channelId}\u0000`)) continue;
      const other = seen.get(seq);
      if (other) problems.push(`${channelId}: seq ${seq} held by ${other} and ${key.split("\u0000")[1]}`);
      seen.set(seq, key.split("\u0000")[1] ?? "");
    }
  }
  return { snapshot, problems };
}

/** Every difference between PostgreSQL's rows and the expected snapshot. */
export async function checkPostgres(
  databaseUrl: string,
  schema: string,
  expected: Snapshot,
): Promise<string[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    const q = (sql: string) => client.query(sql.replaceAll(":schema", `"${schema}"`));
    const channels = new Map<string, number>();
    for (const row of (await q("SELECT channel_id, seq FROM :schema.channels WHERE live")).rows) {
      channels.set(row.channel_id, Number(row.seq));
    }
    const members = new Map<string, number>();
    for (const row of (await q("SELECT channel_id, user_id, read_seq FROM :schema.members WHERE active"))
      .rows) {
      members.set(memberKey(row.channel_id, row.user_id), Number(row.read_seq));
    }
    const messages = new Map<string, number>();
    for (const row of (await q("SELECT channel_id, message_id, seq FROM :schema.messages")).rows) {
      messages.set(memberKey(row.channel_id, row.message_id), Number(row.seq));
    }
    const diffs: string[] = [];
    const compare = (what: string, want: Map<string, number>, have: Map<string, number>) => {
      for (const [key, value] of want) {
        const stored = have.get(key);
        if (stored !== value)
          diffs.push(
            `${what} ${key.replace("\u0000", "/")}: PostgreSQL ${stored ?? "missing"}, expected ${value}`,
          );
      }
    };
    compare("channel", expected.channels, channels);
    compare("member", expected.members, members);
    compare("message", expected.posts, messages);
    return diffs;
  } finally {
    await client.end();
  }
}

/** Flushes through the API until nothing is dirty (the worker may be flushing at the same time). */
export async function flushAll(http: Client): Promise<void> {
  await waitFor(
    "the backlog to drain",
    async () => {
      const reply = await http.request("POST", "/v1/admin/flush");
      return reply.status === 200 && (reply.body as { remaining: number }).remaining === 0;
    },
    60_000,
    250,
  );
}

/** Waits until the worker(s) alone drained the backlog (no flush requested through the API). */
export async function drained(http: Client, timeoutMs = 60_000): Promise<number> {
  const started = Date.now();
  await waitFor(
    "the worker to drain the backlog",
    async () => {
      const reply = await http.request("GET", "/v1/admin/sync");
      return reply.status === 200 && (reply.body as { dirty: number }).dirty === 0;
    },
    timeoutMs,
    100,
  );
  return Date.now() - started;
}
