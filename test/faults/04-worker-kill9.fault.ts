// Scenario 4: the write-behind worker killed with -9 while it flushes (API runs `serve --no-worker`,
// the worker is a separate `readstate worker`), then another worker started. Nothing may be lost:
// the claimed entries stay dirty until a clear that never came.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { drained } from "./support/checker.js";
import { client } from "./support/http.js";
import { LONG, sleep, waitFor } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, describeLosses, oldestLostAge, Rig, verify } from "./support/rig.js";

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

test("worker kill -9 mid-flush, another started: nothing lost", async () => {
  const api = await rig.launchReady("serve", {}, ["--no-worker"]);
  // A short interval keeps the worker flushing nearly all the time, so a kill lands mid-flush often.
  let worker = await rig.launchReady("worker", { flushIntervalMs: 50 });
  const driver = rig.driver(api);
  await driver.setup();
  const kills = LONG ? 4 : 2;
  const load = driver.start({ durationMs: 200_000, maxOps: 300_000 });

  // The failpoint: a held lock on members makes the worker's next flush wait inside its transaction,
  // after its claim and before its clear; seeing that wait in pg_stat_activity, we kill it there.
  const locker = new pg.Client({ connectionString: rig.postgres.url });
  await locker.connect();
  rig.onDestroy(() => locker.end());
  let killsMidFlush = 0;
  let killedAt = 0;
  // How long after a kill the replacement worker first flushed (blocked on the lock): the dead
  // worker's partition leases stand until they expire, so this shows the lag a crash adds.
  const takeoverMs: number[] = [];
  const stalls: string[] = [];
  const faultAt = Date.now();
  for (let i = 0; i < kills; i++) {
    await sleep(1000);
    await locker.query("BEGIN");
    await locker.query(`LOCK TABLE "${rig.schema}".members IN ACCESS EXCLUSIVE MODE`);
    const waiting = await waitFor(
      "the worker's flush to wait on the lock",
      () => lockWaiters(locker),
      60_000,
      20,
    ).catch(() => 0);
    if (waiting > 0) killsMidFlush++;
    else {
      // Why the replacement never flushed: what PostgreSQL sessions do, and what the worker logged.
      const { rows } = await locker.query(
        "SELECT pid, state, wait_event_type, wait_event, left(query, 80) AS query FROM pg_stat_activity WHERE backend_type = 'client backend'",
      );
      const sync = await client(api.url).request("GET", "/v1/admin/sync");
      stalls.push(
        `kill ${i}: ${JSON.stringify(rows)} sync=${JSON.stringify(sync.body)} worker log: ${worker.output.slice(-1500)}`,
      );
    }
    if (i > 0 && waiting > 0) takeoverMs.push(Date.now() - killedAt);
    await worker.kill9();
    killedAt = Date.now();
    await locker.query("COMMIT");
    worker = await rig.launchReady("worker", { flushIntervalMs: 50 });
  }
  driver.stop();
  await load;
  const http = client(api.url);
  // The last worker alone must write what the killed ones had claimed (their leases still stand).
  await drained(http, 90_000);
  const drainMs = Date.now() - killedAt;

  const problems = await verify(rig, api, driver);
  const result = {
    id: 4,
    name: "worker kill -9 mid-flush",
    injected: `kill -9 of \`readstate worker\` ${kills}× under load while its flush transaction waits (held lock), a new worker each time`,
    acknowledged: ackedWrites(driver),
    lost: driver.ledger.losses.length,
    allowed: "0",
    oldestLostAgeMs: oldestLostAge(driver, faultAt),
    recoveryMs: drainMs,
    notes: `${killsMidFlush}/${kills} kills landed mid-flush (its transaction waiting on a held lock); a new worker's first flush came ${takeoverMs.join(", ") || "-"} ms after the kill; recovery = last kill to backlog drained by the new worker`,
    passed: false,
  };
  result.passed = problems.length === 0 && result.lost === 0 && killsMidFlush === kills;
  writeResult(result);

  expect(killsMidFlush, stalls.join("\n")).toBe(kills);
  expect(problems, problems.join("\n")).toEqual([]);
  expect(result.lost, describeLosses(driver, faultAt)).toBe(0);
});

/** Sessions other than the locker's waiting for a lock: the worker's flush, stuck mid-transaction. */
async function lockWaiters(locker: pg.Client): Promise<number | undefined> {
  const { rows } = await locker.query(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
  );
  const n = rows[0]?.n ?? 0;
  return n > 0 ? n : undefined;
}
