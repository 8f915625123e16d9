// Three Redis clients on readstate's hot path, in one run: ioredis (what readstate uses),
// @redis/client 5 and @valkey/valkey-glide 2. Each sends the same calls of readstate's own function
// library (a post and a member state, half each, 128 in flight) to a private redis-server; the
// figures are this process's CPU per call (the client's share of Node's cost), Redis's CPU per call
// and calls per second. Rounds alternate the clients, since this machine's speed varies.
//
// The other two clients are not dependencies of readstate. Install them beside it, without saving:
//
//   npm run build
//   npm install --no-save @redis/client@5 @valkey/valkey-glide@2
//   node scripts/client-compare.mjs [--calls 40000] [--rounds 3]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: { calls: { type: "string", default: "40000" }, rounds: { type: "string", default: "3" } },
});
const CALLS = Number(values.calls);
const ROUNDS = Number(values.rounds);
const IN_FLIGHT = 128;
const CHANNELS = 100;

const { buildLibrary } = await import("../dist/src/redis/scripts.js");
const { Redis } = await import("ioredis");
const { createClient } = await import("@redis/client");
const { GlideClient } = await import("@valkey/valkey-glide");

const port = await freePort();
const dir = mkdtempSync(join(tmpdir(), "client-compare-"));
const server = spawn(
  "redis-server",
  ["--port", String(port), "--save", "", "--appendonly", "no", "--dir", dir],
  {
    stdio: "ignore",
  },
);
const admin = new Redis({ port, lazyConnect: true, retryStrategy: (n) => (n > 50 ? null : 100) });
await admin.connect();

const library = buildLibrary();
await admin.function("LOAD", "REPLACE", library.code);
const fn = (script) => library.functions.find((f) => f.script === script).fn;
const POST = fn("post");
const STATE = fn("member_state");
const base = (c) => `cmp:{p${c % 256}}:c:ch${c}:`;
const dirty = (c) => `cmp:{p${c % 256}}:dirty`;

// Each channel loaded (meta with a seq), 20 members with their cursors.
for (let c = 0; c < CHANNELS; c++) {
  await admin.hset(`${base(c)}meta`, "seq", 0, "ver", 0);
  for (let u = 0; u < 20; u++) {
    await admin.zadd(`${base(c)}cur`, 0, `user-${u}`);
    await admin.hset(`${base(c)}lra`, `user-${u}`, "|");
  }
}

let messages = 0;
/** The i-th call: its function, keys and arguments (readstate's own argument order). */
function call(i) {
  const c = i % CHANNELS;
  const user = `user-${Math.floor(i / CHANNELS) % 20}`;
  if (i % 2 === 0) {
    return [POST, [base(c), dirty(c)], ["", `ch${c}`, `m${messages++}`, user, "0", "user-3", "t.1"]];
  }
  return [STATE, [base(c)], ["", `ch${c}`, user]];
}

const clients = {
  // As readstate configures it (connection.ts): its batcher already sends one call per tick.
  ioredis: async () => {
    const r = new Redis({ port, enableAutoPipelining: false });
    return {
      send: (f, keys, args) => r.fcall(f, keys.length, ...keys, ...args),
      close: () => r.disconnect(),
    };
  },
  "ioredis, auto-pipelining": async () => {
    const r = new Redis({ port, enableAutoPipelining: true });
    return {
      send: (f, keys, args) => r.fcall(f, keys.length, ...keys, ...args),
      close: () => r.disconnect(),
    };
  },
  "@redis/client": async () => {
    const r = createClient({ socket: { port } });
    await r.connect();
    return {
      send: (f, keys, args) => r.sendCommand(["FCALL", f, String(keys.length), ...keys, ...args]),
      close: () => r.destroy(),
    };
  },
  "@valkey/valkey-glide": async () => {
    const r = await GlideClient.createClient({ addresses: [{ host: "127.0.0.1", port }] });
    return { send: (f, keys, args) => r.fcall(f, keys, args), close: () => r.close() };
  },
};

async function redisCpuUs() {
  const info = String(await admin.info("cpu"));
  const field = (name) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1e6;
}

async function measure(name) {
  const client = await clients[name]();
  // Warm-up: connections, JIT.
  for (let i = 0; i < 2000; i += IN_FLIGHT) {
    await Promise.all(Array.from({ length: IN_FLIGHT }, (_, j) => client.send(...call(i + j))));
  }
  const redisBefore = await redisCpuUs();
  const cpu = process.cpuUsage();
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < CALLS) {
      next++;
      await client.send(...call(next));
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const redisUs = (await redisCpuUs()) - redisBefore;
  await client.close();
  return { calls: CALLS / seconds, nodeUs: (used.user + used.system) / CALLS, redisUs: redisUs / CALLS };
}

const results = Object.fromEntries(Object.keys(clients).map((name) => [name, []]));
try {
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of Object.keys(clients)) results[name].push(await measure(name));
  }
} finally {
  admin.disconnect();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
console.log(`${CALLS} calls per round, ${IN_FLIGHT} in flight, ${ROUNDS} rounds; medians`);
console.log("| client | calls/s | Node CPU µs/call | Redis CPU µs/call |\n|---|---:|---:|---:|");
for (const [name, runs] of Object.entries(results)) {
  const calls = median(runs.map((r) => r.calls));
  const node = median(runs.map((r) => r.nodeUs));
  const redis = median(runs.map((r) => r.redisUs));
  console.log(`| ${name} | ${Math.round(calls)} | ${node.toFixed(1)} | ${redis.toFixed(1)} |`);
}

function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port: p } = s.address();
      s.close(() => resolve(p));
    });
  });
}
