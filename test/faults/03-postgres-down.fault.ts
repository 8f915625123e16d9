// Scenario 3: PostgreSQL stopped (-m immediate) under load for 60 s (8 s under CI, FAULT_LONG=1 for
// the full minute). Writes keep being accepted, nothing is lost, the backlog drains after the restart,
// and /readyz and /metrics show the outage while it lasts. PostgreSQL stops at the worst instant: while
// the worker's flush is inside its transaction (held by a lock), so its session dies under it.
import { afterAll, beforeAll, expect, test } from "vitest";
import { holdFlushes } from "../helpers/hold.js";
import { drained } from "./support/checker.js";
import { client } from "./support/http.js";
import { CI, LONG, sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, describeLosses, oldestLostAge, Rig, verify } from "./support/rig.js";

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

function gauge(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(" ")[1]) : Number.NaN;
}

test("PostgreSQL down under load: writes accepted, /readyz 503, backlog in /metrics, then drained", async () => {
  const service = await rig.launchReady("serve");
  const http = client(service.url);
  const driver = rig.driver(service, { pauseMs: 10 });
  await driver.setup();
  const outageMs = LONG ? 60_000 : CI ? 8_000 : 15_000;
  const load = driver.start({ durationMs: 2000 + outageMs, maxOps: 500_000 });

  await sleep(2000);
  const hold = await holdFlushes({ databaseUrl: rig.postgres.url, schema: rig.schema });
  // The worker flushes every second; a load that wrote nothing new would leave it nothing to hold.
  const midFlush =
    (await hold.untilFlushWaits(new Promise(() => {}), 10_000).catch(() => "no")) === "waiting";
  const faultAt = Date.now();
  await rig.postgres.stopImmediate();
  await hold.release().catch(() => {});
  const seen = { readyz503: 0, readyzReason: "", maxDirty: 0, maxAgeS: 0 };
  while (Date.now() < faultAt + outageMs) {
    const ready = await http.request("GET", "/readyz");
    if (ready.status === 503) {
      seen.readyz503++;
      seen.readyzReason = JSON.stringify(ready.body);
    }
    const metrics = await http.request("GET", "/metrics");
    const text = typeof metrics.body === "string" ? metrics.body : "";
    seen.maxDirty = Math.max(seen.maxDirty, gauge(text, "readstate_sync_dirty") || 0);
    seen.maxAgeS = Math.max(seen.maxAgeS, gauge(text, "readstate_sync_oldest_dirty_age_seconds") || 0);
    await sleep(500);
  }
  driver.stop();
  await load;
  const duringOutage = driver.ledger.ops.filter((o) => o.sentAt >= faultAt && o.kind !== "get");
  const refused = duringOutage.filter((o) => o.outcome !== "ack").length;
  await rig.postgres.start();
  const restartedAt = Date.now();
  // The worker alone must drain the backlog (no API flush here).
  const drainMs = await drained(http, 60_000);
  const ready = await http.request("GET", "/readyz");

  const problems = await verify(rig, service, driver);
  const result = {
    id: 3,
    name: "PostgreSQL down",
    injected: `pg_ctl stop -m immediate for ${outageMs / 1000} s under load, while a flush waits inside its transaction (held lock), then start`,
    acknowledged: ackedWrites(driver),
    lost: driver.ledger.losses.length,
    allowed: "0",
    oldestLostAgeMs: oldestLostAge(driver, faultAt),
    recoveryMs: drainMs,
    notes: `stopped mid-flush: ${midFlush}; ${duringOutage.length - refused} writes acked during the outage, ${refused} refused; /readyz 503 ×${seen.readyz503}; peak backlog ${seen.maxDirty} channels, oldest ${seen.maxAgeS.toFixed(1)} s; recovery = backlog drained by the worker after restart`,
    passed: false,
  };
  result.passed =
    problems.length === 0 &&
    result.lost === 0 &&
    refused === 0 &&
    seen.readyz503 > 0 &&
    seen.maxDirty > 0 &&
    midFlush &&
    service.running;
  writeResult(result);
  void restartedAt;

  expect(midFlush).toBe(true);
  // The flush's session died under it: the service must go on (a pg client's late 'error' once ended it).
  expect(service.running).toBe(true);
  expect(problems, problems.join("\n")).toEqual([]);
  expect(result.lost, describeLosses(driver, faultAt)).toBe(0);
  expect(refused).toBe(0);
  expect(duringOutage.length).toBeGreaterThan(0);
  expect(seen.readyz503).toBeGreaterThan(0);
  expect(seen.readyzReason).toMatch(/postgres/i);
  expect(seen.maxDirty).toBeGreaterThan(0);
  expect(seen.maxAgeS).toBeGreaterThan(outageMs / 2000);
  expect(ready.status).toBe(200);
});
