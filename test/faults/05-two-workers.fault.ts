// Scenario 5: two workers (plus forced flushes through the API, which ignore leases) writing the same
// partitions at once. PostgreSQL must never move backwards: every row's version only grows, and so
// does every channel's seq. A sampler reads all rows over and over while they write.
import pg from "pg";
import { afterAll, beforeAll, expect, test } from "vitest";
import { client } from "./support/http.js";
import { CI, LONG, sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, describeLosses, oldestLostAge, Rig, verify } from "./support/rig.js";

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

test("two workers on the same partitions: PostgreSQL never moves backwards", async () => {
  const api = await rig.launchReady("serve", {}, ["--no-worker"]);
  await rig.launchReady("worker", { flushIntervalMs: 20 });
  await rig.launchReady("worker", { flushIntervalMs: 20 });
  const http = client(api.url);
  const driver = rig.driver(api);
  await driver.setup();
  const loadMs = LONG ? 30_000 : CI ? 6_000 : 10_000;
  const startedAt = Date.now();
  const load = driver.start({ durationMs: loadMs, maxOps: 200_000 });

  // Forced flushes from the API process: a third writer that ignores the workers' leases.
  let forced = 0;
  const forcing = (async () => {
    while (Date.now() < startedAt + loadMs) {
      if ((await http.request("POST", "/v1/admin/flush")).status === 200) forced++;
      await sleep(30);
    }
  })();

  const backwards: string[] = [];
  let samples = 0;
  const sampler = new pg.Client({ connectionString: rig.postgres.url });
  await sampler.connect();
  rig.onDestroy(() => sampler.end());
  const last = new Map<string, { version: number; seq: number }>();
  const observe = (key: string, version: number, seq: number) => {
    const before = last.get(key);
    if (before && (version < before.version || seq < before.seq)) {
      backwards.push(`${key}: version ${before.version}→${version}, seq ${before.seq}→${seq}`);
    }
    last.set(key, { version, seq });
  };
  const s = `"${rig.schema}"`;
  while (Date.now() < startedAt + loadMs + 1000) {
    // One snapshot per statement: REPEATABLE READ is not needed, each row is compared with itself.
    const channels = await sampler
      .query(`SELECT channel_id, seq, version FROM ${s}.channels`)
      .catch(() => undefined);
    const members = await sampler
      .query(`SELECT channel_id, user_id, version FROM ${s}.members`)
      .catch(() => undefined);
    const messages = await sampler
      .query(`SELECT channel_id, message_id, version FROM ${s}.messages`)
      .catch(() => undefined);
    for (const r of channels?.rows ?? [])
      observe(`channel ${r.channel_id}`, Number(r.version), Number(r.seq));
    for (const r of members?.rows ?? []) observe(`member ${r.channel_id}/${r.user_id}`, Number(r.version), 0);
    for (const r of messages?.rows ?? [])
      observe(`message ${r.channel_id}/${r.message_id}`, Number(r.version), 0);
    samples++;
    await sleep(20);
  }
  await load;
  await forcing;

  const problems = await verify(rig, api, driver);
  const result = {
    id: 5,
    name: "two workers at once",
    injected: `2 \`readstate worker\` processes (20 ms interval) + ${forced} forced API flushes, same partitions`,
    acknowledged: ackedWrites(driver),
    lost: driver.ledger.losses.length,
    allowed: "0; no row ever older",
    oldestLostAgeMs: oldestLostAge(driver, startedAt),
    recoveryMs: null,
    notes: `${samples} full samples of ${last.size} rows, ${backwards.length} moved backwards`,
    passed: false,
  };
  result.passed = problems.length === 0 && result.lost === 0 && backwards.length === 0;
  writeResult(result);

  expect(backwards, backwards.slice(0, 20).join("\n")).toEqual([]);
  expect(samples).toBeGreaterThan(10);
  expect(problems, problems.join("\n")).toEqual([]);
  expect(result.lost, describeLosses(driver, startedAt)).toBe(0);
});
