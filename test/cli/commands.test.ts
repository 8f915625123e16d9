// The other commands as processes: --help, usage errors, migrate, doctor, flush, worker.
import { afterAll, describe, expect, it } from "vitest";
import { aofVerdict, evictionVerdict } from "../../src/cli/doctor.js";
import { isLoopback } from "../../src/cli/serve.js";
import { cleanup, engineFor, queryPg, testSpace } from "../helpers/env.js";
import { runCli, startCli } from "./run.js";

const space = testSpace("cli-commands");
const spaceFlags = ["--prefix", space.keyPrefix, "--schema", space.schema];

afterAll(async () => {
  await cleanup(space);
});

describe.concurrent("usage", () => {
  it.each(["serve", "worker", "migrate", "flush", "doctor"])(
    "%s --help prints its options and exits 0",
    async (name) => {
      const run = await runCli([name, "--help"]);
      expect(run.code).toBe(0);
      expect(run.stdout).toContain(`Usage: readstate ${name}`);
      expect(run.stdout).toContain("--help");
    },
  );

  it("lists the commands with --help, and exits 2 on an unknown command or flag", async () => {
    const help = await runCli(["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/serve[\s\S]*worker[\s\S]*migrate[\s\S]*flush[\s\S]*doctor/);
    const unknown = await runCli(["launch"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "launch"');
    const badFlag = await runCli(["serve", "--colour"]);
    expect(badFlag.code).toBe(2);
    expect(badFlag.stderr).toContain("--colour");
  });

  it("serve refuses a non-loopback host without a token, naming the fixes", async () => {
    const run = await runCli(["serve", "--host", "0.0.0.0", ...spaceFlags], { READSTATE_API_TOKEN: "" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("READSTATE_API_TOKEN");
    expect(run.stderr).toContain("--insecure");
  });

  it("reports a config value it cannot use with the variable's name", async () => {
    const run = await runCli(["migrate"], { READSTATE_PG_SCHEMA: "Bad-Schema" });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain("Bad-Schema");
  });

  it("tells loopback hosts from the others", () => {
    for (const host of ["127.0.0.1", "127.1.2.3", "localhost", "::1"]) expect(isLoopback(host)).toBe(true);
    for (const host of ["0.0.0.0", "::", "10.0.0.5", "example.com"]) expect(isLoopback(host)).toBe(false);
  });
});

describe("migrate and doctor", () => {
  it("doctor fails on a schema not migrated yet, and passes after migrate", async () => {
    const before = await runCli(["doctor", ...spaceFlags]);
    expect(before.code, before.stdout).toBe(1);
    expect(before.stdout).toMatch(/FAIL\s+postgres schema/);
    expect(before.stdout).toContain("fix: readstate migrate");

    const migrate = await runCli(["migrate", "--schema", space.schema]);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain("applied");
    const again = await runCli(["migrate", "--schema", space.schema]);
    expect(again.stdout).toContain("up to date");

    const after = await runCli(["doctor", ...spaceFlags, "--json"]);
    expect(after.code, after.stdout).toBe(0);
    const { checks } = JSON.parse(after.stdout) as { checks: { check: string; verdict: string }[] };
    expect(checks.map((check) => check.check)).toEqual([
      "redis",
      "redis maxmemory-policy",
      "redis persistence",
      "postgres",
      "postgres schema",
    ]);
    expect(checks.filter((check) => check.verdict === "fail")).toEqual([]);
  });

  it("doctor fails with the fix when Redis or PostgreSQL cannot be reached", async () => {
    const run = await runCli([
      "doctor",
      "--redis-url",
      "redis://127.0.0.1:1",
      "--database-url",
      "postgres://postgres@127.0.0.1:1/postgres",
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/FAIL\s+redis/);
    expect(run.stdout).toMatch(/FAIL\s+postgres/);
  });

  it("judges eviction policies and AOF settings", () => {
    expect(evictionVerdict("r", "noeviction").verdict).toBe("ok");
    // volatile-* evicts single keys of a clean channel, leaving it half there.
    const volatile = evictionVerdict("r", "volatile-lru");
    expect(volatile.verdict).toBe("fail");
    expect(volatile.detail).toMatch(/single keys/);
    expect(volatile.fix).toContain("noeviction");
    const allkeys = evictionVerdict("r", "allkeys-lru");
    expect(allkeys.verdict).toBe("fail");
    expect(allkeys.fix).toContain("noeviction");
    expect(aofVerdict("r", "yes", "everysec").verdict).toBe("ok");
    expect(aofVerdict("r", "no", "everysec")).toMatchObject({
      verdict: "warn",
      fix: expect.stringContaining("appendonly yes"),
    });
    expect(aofVerdict("r", "yes", "no")).toMatchObject({
      verdict: "warn",
      fix: expect.stringContaining("everysec"),
    });
  });
});

describe("flush and worker", () => {
  it("flush writes the backlog to PostgreSQL and prints the result", async () => {
    const engine = await engineFor(space);
    await engine.join("w1", "ann");
    await engine.post("w1", { messageId: "m1", senderId: "bob" });
    await engine.close();
    const run = await runCli(["flush", ...spaceFlags]);
    expect(run.code, run.stderr).toBe(0);
    const result = JSON.parse(run.stdout) as { flushed: number; remaining: number };
    expect(result.flushed).toBeGreaterThan(0);
    expect(result.remaining).toBe(0);
  });

  it("worker flushes on its interval and exits 0 on SIGTERM", async () => {
    const engine = await engineFor(space);
    await engine.post("w2", { messageId: "m1", senderId: "bob" });
    await engine.close();
    const worker = startCli(["worker", ...spaceFlags, "--flush-interval-ms", "100"]);
    const deadline = Date.now() + 20_000;
    let rows: unknown[] = [];
    while (Date.now() < deadline) {
      rows = await queryPg(space, "SELECT 1 FROM channels WHERE channel_id = 'w2' AND seq = 1").catch(
        () => [],
      );
      if (rows.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(rows).toHaveLength(1);
    worker.child.kill("SIGTERM");
    const stopped = await worker.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
  });
});
