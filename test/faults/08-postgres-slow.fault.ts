// Scenario 8: PostgreSQL slow — another session holds ACCESS EXCLUSIVE on the members table, so a flush
// blocks on it. Flushes must not pile up (at most one of the service's sessions waits on the lock), the
// lag the API reports must rise, and nothing may be lost once the lock is released.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { drained } from "./support/checker.js";
import { client } from "./support/http.js";
import { CI, LONG, sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, describeLosses, oldestLostAge, Rig, verify } from "./support/rig.js";

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

test("PostgreSQL slow (held lock): one flush at a time, lag rises, nothing lost", async () => {
  const service = await rig.launchReady("serve", { flushIntervalMs: 200 });
  const http = client(service.url);
  const driver = rig.driver(service, { pauseMs: 10 });
  await driver.setup();
  const lockMs = LONG ? 30_000 : CI ? 6_000 : 10_000;
  const load = driver.start({ durationMs: 1000 + lockMs + 1000, maxOps: 200_000 });
  await sleep(1000);

  const locker = new pg.Client({ connectionString: rig.postgres.url });
  await locker.connect();
  rig.onDestroy(() => locker.end());
  const watcher = new pg.Client({ connectionString: rig.postgres.url });
  await watcher.connect();
  rig.onDestroy(() => watcher.end());

  const faultAt = Date.now();
  await locker.query("BEGIN");
  await locker.query(`LOCK TABLE "${rig.schema}".members IN ACCESS EXCLUSIVE MODE`);
  let maxWaiting = 0;
  let maxLagMs = 0;
  while (Date.now() < faultAt + lockMs) {
    const { rows } = await watcher.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> $1",
      [(locker as unknown as { processID: number }).processID],
    );
    maxWaiting = Math.max(maxWaiting, rows[0]?.n ?? 0);
    const sync = await http.request("GET", "/v1/admin/sync");
    if (sync.status === 200)
      maxLagMs = Math.max(maxLagMs, (sync.body as { oldestDirtyAgeMs: number }).oldestDirtyAgeMs);
    await sleep(250);
  }
  await locker.query("COMMIT");
  const releasedAt = Date.now();
  await load;
  const drainMs = await drained(http, 60_000);
  void releasedAt;

  const problems = await verify(rig, service, driver);
  const result = {
    id: 8,
    name: "PostgreSQL slow (held lock)",
    injected: `another session holds ACCESS EXCLUSIVE on members for ${lockMs / 1000} s under load (flush interval 200 ms)`,
    acknowledged: ackedWrites(driver),
    lost: driver.ledger.losses.length,
    allowed: "0",
    oldestLostAgeMs: oldestLostAge(driver, faultAt),
    recoveryMs: drainMs,
    notes: `at most ${maxWaiting} flush session(s) waiting on the lock; oldestDirtyAgeMs peaked at ${maxLagMs}; recovery = backlog drained after the load stopped`,
    passed: false,
  };
  result.passed = problems.length === 0 && result.lost === 0 && maxWaiting <= 1 && maxLagMs > lockMs / 2;
  writeResult(result);

  expect(maxWaiting).toBeLessThanOrEqual(1);
  expect(maxLagMs).toBeGreaterThan(lockMs / 2);
  expect(problems, problems.join("\n")).toEqual([]);
  expect(result.lost, describeLosses(driver, faultAt)).toBe(0);
});
