// Scenario 9: a Redis that may evict any key (maxmemory-policy allkeys-lru) would silently drop state
// not yet in PostgreSQL: the service must refuse to start, exit non-zero, and say why.
import { afterAll, beforeAll, expect, test } from "vitest";
import { writeResult } from "./support/results.js";
import { Rig } from "./support/rig.js";

const rig = new Rig({ maxmemoryPolicy: "allkeys-lru" });
beforeAll(() => rig.start().then(() => {}));
afterAll(() => rig.destroy());

test("Redis with maxmemory-policy allkeys-lru: serve refuses to start with a clear message", async () => {
  const startedAt = Date.now();
  const service = await rig.launch("serve");
  const timer = setTimeout(() => void service.kill9(), 30_000);
  const code = await service.exit;
  clearTimeout(timer);
  const message = service.output.split("\n").find((l) => l.includes("maxmemory-policy")) ?? "";
  const result = {
    id: 9,
    name: "Redis may evict (allkeys-lru)",
    injected: "private redis-server with maxmemory-policy allkeys-lru",
    acknowledged: 0,
    lost: 0,
    allowed: "refuse to start",
    oldestLostAgeMs: 0,
    recoveryMs: null,
    notes: `exit code ${code} after ${Date.now() - startedAt} ms; message names maxmemory-policy: ${message !== ""}`,
    passed: code !== 0 && code !== null && /allkeys-lru/.test(message),
  };
  writeResult(result);

  expect(code).not.toBe(0);
  expect(code).not.toBeNull();
  expect(message, service.output.slice(-2000)).toMatch(/maxmemory-policy/);
  expect(message).toMatch(/allkeys-lru/);
  expect(message).toMatch(/noeviction/);
});
