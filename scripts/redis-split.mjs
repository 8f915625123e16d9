// Where a Redis server's time goes, by readstate function: every command it runs for a few seconds,
// from its SLOWLOG with a threshold of 0, summed per top-level call (apply, member_states, claim,
// clear, …) with the commands each ran inside. Run it against a private redis-server while a load
// runs (the bench's C phase, say): logging every command slows the server down (roughly doubles
// each command's recorded time), so read the shares, not the absolute µs. The slowlog settings are
// restored afterwards.
//
//   node scripts/redis-split.mjs [--url redis://127.0.0.1:6391] [--seconds 3]
//
// A command a script runs is logged before the script's own entry (the script ends last), so the
// commands logged since the previous top-level call belong to the next one. Commands of other
// clients (the backlog sampler's ZRANGE/ZCARD) fall in among them, so per-call counts of those are
// approximate.
import { parseArgs } from "node:util";
import { Redis } from "ioredis";

const { values } = parseArgs({
  options: {
    url: { type: "string", default: "redis://127.0.0.1:6391" },
    seconds: { type: "string", default: "3" },
  },
});
const redis = new Redis(values.url);
const saved = await redis.config("GET", "slowlog-*");
const settings = new Map();
for (let i = 0; i < saved.length; i += 2) settings.set(saved[i], saved[i + 1]);

let log;
try {
  await redis.config("SET", "slowlog-max-len", "2000000");
  await redis.slowlog("RESET");
  await redis.config("SET", "slowlog-log-slower-than", "0");
  await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
  await redis.config("SET", "slowlog-log-slower-than", settings.get("slowlog-log-slower-than") ?? "10000");
  log = await redis.slowlog("GET", 2000000);
} finally {
  for (const [name, value] of settings) await redis.config("SET", name, value);
  await redis.slowlog("RESET");
}

// Oldest first; a top-level call is an FCALL/EVALSHA or any command outside a script that is not
// followed by a script claiming it (here: the commands of clients that call no script).
const calls = new Map();
let inside = new Map();
let total = 0;
for (const [, , us, args] of log.reverse()) {
  const command = String(args[0]).toLowerCase();
  if (!command.startsWith("fcall") && !command.startsWith("evalsha")) {
    inside.set(command, (inside.get(command) ?? 0) + 1);
    continue;
  }
  // readstate's functions are rs_<library hash>_<script>.
  const name = String(args[1]).replace(/^rs_[0-9a-f]+_/, "");
  const entry = calls.get(name) ?? { calls: 0, us: 0, keys: 0, inside: new Map() };
  entry.calls += 1;
  entry.us += us;
  entry.keys += Number(args[2]);
  for (const [c, n] of inside) entry.inside.set(c, (entry.inside.get(c) ?? 0) + n);
  calls.set(name, entry);
  total += us;
  inside = new Map();
}

console.log(
  `${log.length} commands logged in ${values.seconds} s; script calls' time ${(total / 1e3).toFixed(0)} ms`,
);
console.log(
  "| function | calls | share of script time | µs per call | keys per call | commands inside per call |",
);
console.log("|---|---:|---:|---:|---:|---|");
for (const [name, e] of [...calls].sort((a, b) => b[1].us - a[1].us)) {
  const inner = [...e.inside]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([c, n]) => `${c} ${(n / e.calls).toFixed(1)}`)
    .join(", ");
  console.log(
    `| ${name} | ${e.calls} | ${((100 * e.us) / total).toFixed(1)}% | ${(e.us / e.calls).toFixed(0)} | ${(e.keys / e.calls).toFixed(1)} | ${inner} |`,
  );
}
redis.disconnect();
