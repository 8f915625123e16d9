// Scenario 10: Redis loses its data while a flush is between its claim and its commit (a PostgreSQL
// session holds a lock the flush's insert needs), under load; the channels are reloaded and written
// to before the held flush commits. Allowed: writes acknowledged in the window before the loss.
// Never allowed: PostgreSQL holding rows of the lost copy beside the reloaded one (two messages at
// one seq, a message or cursor above its channel's seq) — checked directly, and again by a second
// loss after everything was flushed, which must rebuild exactly the answers the service gave.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { checkService } from "./support/checker.js";
import { client } from "./support/http.js";
import { CI, LONG, sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, describeLosses, firstAckAfter, oldestLostAge, Rig, verify } from "./support/rig.js";

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

/** Rows that cannot belong to one consistent state of their channel. */
async function corruptRows(databaseUrl: string, schema: string): Promise<string[]> {
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  try {
    const found: string[] = [];
    const q = async (what: string, sql: string) => {
      for (const row of (await db.query(sql.replaceAll(":schema", `"${schema}"`))).rows)
        found.push(`${what}: ${JSON.stringify(row)}`);
    };
    await q(
      "two messages at one seq",
      "SELECT channel_id, seq, array_agg(message_id) AS ids FROM :schema.messages GROUP BY 1, 2 HAVING count(*) > 1",
    );
    await q(
      "message above its channel's seq",
      "SELECT m.channel_id, m.message_id, m.seq, c.seq AS channel_seq FROM :schema.messages m JOIN :schema.channels c USING (channel_id) WHERE m.seq > c.seq",
    );
    await q(
      "cursor above its channel's seq",
      "SELECT m.channel_id, m.user_id, m.read_seq, c.seq AS channel_seq FROM :schema.members m JOIN :schema.channels c USING (channel_id) WHERE m.active AND m.read_seq > c.seq",
    );
    return found;
  } finally {
    await db.end();
  }
}

test("Redis data lost between a flush's claim and its commit: no stale row reaches PostgreSQL", async () => {
  const service = await rig.launchReady("serve", { flushIntervalMs: 1000 });
  const http = client(service.url);
  const driver = rig.driver(service);
  await driver.setup();
  const loadMs = LONG ? 30_000 : CI ? 10_000 : 12_000;
  const load = driver.start({ durationMs: loadMs, maxOps: 200_000 });
  await sleep(loadMs / 3);

  const locker = new pg.Client({ connectionString: rig.postgres.url });
  await locker.connect();
  rig.onDestroy(() => locker.end());
  await locker.query("BEGIN");
  await locker.query(`LOCK TABLE "${rig.schema}".messages IN SHARE MODE`);
  let held = false;
  for (let i = 0; i < 100 && !held; i++) {
    const { rows } = await locker.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND pid <> pg_backend_pid()",
    );
    held = (rows[0]?.n ?? 0) > 0;
    if (!held) await sleep(50);
  }

  const faultAt = Date.now();
  await rig.redis.replaceWithEmpty();
  const healedAt = Date.now();
  // The load goes on: every channel is reloaded and written to while the old flush still waits.
  await sleep(2000);
  await locker.query("COMMIT");
  await load;

  const problems = await verify(rig, service, driver);
  const corrupt = await corruptRows(rig.postgres.url, rig.schema);
  const lostAge = oldestLostAge(driver, faultAt);
  const lostAtFirstCheck = driver.ledger.losses.length;

  // Everything is flushed now: a second loss must rebuild every answer from PostgreSQL alone.
  await rig.redis.replaceWithEmpty();
  const again = await checkService(http, driver.ledger, driver.channelIds, driver.userIds);
  const lostBySecondLoss = driver.ledger.losses.length - lostAtFirstCheck;

  const result = {
    id: 10,
    name: "Redis data lost mid-flush",
    injected:
      "a flush held between claim and commit (lock on messages), Redis replaced by an empty server, channels reloaded and written under load for 2 s, then the flush released; later a second loss",
    acknowledged: ackedWrites(driver),
    lost: lostAtFirstCheck,
    allowed: "acks of the last flush interval (< 10 s); 0 corrupt rows; 0 lost by the second loss",
    oldestLostAgeMs: lostAge,
    recoveryMs: firstAckAfter(driver, healedAt),
    notes: `flush held at the loss: ${held}; corrupt rows in PostgreSQL: ${corrupt.length}; lost by the second loss (after a full flush): ${lostBySecondLoss}`,
    passed: false,
  };
  result.passed =
    held &&
    problems.length === 0 &&
    corrupt.length === 0 &&
    again.problems.length === 0 &&
    lostBySecondLoss === 0;
  writeResult(result);

  expect(held, "no flush was waiting on the held lock").toBe(true);
  expect(corrupt, corrupt.join("\n")).toEqual([]);
  expect(problems, problems.join("\n")).toEqual([]);
  expect(lostAge, describeLosses(driver, faultAt)).toBeLessThan(10_000);
  expect(again.problems, again.problems.join("\n")).toEqual([]);
  expect(lostBySecondLoss, describeLosses(driver, Date.now())).toBe(0);
});
