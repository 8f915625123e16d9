// Live events under load, on the local Redis and PostgreSQL (own key prefix and schema):
//
// 1. Delivery latency of a post into a channel of 10,000 members, to SSE streams of that channel's
//    members held by another instance: with 1 stream, and with 1,000.
// 2. The Redis commands one such post costs: the poster's (the same whatever the streams), and the
//    reads of the instance that holds the streams (in proportion to them); with 0, 1 and 1,000.
// 3. The snapshot load that stopping an instance holding 1,000 streams puts on another: each stream
//    gets a jittered `retry:`, and its client reconnects to the other instance after that long with
//    its Last-Event-ID (unknown there, so a snapshot).
//
//   npx tsx scripts/live-latency.ts [members, default 10000] [streams, default 1000]
//
// The poster is an engine in this process (instance A). The streams are held by `readstate serve`
// processes of their own (B, then C after B stops), as in production; the SSE clients run in this
// process, so "delivered" is when this process has parsed the event, and with 1,000 streams that
// includes the time to parse the 999 before it.
import { type ChildProcess, spawn } from "node:child_process";
import { performance } from "node:perf_hooks";
import { fileURLToPath } from "node:url";
import { createReadState } from "../src/index.js";
import { cleanup, DATABASE_URL, REDIS_URL, testSpace } from "../test/helpers/env.js";
import { isMember } from "../test/helpers/live.js";
import { monitorWhile } from "../test/helpers/monitor.js";
import { freePort } from "../test/helpers/net.js";
import { openSse, type SseClient } from "../test/helpers/sse.js";

const MEMBERS = Number(process.argv[2] ?? 10_000);
const STREAMS = Number(process.argv[3] ?? 1000);
const CHANNEL = "big";
const ROOT = fileURLToPath(new URL("../", import.meta.url));

const space = testSpace("livelat");
const writer = await createReadState({ ...space });
const servers: ChildProcess[] = [];
const clients: SseClient[] = [];
let seq = 0;

const user = (i: number) => `user-${String(i).padStart(5, "0")}`;

/** `readstate serve` on its own port, sharing the space; resolves when /readyz answers 200. */
async function serve(name: string): Promise<{ base: string; process: ChildProcess }> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "serve", "--no-worker", "--no-migrate"],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        REDIS_URL,
        DATABASE_URL,
        READSTATE_PG_SCHEMA: space.schema,
        READSTATE_REDIS_PREFIX: space.keyPrefix,
        PORT: String(port),
        READSTATE_LOG_LEVEL: "warn",
      },
      stdio: ["ignore", "inherit", "inherit"],
    },
  );
  servers.push(child);
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    try {
      if ((await fetch(`${base}/readyz`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (i > 200) throw new Error(`instance ${name} did not get ready`);
    await sleep(100);
  }
  return { base, process: child };
}

/** The cumulative buckets of an instance's delivery lag histogram: le → count. */
async function lagBuckets(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const buckets = new Map<string, number>();
  for (const [, le, count] of text.matchAll(
    /^readstate_live_delivery_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm,
  )) {
    buckets.set(le as string, Number(count));
  }
  return buckets;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? Number.NaN;
}

function latencyLine(label: string, values: number[]): string {
  const f = (ms: number) => `${ms.toFixed(1)} ms`;
  return `| ${label} | ${values.length} | ${f(percentile(values, 50))} | ${f(percentile(values, 99))} | ${f(Math.max(...values))} |`;
}

/** Opens `count` streams to `base` for user(0)… and waits for every snapshot. */
async function openStreams(base: string, count: number): Promise<SseClient[]> {
  const opened: SseClient[] = [];
  for (let i = 0; i < count; i += 100) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(100, count - i) }, (_, j) =>
        openSse(`${base}/v1/users/${user(i + j)}/events`),
      ),
    );
    opened.push(...batch);
  }
  await Promise.all(
    opened.map((client) => client.log.waitFor((e) => e.event === "snapshot", { timeoutMs: 30_000 })),
  );
  clients.push(...opened);
  // A new subscription may get its channel's state once more right after the snapshot (the instance
  // had just started listening to it); a post within 250 ms of that would wait for the window.
  await sleep(500);
  return opened;
}

/** Posts `count` messages 400 ms apart (more than the 250 ms window); each stream's delay per post. */
async function measure(streams: SseClient[], count: number): Promise<number[]> {
  const delays: number[] = [];
  for (let n = 0; n < count; n++) {
    const from = streams.map((client) => client.log.received.length);
    const { seq: posted } = await writer.post(CHANNEL, { messageId: `lat-${++seq}`, senderId: "poster" });
    const ackAt = performance.now();
    const arrivals = await Promise.all(
      streams.map((client, i) =>
        client.log.waitFor(isMember(CHANNEL, { channelSeq: posted }), { from: from[i], timeoutMs: 10_000 }),
      ),
    );
    for (const { at } of arrivals) delays.push(at - ackAt);
    await sleep(400);
  }
  return delays;
}

