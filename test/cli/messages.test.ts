// When a dependency is missing or misconfigured, every command says which one, the URL it tried
// (without the password) and the fix, in one line on stderr, and exits 1.
import { describe, expect, it } from "vitest";
import { dependencyOf, explain, redactUrl } from "../../src/cli/deps.js";
import { runCli } from "./run.js";

const NO_PG = "postgres://postgres:s3cret@127.0.0.1:1/postgres";
const NO_REDIS = "redis://:s3cret@127.0.0.1:1";

describe("messages a person can act on", () => {
  it.each(["serve", "worker", "migrate"])("%s: PostgreSQL not answering", async (command) => {
    const run = await runCli(
      [command, "--database-url", NO_PG, "--port", "0"].slice(0, command === "serve" ? 5 : 3),
    );
    expect(run.code).toBe(1);
    const line = run.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain(
      `readstate ${command}: cannot reach PostgreSQL at postgres://postgres:***@127.0.0.1:1/postgres`,
    );
    expect(line).toContain("ECONNREFUSED");
    expect(line).toContain("Start PostgreSQL or set DATABASE_URL");
    expect(line).not.toContain("s3cret");
    // Only serve is what npm start runs.
    if (command === "serve") expect(line).toContain("`npm start` starts an embedded one");
    else expect(line).not.toContain("npm start");
  });

  it.each(["serve", "worker"])("%s: Redis not answering", async (command) => {
    const run = await runCli(
      [command, "--redis-url", NO_REDIS, "--port", "0"].slice(0, command === "serve" ? 5 : 3),
    );
    expect(run.code).toBe(1);
    const line = run.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain(
      `readstate ${command}: cannot reach Redis at redis://:***@127.0.0.1:1 (connect ECONNREFUSED`,
    );
    expect(line).toContain("Start Redis or set REDIS_URL");
    expect(line).not.toContain("s3cret");
  });

  it("migrate: a database that does not exist, and a role that does not", async () => {
    const missing = await runCli([
      "migrate",
      "--database-url",
      "postgres://postgres@127.0.0.1:5432/readstate_nosuchdb",
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("the database does not exist");
    expect(missing.stderr).toContain("createdb readstate_nosuchdb");
    const role = await runCli([
      "migrate",
      "--database-url",
      "postgres://readstate_nobody:pw@127.0.0.1:5432/postgres",
    ]);
    expect(role.code).toBe(1);
    expect(role.stderr).toContain("refused the login");
    expect(role.stderr).toContain("Check the user and password in DATABASE_URL");
    expect(role.stderr).not.toContain(":pw@");
  });

  it("doctor: the same words, the fix on its own line", async () => {
    const run = await runCli(["doctor", "--redis-url", NO_REDIS, "--database-url", NO_PG]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("cannot reach Redis at redis://:***@127.0.0.1:1 (connect ECONNREFUSED");
    expect(run.stdout).toContain("cannot reach PostgreSQL at postgres://postgres:***@127.0.0.1:1/postgres");
    expect(run.stdout).toMatch(/fix: Start PostgreSQL or set DATABASE_URL/);
    expect(run.stdout).not.toContain("s3cret");
  });

  it("explains errors by kind, and redacts passwords", () => {
    expect(redactUrl("postgres://u:p@h:1/d")).toBe("postgres://u:***@h:1/d");
    const refused = Object.assign(
      new AggregateError([
        Object.assign(new Error("connect ECONNREFUSED ::1:5432"), { code: "ECONNREFUSED" }),
      ]),
      { code: "ECONNREFUSED" },
    );
    expect(dependencyOf(refused)).toBe("PostgreSQL");
    expect(explain("serve", "PostgreSQL", "postgres://postgres@localhost:5432/postgres", refused)).toBe(
      "cannot reach PostgreSQL at postgres://postgres@localhost:5432/postgres (connect ECONNREFUSED ::1:5432). " +
        "Start PostgreSQL or set DATABASE_URL; `npm start` starts an embedded one when nothing runs there.",
    );
    const unresolved = Object.assign(new Error("getaddrinfo ENOTFOUND db.example"), { code: "ENOTFOUND" });
    expect(explain("worker", "PostgreSQL", "postgres://db.example/x", unresolved)).toContain(
      "Check the host name in DATABASE_URL",
    );
    expect(
      explain("serve", "Redis", "redis://h:1", new Error("WRONGPASS invalid username-password pair")),
    ).toContain("Check the user and password in REDIS_URL");
  });
});
