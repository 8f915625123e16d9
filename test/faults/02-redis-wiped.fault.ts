// Scenario 2: Redis loses all its data (an empty server comes up on the same port). Allowed: writes
// acknowledged within the last flush interval (< 10 s before the loss); sequences continue from what
// PostgreSQL holds, they never restart.
import { afterAll, beforeAll, expect, test } from "vitest";
import { CI, LONG, sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, describeLosses, firstAckAfter, oldestLostAge, Rig, verify } from "./support/rig.js";

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

test("Redis replaced by an empty server: nothing acked > 10 s before is lost, seqs continue", async () => {
  // The default interval: the window this scenario proves is the one operators get.
  const service = await rig.launchReady("serve", { flushIntervalMs: 5000 });
  const driver = rig.driver(service);
  await driver.setup();
  const loadMs = LONG ? 40_000 : CI ? 12_000 : 14_000;
  const load = driver.start({ durationMs: loadMs, maxOps: 200_000 });

  await sleep(loadMs / 2);
  // The highest seq per channel that PostgreSQL held before the loss: seqs must continue above it.
  const faultAt = Date.now();
  await rig.redis.replaceWithEmpty();
  const healedAt = Date.now();
  await load;

  const problems = await verify(rig, service, driver);
  // Sequences continue: every post acknowledged after the loss got a seq above every post that was
  // acknowledged more than 10 s before it (a restart at 1 would reuse those).
  for (const channelId of driver.channelIds) {
    const posts = driver.ledger.acked.filter((o) => o.kind === "post" && o.channelId === channelId);
    const oldMax = Math.max(0, ...posts.filter((o) => o.doneAt < faultAt - 10_000).map((o) => o.seq ?? 0));
    const after = posts.find((o) => o.sentAt >= healedAt);
    if (after && (after.seq ?? 0) <= oldMax)
      problems.push(`${channelId}: seq restarted at ${after.seq} ≤ ${oldMax}`);
  }
  const lostAge = oldestLostAge(driver, faultAt);
  const reuses = driver.ledger.seqReuses.length;
  const result = {
    id: 2,
    name: "Redis data lost (empty server)",
    injected:
      "kill -9 redis-server, delete its AOF, start an empty one on the same port (flush interval 5 s)",
    acknowledged: ackedWrites(driver),
    lost: driver.ledger.losses.length,
    allowed: "acks of the last flush interval (< 10 s)",
    oldestLostAgeMs: lostAge,
    recoveryMs: firstAckAfter(driver, healedAt),
    notes: `seqs continued above PostgreSQL's; ${reuses} seqs of lost (in-window) posts handed out again`,
    passed: false,
  };
  result.passed = problems.length === 0 && lostAge < 10_000;
  writeResult(result);

  expect(problems, problems.join("\n")).toEqual([]);
  expect(lostAge, describeLosses(driver, faultAt)).toBeLessThan(10_000);
  expect(service.running).toBe(true);
});
