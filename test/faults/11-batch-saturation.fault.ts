// Scenario 11: a saturating /v1/batch load for 60 s against one `serve` at the production settings
// (flush interval 5 s, backpressure threshold 8 s). Issue 8 item 7: such a load made an acknowledged
// write reach PostgreSQL after 12 s. The service must keep API.md rule 7's 10 s promise under any
// load it accepts: either the worker keeps up, or writes are refused (503/unavailable, Retry-After,
// nothing applied) before the limit. Measured two ways: the oldest dirty age the service reports
// (sampled every 250 ms), and the time from a post's acknowledgement until its row is visible in
// PostgreSQL (one post per batch, polled every 250 ms). Then nothing acknowledged may be missing from
// PostgreSQL, and no refused post may be there.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { checkPostgres, drained, flushAll } from "./support/checker.js";
import { client } from "./support/http.js";
import { memberKey, type Snapshot } from "./support/ledger.js";
import { prng } from "./support/load.js";
import { sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { Rig } from "./support/rig.js";

const LOOPS = 6;
const CHANNELS_PER_LOOP = 100;
const USERS = 10;
const BATCH_OPS = 250;
const LOAD_MS = 60_000;
const FLUSH_INTERVAL_MS = 5000;
const THRESHOLD_MS = 8000;
/**
 * PostgreSQL's added cost per message row during the load (see the trigger below); 0 by default.
 * docs/RELIABILITY.md reports runs with SATURATION_ROW_DELAY_MS=0.5 and 2, where PostgreSQL is slower
 * than the load and the promise is still broken (issue 8 item 7 is not finished).
 */
const ROW_DELAY_MS = Number(process.env.SATURATION_ROW_DELAY_MS ?? 0);
/** API.md rule 7. */
const PROMISE_MS = 10_000;

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

type Op = {
  op: "join" | "post" | "read" | "unread";
  channelId: string;
  userId: string;
  messageId?: string;
  senderId?: string;
  mentions?: string[];
};
type Result = {
  ok: boolean;
  seq?: number;
  readSeq?: number;
  channelSeq?: number;
  error?: { code: string; message: string };
};

test("saturating /v1/batch load: PostgreSQL never lags 10 s behind an acknowledgement", async () => {
  const service = await rig.launchReady("serve", {
    flushIntervalMs: FLUSH_INTERVAL_MS,
    extra: { READSTATE_BACKPRESSURE_AGE_MS: String(THRESHOLD_MS) },
  });
  const http = client(service.url, undefined, 30_000);
  const users = Array.from({ length: USERS }, (_, i) => `u${i}`);
  const channelsOf = (loop: number) =>
    Array.from({ length: CHANNELS_PER_LOOP }, (_, i) => `c-${rig.tag}-${loop}-${i}`);

  // What PostgreSQL must hold after the final flush: each loop owns its channels and sends its
  // batches one at a time, so the last acknowledged answer per channel and member is the final state.
  const expected: Snapshot = { channels: new Map(), members: new Map(), posts: new Map() };
  const alivePosts = new Map<string, string[]>();
  const refusedPosts: string[] = [];
  const counts = { batches: 0, acked: 0, refused: 0, otherFailures: 0, retryAfterMissing: 0 };
  const otherCodes = new Map<string, number>();
  /** messageId → ack time, for posts whose PostgreSQL row is still awaited. */
  const pendingLag = new Map<string, number>();
  const lags: number[] = [];

  async function sendBatch(ops: Op[]): Promise<void> {
    const response = await fetch(`${service.url}/v1/batch`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ ops }),
      signal: AbortSignal.timeout(30_000),
    });
    const ackAt = Date.now();
    if (response.status !== 200)
      throw new Error(`batch answered ${response.status}: ${await response.text()}`);
    const { results } = (await response.json()) as { results: Result[] };
    counts.batches++;
    let sampled = false;
    let refusedHere = false;
    results.forEach((result, i) => {
      const op = ops[i] as Op;
      if (!result.ok) {
        const code = result.error?.code ?? "?";
        if (code === "unavailable" && /writes are refused/.test(result.error?.message ?? "")) {
          counts.refused++;
          refusedHere = true;
          if (op.op === "post") refusedPosts.push(op.messageId as string);
        } else {
          counts.otherFailures++;
          otherCodes.set(code, (otherCodes.get(code) ?? 0) + 1);
        }
        return;
      }
      counts.acked++;
      const key = memberKey(op.channelId, op.userId);
      if (op.op === "post") {
        const seq = result.seq as number;
        const messageId = op.messageId as string;
        expected.posts.set(memberKey(op.channelId, messageId), seq);
        expected.channels.set(op.channelId, seq);
        expected.members.set(key, seq);
        const posts = alivePosts.get(op.channelId) ?? [];
        posts.push(messageId);
        alivePosts.set(op.channelId, posts);
        if (!sampled) {
          pendingLag.set(messageId, ackAt);
          sampled = true;
        }
      } else {
        expected.members.set(key, result.readSeq as number);
        expected.channels.set(op.channelId, result.channelSeq as number);
      }
    });
    if (refusedHere && response.headers.get("retry-after") === null) counts.retryAfterMissing++;
  }

  // Setup: every user joins every channel (no backlog yet: nothing is refused).
  const joins: Op[] = [];
  for (let loop = 0; loop < LOOPS; loop++)
    for (const channelId of channelsOf(loop))
      for (const userId of users) joins.push({ op: "join", channelId, userId });
  for (let i = 0; i < joins.length; i += BATCH_OPS) await sendBatch(joins.slice(i, i + BATCH_OPS));
  expect(counts.acked).toBe(joins.length);
  await flushAll(http);

  // The private PostgreSQL (fsync off, an idle disk) outruns the bench's shared one: a per-row delay
  // on the messages table (real PostgreSQL work, not a mock) makes its write throughput fall short of
  // the offered load, as it did in the bench, while every flush still commits.
  const slow = new pg.Client({ connectionString: rig.postgres.url });
  await slow.connect();
  rig.onDestroy(() => slow.end());
  if (ROW_DELAY_MS > 0) {
    await slow.query(`CREATE FUNCTION "${rig.schema}".slow_row() RETURNS trigger LANGUAGE plpgsql AS
      $$ BEGIN PERFORM pg_sleep(${ROW_DELAY_MS / 1000}); RETURN NEW; END $$`);
    await slow.query(`CREATE TRIGGER slow_row BEFORE INSERT ON "${rig.schema}".messages
      FOR EACH ROW EXECUTE FUNCTION "${rig.schema}".slow_row()`);
  }

  let messageCounter = 0;
  let stopped = false;
  async function loadLoop(loop: number): Promise<void> {
    const random = prng(1000 + loop);
    const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)] as T;
    const channels = channelsOf(loop);
    while (!stopped) {
      const ops: Op[] = [];
      for (let i = 0; i < BATCH_OPS; i++) {
        const channelId = pick(channels);
        const userId = pick(users);
        const posts = alivePosts.get(channelId) ?? [];
        const roll = random();
        if (roll < 0.3 || posts.length === 0) {
          const mentions = users.filter(() => random() < 0.1);
          ops.push({
            op: "post",
            channelId,
            userId,
            messageId: `m${loop}-${++messageCounter}`,
            senderId: userId,
            mentions,
          });
        } else if (roll < 0.75) {
          ops.push(
            random() < 0.5
              ? { op: "read", channelId, userId }
              : { op: "read", channelId, userId, messageId: pick(posts) },
          );
        } else if (roll < 0.9) {
          ops.push({ op: "unread", channelId, userId, messageId: pick(posts) });
        } else {
          ops.push({ op: "join", channelId, userId });
        }
      }
      await sendBatch(ops);
    }
  }

  const lagClient = new pg.Client({ connectionString: rig.postgres.url });
  await lagClient.connect();
  rig.onDestroy(() => lagClient.end());
  async function pollLag(): Promise<void> {
    if (pendingLag.size === 0) return;
    const ids = [...pendingLag.keys()];
    const { rows } = await lagClient.query<{ message_id: string }>(
      `SELECT message_id FROM "${rig.schema}".messages WHERE message_id = ANY($1::text[])`,
      [ids],
    );
    const seenAt = Date.now();
    for (const { message_id } of rows) {
      const ackAt = pendingLag.get(message_id);
      if (ackAt === undefined) continue;
      lags.push(seenAt - ackAt);
      pendingLag.delete(message_id);
    }
  }
  /** Awaited posts older than the promise: each is a broken promise, whether seen later or never. */
  const overdue = () => [...pendingLag.values()].filter((ackAt) => Date.now() - ackAt > PROMISE_MS).length;

  const startedAt = Date.now();
  const loops = Array.from({ length: LOOPS }, (_, loop) => loadLoop(loop));
  let peakAgeMs = 0;
  let samples = 0;
  let sheddingSamples = 0;
  let maxOverdue = 0;
  while (Date.now() < startedAt + LOAD_MS) {
    const sync = await http.request("GET", "/v1/admin/sync");
    if (sync.status === 200) {
      const body = sync.body as { oldestDirtyAgeMs: number; shedding: boolean };
      peakAgeMs = Math.max(peakAgeMs, body.oldestDirtyAgeMs);
      samples++;
      if (body.shedding) sheddingSamples++;
    }
    await pollLag();
    maxOverdue = Math.max(maxOverdue, overdue());
    await sleep(250);
  }
  stopped = true;
  await Promise.all(loops);
  const loadMs = Date.now() - startedAt;
  if (ROW_DELAY_MS > 0) await slow.query(`DROP TRIGGER slow_row ON "${rig.schema}".messages`);
  // The last acknowledgements are owed within 10 s too: the worker alone must deliver them.
  const lastAckAt = Date.now();
  while (pendingLag.size > 0 && Date.now() < lastAckAt + PROMISE_MS + 2000) {
    await pollLag();
    maxOverdue = Math.max(maxOverdue, overdue());
    await sleep(250);
  }
  maxOverdue = Math.max(maxOverdue, overdue());
  const drainMs = await drained(http, 60_000);

  await flushAll(http);
  const diffs = await checkPostgres(rig.postgres.url, rig.schema, expected);
  const { rows: leaked } = await lagClient.query(
    `SELECT message_id FROM "${rig.schema}".messages WHERE message_id = ANY($1::text[])`,
    [refusedPosts],
  );

  const peakLagMs = Math.max(0, ...lags);
  const acknowledged = counts.acked - joins.length;
  const opsPerS = Math.round(
    ((counts.acked + counts.refused + counts.otherFailures - joins.length) * 1000) / loadMs,
  );
  const result = {
    id: 11,
    name: "Saturating /v1/batch load",
    injected: `${LOOPS} loops of ${BATCH_OPS}-op batches for ${LOAD_MS / 1000} s, ${LOOPS * CHANNELS_PER_LOOP} channels × ${USERS} users (flush interval 5 s, backpressure at 8 s)${ROW_DELAY_MS > 0 ? `; PostgreSQL slowed by ${ROW_DELAY_MS} ms per message row` : ""}`,
    acknowledged,
    lost: diffs.length,
    allowed: "0; ack → PostgreSQL ≤ 10 s",
    oldestLostAgeMs: 0,
    recoveryMs: drainMs,
    notes:
      `${opsPerS} ops/s offered; peak oldest dirty age ${(peakAgeMs / 1000).toFixed(1)} s (${samples} samples, shedding in ${sheddingSamples}); ` +
      `ack → PostgreSQL of ${lags.length} sampled posts: peak ${(peakLagMs / 1000).toFixed(1)} s, ${maxOverdue} over 10 s; ` +
      `${counts.refused} writes refused (Retry-After on every such batch: ${counts.retryAfterMissing === 0}), ${refusedPosts.length} refused posts, ${leaked.length} of them in PostgreSQL; ` +
      `other failures ${counts.otherFailures}${otherCodes.size ? ` (${[...otherCodes].map(([c, n]) => `${c} ×${n}`).join(", ")})` : ""}; recovery = backlog drained by the worker after the load`,
    passed: false,
  };
  result.passed =
    diffs.length === 0 &&
    leaked.length === 0 &&
    maxOverdue === 0 &&
    peakLagMs <= PROMISE_MS &&
    peakAgeMs <= PROMISE_MS &&
    counts.retryAfterMissing === 0 &&
    counts.otherFailures === 0;
  writeResult(result);

  expect(diffs, diffs.slice(0, 20).join("\n")).toEqual([]);
  expect(leaked).toEqual([]);
  expect(counts.otherFailures, JSON.stringify([...otherCodes])).toBe(0);
  expect(counts.retryAfterMissing).toBe(0);
  expect(lags.length).toBeGreaterThan(0);
  // The promise itself, both ways it can be seen.
  expect(maxOverdue).toBe(0);
  expect(peakLagMs).toBeLessThanOrEqual(PROMISE_MS);
  expect(peakAgeMs).toBeLessThanOrEqual(PROMISE_MS);
  // Past the threshold the gate must have engaged: refusals are how the promise was kept.
  if (peakAgeMs > THRESHOLD_MS + 500) expect(counts.refused).toBeGreaterThan(0);
});
