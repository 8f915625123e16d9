#!/usr/bin/env node
// HTTP throughput of a running readstate server, measured with autocannon from this process (run it
// apart from the server, so load generation and serving do not share an event loop).
//
//   node scripts/http-throughput.mjs [baseUrl] [seconds] [connections]
//
// Seeds 100 channels x 20 members x 20 messages through /v1/batch, then measures
//   1. single POST /v1/channels/{id}/read requests/s, rotating over every (channel, member);
//   2. ops/s through POST /v1/batch, 100 read ops per batch over random (channel, member) pairs.
// Set READSTATE_API_TOKEN to send the bearer token.
import autocannon from "autocannon";

const base = process.argv[2] ?? "http://127.0.0.1:8080";
const duration = Number(process.argv[3] ?? 15);
const connections = Number(process.argv[4] ?? 64);
const CHANNELS = 100;
const MEMBERS = 20;
const MESSAGES = 20;
const BATCH_OPS = 100;

const headers = { "content-type": "application/json" };
if (process.env.READSTATE_API_TOKEN) headers.authorization = `Bearer ${process.env.READSTATE_API_TOKEN}`;

async function seed() {
  const ops = [];
  for (let c = 0; c < CHANNELS; c++) {
    for (let m = 0; m < MEMBERS; m++) ops.push({ op: "join", channelId: `tp${c}`, userId: `u${m}` });
    for (let n = 0; n < MESSAGES; n++) {
      ops.push({ op: "post", channelId: `tp${c}`, messageId: `m${n}`, senderId: `u${n % MEMBERS}` });
    }
  }
  for (let i = 0; i < ops.length; i += 1000) {
    const response = await fetch(`${base}/v1/batch`, {
      method: "POST",
      headers,
      body: JSON.stringify({ ops: ops.slice(i, i + 1000) }),
    });
    const { results } = await response.json();
    const failed = results.find((result) => !result.ok);
    if (failed) throw new Error(`seeding failed: ${JSON.stringify(failed)}`);
  }
}

function run(name, options) {
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url: base, connections, duration, ...options }, (err, result) =>
      err ? reject(err) : resolve(result),
    );
    autocannon.track(instance, { renderProgressBar: false, renderResultsTable: true });
    process.stderr.write(`\n== ${name}\n`);
  });
}

let counter = 0;
const pair = () => {
  counter++;
  return { channel: `tp${counter % CHANNELS}`, user: `u${Math.floor(counter / CHANNELS) % MEMBERS}` };
};

await seed();

const single = await run("single POST /v1/channels/{id}/read", {
  requests: [
    {
      method: "POST",
      headers,
      setupRequest(request) {
        const { channel, user } = pair();
        return { ...request, path: `/v1/channels/${channel}/read`, body: `{"userId":"${user}"}` };
      },
    },
  ],
});

const batchBody = () => {
  const ops = [];
  for (let i = 0; i < BATCH_OPS; i++) {
    const { channel, user } = pair();
    ops.push({ op: "read", channelId: channel, userId: user });
  }
  return JSON.stringify({ ops });
};
// Bodies are built up front so that the load generator's CPU goes to sending, not to JSON.
const bodies = Array.from({ length: 200 }, batchBody);
let next = 0;
const batch = await run(`POST /v1/batch, ${BATCH_OPS} read ops each`, {
  connections: Math.max(1, Math.floor(connections / 4)),
  requests: [
    {
      method: "POST",
      path: "/v1/batch",
      headers,
      setupRequest(request) {
        next = (next + 1) % bodies.length;
        return { ...request, body: bodies[next] };
      },
    },
  ],
});

const summary = {
  singleReadRequestsPerSec: Math.round(single.requests.average),
  singleReadLatencyMs: { p50: single.latency.p50, p99: single.latency.p99 },
  singleNon2xx: single.non2xx,
  batchRequestsPerSec: Math.round(batch.requests.average),
  batchOpsPerSec: Math.round(batch.requests.average * BATCH_OPS),
  batchLatencyMs: { p50: batch.latency.p50, p99: batch.latency.p99 },
  batchNon2xx: batch.non2xx,
};
console.log(JSON.stringify(summary, null, 2));
