// `npm start` with nothing configured, for real: in a network namespace of its own (loopback only, so
// nothing answers on 5432 or 6379) it starts an embedded PostgreSQL and redis-server, serves, stops
// them after the final flush on a SIGTERM to its process group, and a second start finds the state;
// a third, with Redis's data gone, finds it in the embedded PostgreSQL. Needs root (`ip netns add`).
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT } from "./run.js";

const run = promisify(execFile);
const canNetns = (() => {
  if (process.getuid?.() !== 0) return false;
  try {
    execFileSync("ip", ["netns", "list"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
})();

const ns = `rs-zero-${process.pid}`;
const dataDir = mkdtempSync(join(tmpdir(), "readstate-zero-"));
const base = "http://127.0.0.1:8080";
const started: number[] = [];

async function curl(
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: unknown }> {
  const args = ["netns", "exec", ns, "curl", "-s", "-m", "5", "-w", "\n%{http_code}", "-X", method];
  if (body !== undefined) args.push("-H", "content-type: application/json", "-d", JSON.stringify(body));
  const stdout = await run("ip", [...args, `${base}${path}`]).then(
    (result) => result.stdout,
    () => "\n0", // not listening (yet)
  );
  const cut = stdout.lastIndexOf("\n");
  const text = stdout.slice(0, cut);
  return { status: Number(stdout.slice(cut + 1)), body: text ? JSON.parse(text) : undefined };
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Start {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
  readyMs: number;
}

async function npmStart(): Promise<Start> {
  const env: NodeJS.ProcessEnv = { ...process.env, READSTATE_DATA_DIR: dataDir, PORT: "8080" };
  delete env.DATABASE_URL;
  delete env.REDIS_URL;
  const t0 = Date.now();
  // `ip netns exec` execs npm: the group is npm's, as a service manager would start it.
  const child = spawn("ip", ["netns", "exec", ns, "npm", "start", "--silent"], {
    cwd: ROOT,
    env,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
    // The servers it started, as soon as they are logged: afterAll ends them if the test fails.
    for (const match of output.matchAll(/"pid":(\d+),"ms":\d+,"msg":"no /g)) {
      if (!started.includes(Number(match[1]))) started.push(Number(match[1]));
    }
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  let done = false;
  void exited.then(() => {
    done = true;
  });
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline && !done) {
    if ((await curl("GET", "/readyz")).status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const readyMs = Date.now() - t0;
  expect((await curl("GET", "/readyz")).status, output).toBe(200);
  return { child, output: () => output, exited, readyMs };
}

async function stop(start: Start): Promise<void> {
  if (start.child.pid === undefined) throw new Error("no pid");
  process.kill(-start.child.pid, "SIGTERM"); // kill -- -PGID
  expect(await start.exited, start.output()).toBe(0);
  expect(start.output()).toContain('"msg":"stopped"');
  for (const pid of started) expect(alive(pid), `pid ${pid} still runs`).toBe(false);
}

describe.skipIf(!canNetns)("npm start with nothing configured (network namespace)", () => {
  beforeAll(async () => {
    await run("ip", ["netns", "add", ns]);
    await run("ip", ["netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
    chmodSync(dataDir, 0o755); // the embedded PostgreSQL runs as the postgres user when we are root
  });

  afterAll(async () => {
    for (const pid of started) if (alive(pid)) process.kill(pid, "SIGKILL");
    await run("ip", ["netns", "del", ns]).catch(() => {});
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("starts embedded servers, keeps the state across restarts, and stops them after the final flush", async () => {
    const first = await npmStart();
    console.log(`npm start to /readyz 200, embedded servers, first start (initdb): ${first.readyMs} ms`);
    expect(first.output()).toContain("started an embedded PostgreSQL");
    expect(first.output()).toContain("started redis-server");
    expect(started).toHaveLength(2); // their pids, checked gone after each stop
    expect(first.output()).not.toMatch(/127\.0\.0\.1:(5432|6379)\//);
    expect((await curl("PUT", "/v1/channels/general/members/alice")).status).toBe(200);
    expect((await curl("PUT", "/v1/channels/general/members/bob")).status).toBe(200);
    const post = await curl("POST", "/v1/channels/general/messages", {
      messageId: "m1",
      senderId: "bob",
      mentions: ["alice"],
    });
    expect(post.status).toBe(201);
    const before = await curl("GET", "/v1/channels/general/members/alice");
    expect(before.body).toMatchObject({ unread: 1, mentions: 1, channelSeq: 1 });
    await stop(first);

    const second = await npmStart();
    console.log(`npm start to /readyz 200, embedded servers, restart: ${second.readyMs} ms`);
    expect((await curl("GET", "/v1/channels/general/members/alice")).body).toEqual(before.body);
    await stop(second);

    // Without Redis's data, the state comes back from the embedded PostgreSQL (the final flush wrote it).
    rmSync(join(dataDir, "redis"), { recursive: true, force: true });
    const third = await npmStart();
    expect((await curl("GET", "/v1/channels/general/members/alice")).body).toEqual(before.body);
    expect(
      (await curl("POST", "/v1/channels/general/messages", { messageId: "m2", senderId: "bob" })).body,
    ).toMatchObject({ seq: 2 });
    await stop(third);
  });

  it("without redis-server on the PATH, stops with one line that says how to get one", async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      READSTATE_DATA_DIR: dataDir,
      PATH: "/nonexistent", // no redis-server (node and ip are given by their paths)
      DATABASE_URL: "postgres://postgres@127.0.0.1:1/postgres", // given: no embedded PostgreSQL
    };
    delete env.REDIS_URL;
    const ip = execFileSync("sh", ["-c", "command -v ip"]).toString().trim();
    const result = await run(
      ip,
      ["netns", "exec", ns, process.execPath, "dist/src/cli/main.js", "serve", "--start-local"],
      { cwd: ROOT, env },
    ).then(
      () => ({ code: 0, stderr: "" }),
      (err: { code: number; stderr: string }) => err,
    );
    expect(result.code).toBe(1);
    const line = result.stderr.trim();
    expect(line.split("\n")).toHaveLength(1);
    expect(line).toContain("redis-server is not on the PATH");
    expect(line).toContain("apt-get install redis-server");
    expect(line).toContain("brew install redis");
    expect(line).toContain("docker run");
  });
});
