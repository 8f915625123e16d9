// Scenario 13: Redis at maxmemory (noeviction, the only policy accepted) under load. Writes are
// refused with 503 naming Redis memory and nothing half-applied; reads of cached channels answer;
// the worker keeps draining the backlog to PostgreSQL; /readyz and /metrics show it; nothing
// acknowledged is lost, and writes are accepted again once memory is back.
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, test } from "vitest";
import { drained } from "./support/checker.js";
import { client } from "./support/http.js";
import { LONG, sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import {
  ackedWrites,
  describeLosses,
  firstAckAfter,
  oldestLostAge,
  Rig,
  refusedPostsApplied,
  verify,
} from "./support/rig.js";

const rig = new Rig({ maxmemoryPolicy: "noeviction", maxmemory: "0" });
let admin: Redis;
beforeAll(async () => {
  await rig.start();
  admin = new Redis(rig.redis.url);
  rig.onDestroy(() => admin.disconnect());
});
afterAll(() => rig.destroy());

async function usedMemory(): Promise<number> {
  return Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1]);
}

/** Fills Redis with keys of its own up to a limit, then sets the limit below what it uses. */
async function fill(): Promise<number> {
  await admin.config("SET", "maxmemory", String((await usedMemory()) + 2 * 1024 * 1024));
  const block = "x".repeat(64 * 1024);
  let keys = 0;
  for (;;) {
    const refused = await admin.set(`filler:${keys}`, block).then(
      () => false,
      (err: Error) => /^OOM/.test(err.message),
    );
    if (refused) break;
    keys++;
  }
  // A refused SET frees its own buffer, which could leave Redis a few bytes under the limit.
  await admin.config("SET", "maxmemory", String((await usedMemory()) - 256 * 1024));
  return keys;
}

test("Redis at maxmemory under load: writes 503 naming memory, reads answer, worker drains", async () => {
  const service = await rig.launchReady("serve");
  const http = client(service.url);
  const driver = rig.driver(service);
  await driver.setup();
  const fullMs = LONG ? 20_000 : 5000;
  const load = driver.start({ durationMs: 2000 + fullMs + 3000, maxOps: 200_000 });

  await sleep(2000);
  const filler = await fill();
  const faultAt = Date.now();
  const drainMs = await drained(http, fullMs);
  const ready = await http.request("GET", "/readyz");
  const metrics = await http.request("GET", "/metrics");
  await sleep(Math.max(0, faultAt + fullMs - Date.now()));
  await admin.config("SET", "maxmemory", "0");
  const freedAt = Date.now();
  await load;

  const during = driver.ledger.ops.filter((o) => o.sentAt >= faultAt && o.doneAt < freedAt);
  const writes = during.filter((o) => o.kind !== "get");
  const refusedNamingMemory = writes.filter(
    (o) => o.status === 503 && o.code === "unavailable" && /out of memory/.test(o.message ?? ""),
  ).length;
  const ackedWritesDuring = writes.filter((o) => o.outcome === "ack").length;
  const reads = during.filter((o) => o.kind === "get");
  const readsAnswered = reads.filter((o) => o.status === 200).length;
  const applied = await refusedPostsApplied(service, driver);
  const problems = await verify(rig, service, driver);
  const readyBody = ready.body as { redis?: { ok: boolean; reason?: string } };
  const readyShows = ready.status === 503 && /maxmemory/.test(readyBody.redis?.reason ?? "");
  const metricShows =
    typeof metrics.body === "string" && /^readstate_redis_memory_full 1$/m.test(metrics.body);
  const recovery = firstAckAfter(driver, freedAt);
  const result = {
    id: 13,
    name: "Redis at maxmemory",
    injected: `maxmemory set just below Redis's use after filling it with ${filler} keys of 64 KiB (noeviction), under load, for ${fullMs / 1000} s`,
    acknowledged: ackedWrites(driver),
    lost: driver.ledger.losses.length,
    allowed: "0; a 503 never applies",
    oldestLostAgeMs: oldestLostAge(driver, faultAt),
    recoveryMs: recovery,
    notes:
      `${refusedNamingMemory}/${writes.length} writes while full answered 503 naming Redis memory (${ackedWritesDuring} acked); ` +
      `${readsAnswered}/${reads.length} reads answered 200; backlog drained by the worker ${drainMs} ms after the fill; ` +
      `${applied.length} of the posts answered 503 applied later; /readyz 503 naming maxmemory: ${readyShows}; ` +
      `readstate_redis_memory_full 1: ${metricShows}; recovery = first ack after maxmemory was lifted`,
    passed: false,
  };
  result.passed =
    problems.length === 0 &&
    result.lost === 0 &&
    applied.length === 0 &&
    refusedNamingMemory > 0 &&
    ackedWritesDuring === 0 &&
    reads.length > 0 &&
    readsAnswered === reads.length &&
    readyShows &&
    metricShows &&
    recovery !== null;
  writeResult(result);

  expect(problems, problems.join("\n")).toEqual([]);
  expect(result.lost, describeLosses(driver, faultAt)).toBe(0);
  expect(applied, applied.join("\n")).toEqual([]);
  expect(refusedNamingMemory).toBeGreaterThan(0);
  expect(ackedWritesDuring).toBe(0);
  expect(readsAnswered).toBe(reads.length);
  expect(readyShows, JSON.stringify(ready)).toBe(true);
  expect(metricShows).toBe(true);
  expect(recovery).not.toBeNull();
});
