// Scenario 6: SIGTERM while a backlog is waiting (a flush interval longer than the run): the service
// stops taking requests, flushes everything dirty and exits 0. PostgreSQL must then hold every
// acknowledged write, checked against the log (the service is gone).
import { afterAll, beforeAll, expect, test } from "vitest";
import { checkPostgres } from "./support/checker.js";
import { client } from "./support/http.js";
import { CI, LONG, sleep } from "./support/procs.js";
import { writeResult } from "./support/results.js";
import { ackedWrites, Rig } from "./support/rig.js";

const rig = new Rig();
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

test("SIGTERM with a backlog: everything in PostgreSQL after exit 0", async () => {
  const service = await rig.launchReady("serve", { flushIntervalMs: 600_000 });
  const http = client(service.url);
  const driver = rig.driver(service);
  await driver.setup();
  const loadMs = LONG ? 20_000 : CI ? 4_000 : 6_000;
  const load = driver.start({ durationMs: loadMs + 2000, maxOps: 200_000 });
  await sleep(loadMs);
  const sync = (await http.request("GET", "/v1/admin/sync")).body as { dirty: number };

  // Under load: requests in flight finish, later ones are refused (not applied), then the flush.
  const termAt = Date.now();
  const code = await service.terminate(60_000);
  const exitMs = Date.now() - termAt;
  driver.stop();
  await load;

  const diffs = await checkPostgres(rig.postgres.url, rig.schema, driver.ledger.expected());
  const problems = [...diffs, ...driver.violations];
  const lost = diffs.length;
  const result = {
    id: 6,
    name: "SIGTERM with a backlog",
    injected: "SIGTERM to `readstate serve` under load, flush interval 10 min (nothing flushed before)",
    acknowledged: ackedWrites(driver),
    lost,
    allowed: "0",
    oldestLostAgeMs: 0,
    recoveryMs: exitMs,
    notes: `backlog ${sync.dirty} channels at SIGTERM; exit code ${code}; recovery = SIGTERM to exit; lost = PostgreSQL rows differing from the log`,
    passed: false,
  };
  result.passed = code === 0 && problems.length === 0 && sync.dirty > 0;
  writeResult(result);

  expect(sync.dirty).toBeGreaterThan(0);
  expect(code, service.output.slice(-3000)).toBe(0);
  expect(problems, problems.join("\n")).toEqual([]);
});
