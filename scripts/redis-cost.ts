// CPU per operation on both sides, steadier than throughput on a shared machine: Redis's own
// accounting (INFO commandstats, µs inside each command, reset before each phase) on a private
// redis-server nobody else uses, and this process's CPU (process.cpuUsage) per operation.
//
//   npx tsx scripts/redis-cost.ts [--ops 20000]
//
// Script µs: INFO commandstats of the script calls (their usec covers the commands inside). Redis
// CPU: INFO cpu, everything the server did (parsing, network, the backlog sampler's ZRANGE/ZCARD).
// Phases: each operation alone (one script call each, awaited in turn), then the same operations
// 100 at a time (they share apply.lua calls, as concurrent requests do). PostgreSQL is not
// involved after setup (the worker is off).
import { parseArgs } from "node:util";
import { Redis } from "ioredis";
import { createReadState, type Engine } from "../src/index.js";
import { PrivateRedis } from "../test/faults/support/redis-server.js";
import { dropSchema, testSpace } from "../test/helpers/env.js";

const { values } = parseArgs({ options: { ops: { type: "string", default: "20000" } } });
const OPS = Number(values.ops);
const CHANNELS = 200;
const MEMBERS = 20;

const server = new PrivateRedis();
await server.start();
const space = testSpace("rediscost");
const engine = await createReadState({ ...space, redisUrl: server.url, worker: false });
const admin = new Redis(server.url);

type Op = (i: number) => Promise<unknown>;
const channel = (i: number) => `c${i % CHANNELS}`;
const user = (i: number) => `u${Math.floor(i / CHANNELS) % MEMBERS}`;
let posted = 0;

const phases: [string, Op][] = [
  ["post", (i) => engine.post(channel(i), { messageId: `m${posted++}`, senderId: user(i) })],
  ["markRead (moves)", (i) => engine.markRead(channel(i), user(i + 7 * CHANNELS))],
  ["memberState", (i) => engine.memberState(channel(i), user(i))],
  // One user's state in every channel (CHANNELS of them): the per-operation figures are per call.
  ["userUnread", (i) => engine.userUnread(user(i))],
];

/** Redis's own CPU (user + system) so far, in µs: network I/O and parsing included. */
async function redisCpuUs(): Promise<number> {
  const info = String(await admin.info("cpu"));
  const field = (name: string) => Number(new RegExp(`${name}:([\\d.]+)`).exec(info)?.[1] ?? 0);
  return (field("used_cpu_user") + field("used_cpu_sys")) * 1e6;
}

async function measure(name: string, op: Op, concurrency: number): Promise<void> {
  await admin.config("RESETSTAT");
  const redisBefore = await redisCpuUs();
  const cpu = process.cpuUsage();
  for (let i = 0; i < OPS; i += concurrency) {
    const batch: Promise<unknown>[] = [];
    for (let j = i; j < Math.min(OPS, i + concurrency); j++) batch.push(op(j));
    await Promise.all(batch);
  }
  const used = process.cpuUsage(cpu);
  const redisUs = (await redisCpuUs()) - redisBefore;
  // A script's usec includes the commands it ran (counted again on their own lines): scripts only.
  const stats = String(await admin.info("commandstats"));
  let scriptUs = 0;
  let calls = 0;
  const inside: string[] = [];
  for (const line of stats.split("\n")) {
    const match = /^cmdstat_(\w+):calls=(\d+),usec=(\d+)/.exec(line);
    if (!match) continue;
    const [, command = "", count = "0", usec = "0"] = match;
    if (["evalsha", "eval", "fcall", "fcall_ro"].includes(command)) {
      scriptUs += Number(usec);
      calls += Number(count);
    } else if (!["config", "info", "zrange", "zcard"].includes(command)) {
      inside.push(`${command} ${(Number(count) / OPS).toFixed(2)}`);
    }
  }
  const nodeUs = (used.user + used.system) / OPS;
  console.log(
    `| ${name} | ${concurrency} | ${calls} | ${(scriptUs / OPS).toFixed(2)} | ${(redisUs / OPS).toFixed(2)} | ${nodeUs.toFixed(2)} | ${inside.join(", ")} |`,
  );
}

async function setup(e: Engine): Promise<void> {
  for (let c = 0; c < CHANNELS; c++) {
    await Promise.all(Array.from({ length: MEMBERS }, (_, m) => e.join(`c${c}`, `u${m}`)));
    await e.post(`c${c}`, { messageId: "first", senderId: "u0" });
  }
}

try {
  await setup(engine);
  console.log(
    "| operation | at once | script calls | script µs/op | Redis CPU µs/op | Node CPU µs/op | commands per op inside |\n|---|---|---|---|---|---|---|",
  );
  for (const concurrency of [1, 100]) {
    for (const [name, op] of phases) await measure(name, op, concurrency);
  }
} finally {
  admin.disconnect();
  await engine.close();
  await server.destroy();
  await dropSchema(space);
}
