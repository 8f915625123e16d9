// Scenario 7: the connection to Redis cut mid-load (a TCP proxy drops every connection and refuses new
// ones), then healed. Requests meanwhile get 503 `unavailable` in the contract's shape, nothing
// acknowledged is lost or half-applied, and the service recovers by itself once Redis is back.
import { afterAll, beforeAll, expect, test } from "vitest";
import { LONG, sleep } from "./support/procs.js";
import { TcpProxy } from "./support/proxy.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, describeLosses, firstAckAfter, oldestLostAge, Rig, verify } from "./support/rig.js";

const rig = new Rig();
let proxy: TcpProxy;
beforeAll(async () => {
  await rig.start();
  proxy = new TcpProxy(rig.redis.port);
  await proxy.start();
  rig.onDestroy(() => proxy.stop());
});
afterAll(() => rig.destroy());

test("Redis connection cut mid-load: 503 unavailable, no partial writes, recovery when healed", async () => {
  const service = await rig.launchReady("serve", { redisUrl: proxy.url });
  const driver = rig.driver(service);
  await driver.setup();
  const cutMs = LONG ? 20_000 : 3000;
  const load = driver.start({ durationMs: 2000 + cutMs + 4000, maxOps: 200_000 });

  await sleep(2000);
  const faultAt = Date.now();
  proxy.cut();
  await sleep(cutMs);
  proxy.heal();
  const healedAt = Date.now();
  await load;

  const during = driver.ledger.ops.filter((o) => o.sentAt >= faultAt + 200 && o.doneAt <= healedAt);
  const unavailable = during.filter((o) => o.status === 503 && o.code === "unavailable").length;
  const ackedDuring = during.filter((o) => o.outcome === "ack").length;
  const problems = await verify(rig, service, driver);
  const recovery = firstAckAfter(driver, healedAt);
  const result = {
    id: 7,
    name: "Redis connection cut",
    injected: `TCP proxy drops all Redis connections and refuses new ones for ${cutMs / 1000} s, then heals`,
    acknowledged: ackedWrites(driver),
    lost: driver.ledger.losses.length,
    allowed: "0",
    oldestLostAgeMs: oldestLostAge(driver, faultAt),
    recoveryMs: recovery,
    notes: `${unavailable}/${during.length} requests during the cut answered 503 unavailable, ${ackedDuring} acked; recovery = first ack after heal`,
    passed: false,
  };
  result.passed =
    problems.length === 0 && result.lost === 0 && unavailable > 0 && ackedDuring === 0 && recovery !== null;
  writeResult(result);

  expect(problems, problems.join("\n")).toEqual([]);
  expect(result.lost, describeLosses(driver, faultAt)).toBe(0);
  expect(unavailable).toBeGreaterThan(0);
  expect(unavailable).toBe(during.length);
  expect(recovery).not.toBeNull();
  expect(service.running).toBe(true);
});