/** MONITOR lines parsed: client address ("lua" inside a script) and command. */
function parse(line: string): { client: string; command: string; text: string } | undefined {
  const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
  return match
    ? { client: match[1] as string, command: (match[2] as string).toLowerCase(), text: line }
    : undefined;
}

/**
 * The commands one post costs: the poster's calls (found by the messageId) and the scripts' commands
 * inside them; and every other client's script calls on this run's keys in the next 500 ms (the
 * stream holder's reads), with theirs. Backlog samples (no scripts) are left out.
 */
async function postCost(label: string): Promise<string> {
  const messageId = `cost-${++seq}`;
  // The first change after a flush also lifts the cache expiry of the channel's keys (11 PERSIST):
  // measure the steady state, right after another post.
  await writer.post(CHANNEL, { messageId: `${messageId}-warm`, senderId: "poster" });
  await sleep(300);
  const lines = (
    await monitorWhile(REDIS_URL, async () => {
      await writer.post(CHANNEL, { messageId, senderId: "poster" });
      await sleep(500);
    })
  )
    .map(parse)
    .filter((l) => l !== undefined);
  const ours = (text: string) => text.includes(`"${space.keyPrefix}:`);
  const poster = lines.find((l) => l.client !== "lua" && l.text.includes(`"${messageId}"`))?.client;
  const count = { poster: 0, posterInside: 0, others: 0, othersInside: 0, publishes: 0 };
  const otherCommands = new Map<string, number>();
  let owner: "poster" | "other" | undefined;
  for (const line of lines) {
    if (line.client === "lua") {
      if (owner === "poster") count.posterInside++;
      else if (owner === "other") count.othersInside++;
      if (owner && line.command === "spublish") count.publishes++;
      continue;
    }
    owner = undefined;
    if (!ours(line.text)) continue;
    if (line.client === poster) {
      owner = "poster";
      count.poster++;
    } else if (/^(eval|fcall)/.test(line.command)) {
      owner = "other";
      count.others++;
      otherCommands.set(line.command, (otherCommands.get(line.command) ?? 0) + 1);
    }
  }
  const calls = [...otherCommands].map(([c, n]) => `${c}×${n}`).join(" ") || "none";
  return (
    `| ${label} | ${count.poster} round trip(s), ${count.posterInside} commands inside (${count.publishes} SPUBLISH) ` +
    `| ${count.others} script calls (${calls}), ${count.othersInside} commands inside |`
  );
}

