// The `serve` process end to end: start, write, SIGTERM (in-flight requests finish, everything is
// flushed, exit 0), lose every Redis key, start again, and find every write (rebuilt from PostgreSQL).
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { cleanup, queryPg, testSpace, wipeRedis } from "../helpers/env.js";
import { freePort } from "../helpers/net.js";
import { openSse } from "../helpers/sse.js";
import { ROOT, startCli, waitReady } from "./run.js";

const space = testSpace("cli-serve");

afterAll(async () => {
  await cleanup(space);
});

async function api(base: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined };
}

// Far longer than the test by default: whatever reaches PostgreSQL gets there through the SIGTERM flush.
function startServe(port: number, flushIntervalMs = 600_000) {
  return startCli([
    "serve",
    "--port",
    String(port),
    "--prefix",
    space.keyPrefix,
    "--schema",
    space.schema,
    "--flush-interval-ms",
    String(flushIntervalMs),
  ]);
}

describe("readstate serve", () => {
  it("flushes on its interval from the worker's own thread, and stops it on SIGTERM", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const running = startServe(port, 200);
    await waitReady(running, `${base}/readyz`);
    expect(
      (await api(base, "POST", "/v1/channels/thr/messages", { messageId: "m1", senderId: "u" })).status,
    ).toBe(201);
    let rows: unknown[] = [];
    for (let i = 0; i < 100 && rows.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      rows = await queryPg(space, "SELECT 1 FROM channels WHERE channel_id = 'thr' AND seq = 1");
    }
    expect(rows).toHaveLength(1);
    running.child.kill("SIGTERM");
    const stopped = await running.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
  });

  it("flushes on SIGTERM, exits 0, and after a Redis wipe serves every write again", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const first = startServe(port);
    await waitReady(first, `${base}/readyz`);

    expect((await api(base, "PUT", "/v1/channels/s1/members/ann")).status).toBe(200);
    expect((await api(base, "PUT", "/v1/channels/s1/members/bob")).status).toBe(200);
    for (let i = 1; i <= 5; i++) {
      const post = await api(base, "POST", "/v1/channels/s1/messages", {
        messageId: `m${i}`,
        senderId: "ann",
        mentions: i === 4 ? ["bob"] : undefined,
      });
      expect(post.status).toBe(201);
    }
    expect((await api(base, "POST", "/v1/channels/s1/read", { userId: "bob", messageId: "m2" })).status).toBe(
      200,
    );
    const before = await api(base, "GET", "/v1/users/bob/unread");
    expect(before.body).toMatchObject({ unread: 3, mentions: 1 });

    // A batch still running when SIGTERM arrives must finish and be answered.
    const ops = Array.from({ length: 300 }, (_, i) => ({ op: "join", channelId: "s2", userId: `u${i}` }));
    const inFlight = api(base, "POST", "/v1/batch", { ops });
    await new Promise((resolve) => setTimeout(resolve, 50));
    first.child.kill("SIGTERM");
    const batch = await inFlight;
    expect(batch.status).toBe(200);
    expect(batch.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    const stopped = await first.exited;
    expect(stopped.code, stopped.stderr).toBe(0);

    await wipeRedis(space);

    const second = startServe(port);
    await waitReady(second, `${base}/readyz`);
    const after = await api(base, "GET", "/v1/users/bob/unread");
    expect(after.body).toEqual(before.body);
    expect((await api(base, "GET", "/v1/channels/s1")).body).toEqual({
      channelId: "s1",
      channelSeq: 5,
      memberCount: 2,
      lastMessageId: "m5",
    });
    expect((await api(base, "GET", "/v1/channels/s2")).body.memberCount).toBe(300);
    // Sequences continue after the wipe instead of restarting at 1.
    const next = await api(base, "POST", "/v1/channels/s1/messages", { messageId: "m6", senderId: "ann" });
    expect(next.body.seq).toBe(6);
    const repeat = await api(base, "POST", "/v1/channels/s1/messages", { messageId: "m3", senderId: "ann" });
    expect(repeat).toMatchObject({ status: 200, body: { seq: 3 } });

    second.child.kill("SIGTERM");
    expect((await second.exited).code).toBe(0);
  });

  it("on SIGTERM gives each event stream a jittered retry hint and closes it, flushes, and exits 0", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const running = startServe(port);
    await waitReady(running, `${base}/readyz`);
    expect((await api(base, "PUT", "/v1/channels/ev/members/eve")).status).toBe(200);
    const streams = await Promise.all(
      ["eve", "fay", "gus"].map((u) => openSse(`${base}/v1/users/${u}/events`)),
    );
    for (const stream of streams) await stream.log.waitFor((e) => e.event === "snapshot");
    expect(
      (await api(base, "POST", "/v1/channels/ev/messages", { messageId: "m1", senderId: "fay" })).status,
    ).toBe(201);
    await streams[0]?.log.waitFor(
      (e) => e.event === "member" && "channelSeq" in e.data && e.data.channelSeq === 1,
    );
    running.child.kill("SIGTERM");
    for (const stream of streams) {
      await stream.ended;
      expect(stream.retries).toHaveLength(1);
      expect(stream.retries[0]).toBeGreaterThanOrEqual(1000);
    }
    const stopped = await running.exited;
    expect(stopped.code, stopped.stderr).toBe(0);
    // Closed before the final flush, which still wrote everything.
    expect(await queryPg(space, "SELECT seq FROM channels WHERE channel_id = 'ev'")).toEqual([{ seq: "1" }]);
  });

  it("--processes 2 serves one port from two processes and stops them all on SIGTERM with exit 0", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    const running = startCli([
      "serve",
      "--processes",
      "2",
      "--port",
      String(port),
      "--prefix",
      space.keyPrefix,
      "--schema",
      space.schema,
    ]);
    await waitReady(running, `${base}/readyz`);
    expect((await api(base, "PUT", "/v1/channels/k1/members/ann")).status).toBe(200);
    for (let i = 1; i <= 10; i++) {
      // Whichever process a connection lands on, every answer reflects every earlier write.
      const post = await api(base, "POST", "/v1/channels/k1/messages", {
        messageId: `m${i}`,
        senderId: "bob",
      });
      expect(post.body.seq).toBe(i);
      expect((await api(base, "GET", "/v1/channels/k1/members/ann")).body.unread).toBe(i);
    }
    running.child.kill("SIGTERM");
    const stopped = await running.exited;
    expect(stopped.code, stopped.stdout + stopped.stderr).toBe(0);
    // The primary runs the worker: its last flush, after the children stopped, wrote everything.
    expect(await queryPg(space, "SELECT seq FROM channels WHERE channel_id = 'k1'")).toEqual([{ seq: "10" }]);
  });

  it("npm start (compiled, own process group): SIGTERM to the whole group with 400 joins in flight exits 0 and loses nothing acknowledged", async () => {
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // detached: its own process group, as systemd gives a unit; the signal then reaches npm and node
    // both (KillMode=control-group), and npm forwards its copy to node.
    const npm = spawn("npm", ["start", "--silent"], {
      cwd: ROOT,
      detached: true,
      env: {
        ...process.env,
        PORT: String(port),
        READSTATE_REDIS_PREFIX: space.keyPrefix,
        READSTATE_PG_SCHEMA: space.schema,
        READSTATE_FLUSH_INTERVAL_MS: "600000",
        READSTATE_LOG_LEVEL: "info",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    npm.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    npm.stderr.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => npm.on("exit", (code) => resolve(code)));
    const deadline = Date.now() + 120_000; // the first start may compile dist/
    while (Date.now() < deadline) {
      const ready = await fetch(`${base}/readyz`).catch(() => undefined);
      if (ready?.status === 200) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(output).toContain("readstate serving");
    // The compiled code runs, not the TypeScript sources.
    expect(output).not.toContain("tsx");

    const acknowledged: string[] = [];
    const joins = Array.from({ length: 400 }, async (_, i) => {
      await new Promise((resolve) => setTimeout(resolve, i % 100));
      const response = await fetch(`${base}/v1/channels/grp/members/u${i}`, { method: "PUT" }).catch(
        () => undefined,
      );
      if (response?.status === 200) acknowledged.push(`u${i}`);
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
    if (npm.pid === undefined) throw new Error("npm did not start");
    process.kill(-npm.pid, "SIGTERM"); // kill -- -PGID
    await Promise.all(joins);
    expect(await exited, output).toBe(0);
    expect(output).toContain('"msg":"stopped"');
    expect(output).not.toContain("second signal");
    expect(acknowledged.length).toBeGreaterThan(0);
    const rows = await queryPg<{ user_id: string }>(
      space,
      "SELECT user_id FROM members WHERE channel_id = 'grp'",
    );
    const persisted = new Set(rows.map((row) => row.user_id));
    expect(acknowledged.filter((user) => !persisted.has(user))).toEqual([]);
    await expect(fetch(`${base}/healthz`)).rejects.toThrow();
  });
});