try {
  console.log(
    `# Live events: ${MEMBERS.toLocaleString("en")} members, ${STREAMS.toLocaleString("en")} streams\n`,
  );
  const started = performance.now();
  for (let i = 0; i < MEMBERS; i += 200) {
    await Promise.all(
      Array.from({ length: Math.min(200, MEMBERS - i) }, (_, j) => writer.join(CHANNEL, user(i + j))),
    );
  }
  await writer.join(CHANNEL, "poster");
  await writer.post(CHANNEL, { messageId: "warm", senderId: "poster" });
  console.log(`setup: ${MEMBERS} joins in ${((performance.now() - started) / 1000).toFixed(1)} s\n`);

  const b = await serve("B");
  const costs: string[] = [await postCost("0 streams")];

  const one = await openStreams(b.base, 1);
  const withOne = await measure(one, 20);
  costs.push(await postCost("1 stream"));
  for (const client of one) client.close();
  await sleep(300);

  const many = await openStreams(b.base, STREAMS);
  const lagBefore = await lagBuckets(b.base);
  const withMany = await measure(many, 10);
  const lagAfter = await lagBuckets(b.base);
  costs.push(await postCost(`${STREAMS} streams`));

  console.log("## Delivery latency (post acknowledged → event parsed by the SSE client)\n");
  console.log("| streams on instance B | deliveries | p50 | p99 | max |\n|---|---|---|---|---|");
  console.log(latencyLine("1 (20 posts)", withOne));
  console.log(latencyLine(`${STREAMS} (10 posts)`, withMany));
  const total = (lagAfter.get("+Inf") ?? 0) - (lagBefore.get("+Inf") ?? 0);
  console.log(
    `\nOn instance B itself (its readstate_live_delivery_lag_seconds, publication in Redis → write on the ` +
      `socket, over the ${total} deliveries to ${STREAMS} streams): ` +
      [...lagAfter]
        .filter(([le]) => ["0.01", "0.025", "0.05", "0.1", "0.25"].includes(le))
        .map(
          ([le, n]) =>
            `≤ ${Number(le) * 1000} ms: ${(((n - (lagBefore.get(le) ?? 0)) / total) * 100).toFixed(1)}%`,
        )
        .join(", "),
  );
  console.log("\n## Redis commands of one post\n");
  console.log(
    "| streams on B | the poster (instance A) | instance B's reads for its streams |\n|---|---|---|",
  );
  for (const line of costs) console.log(line);

  // Shutdown of B: every client waits its retry hint, then reconnects to C with its Last-Event-ID.
  const c = await serve("C");
  const reconnects: { retry: number; at: number; snapshotAt: number }[] = [];
  let stopAt = 0;
  const reconnecting = many.map(async (client) => {
    await client.ended;
    const retry = client.retries.at(-1) ?? 3000;
    const lastId = client.log.events.at(-1)?.id ?? "";
    await sleep(retry);
    const at = performance.now();
    const next = await openSse(`${c.base}${new URL(client.url).pathname}`, { "last-event-id": lastId });
    clients.push(next);
    const { at: snapshotAt } = await next.log.waitFor((e) => e.event === "snapshot", { timeoutMs: 30_000 });
    reconnects.push({ retry, at: at - stopAt, snapshotAt: snapshotAt - stopAt });
  });
  const storm = monitorWhile(REDIS_URL, async () => {
    stopAt = performance.now();
    b.process.kill("SIGTERM");
    await Promise.all(reconnecting);
  });
  const exited = new Promise<number>((resolve) =>
    b.process.once("exit", () => resolve(performance.now() - stopAt)),
  );
  const lines = (await storm).map(parse).filter((l) => l !== undefined);
  const bStoppedMs = await exited;
  const ours = (text: string) => text.includes(`"${space.keyPrefix}:`);
  const userUnreadReads = lines.filter(
    (l) => l.command === "smembers" && ours(l.text) && l.text.includes(":{u:"),
  );
  const scriptCalls = lines.filter(
    (l) => l.client !== "lua" && /^(eval|fcall)/.test(l.command) && ours(l.text),
  );
  // By the first key: a user's channel list (merge_user_channels), a channel's base key (member_states
  // and the other channel scripts), a partition's dirty index (the write-behind worker's claim).
  const byKey = new Map<string, number>();
  for (const call of scriptCalls) {
    const key = /^\+[\d.]+ \[[^\]]+\] "[^"]+" "[^"]+" "\d+" "([^"]+)"/.exec(call.text)?.[1] ?? "?";
    const kind = key.endsWith(":") ? "channel" : key.slice(key.lastIndexOf(":") + 1);
    byKey.set(kind, (byKey.get(kind) ?? 0) + 1);
  }
  const inside = lines.filter((l) => l.client === "lua" && ours(l.text));
  const first = Math.min(...reconnects.map((r) => r.at));
  const last = Math.max(...reconnects.map((r) => r.at));
  const perSecond = new Map<number, number>();
  for (const r of reconnects)
    perSecond.set(Math.floor(r.at / 1000), (perSecond.get(Math.floor(r.at / 1000)) ?? 0) + 1);
  const metrics = await (await fetch(`${c.base}/metrics`)).text();
  const snapshotsOnC = /^readstate_live_events_total\{event="snapshot"\} (\d+)/m.exec(metrics)?.[1];

  console.log(`\n## Stopping instance B with ${STREAMS} streams (SIGTERM); its clients reconnect to C\n`);
  console.log(
    `- B closed its streams and exited in ${(bStoppedMs / 1000).toFixed(2)} s (it runs no worker: instance A flushes)`,
  );
  console.log(
    `- retry hints: ${Math.min(...reconnects.map((r) => r.retry)).toFixed(0)}–` +
      `${Math.max(...reconnects.map((r) => r.retry)).toFixed(0)} ms; reconnects from ` +
      `${(first / 1000).toFixed(2)} s to ${(last / 1000).toFixed(2)} s after the SIGTERM`,
  );
  console.log(
    `- reconnects per second: ${[...perSecond]
      .sort(([x], [y]) => x - y)
      .map(([s, n]) => `${s}s:${n}`)
      .join(" ")} (peak ${Math.max(...perSecond.values())}/s)`,
  );
  console.log(
    `- on C: ${snapshotsOnC} snapshots sent, ${userUnreadReads.length} userUnread reads (each one SMEMBERS of the ` +
      `user's channel list and one member_states script); all script calls on this run's keys meanwhile: ` +
      `${scriptCalls.length} (by first key: ${[...byKey].map(([k, n]) => `${k}×${n}`).join(" ")}), ` +
      `${inside.length} commands inside them`,
  );
  console.log(
    `- reconnect → snapshot: p50 ${percentile(
      reconnects.map((r) => r.snapshotAt - r.at),
      50,
    ).toFixed(1)} ms, p99 ${percentile(
      reconnects.map((r) => r.snapshotAt - r.at),
      99,
    ).toFixed(1)} ms`,
  );
} finally {
  for (const client of clients) client.close();
  for (const server of servers) if (server.exitCode === null) server.kill("SIGTERM");
  await Promise.all(
    servers.map((server) => (server.exitCode === null ? new Promise((r) => server.once("exit", r)) : null)),
  );
  await writer.close();
  await cleanup(space);
}
