// The same scripts on a real Redis Cluster (three masters started here): every operation, the
// flush, and a reload after the cluster lost its data. Channels spread over slots by hash tag.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { dropSchema, engineFor, queryPg, testSpace } from "../helpers/env.js";
import { EventLog, isMember } from "../helpers/live.js";
import { freePort } from "../helpers/net.js";

const run = promisify(execFile);
const space = testSpace("cluster");
const servers: ChildProcess[] = [];
const ports: number[] = [];
let dir: string;
let rs: Engine;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "rs-cluster-"));
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    ports.push(port);
    servers.push(
      spawn(
        "redis-server",
        [
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
          "--cluster-enabled",
          "yes",
          "--cluster-config-file",
          `nodes-${port}.conf`,
        ],
        { stdio: "ignore" },
      ),
    );
  }
  for (const port of ports) await waitForPing(port);
  await run("redis-cli", [
    "--cluster",
    "create",
    ...ports.map((p) => `127.0.0.1:${p}`),
    "--cluster-replicas",
    "0",
    "--cluster-yes",
  ]);
  await waitForClusterOk(ports[0] as number);
  rs = await engineFor(space, { redisUrl: ports.map((p) => `redis://127.0.0.1:${p}`).join(",") });
}, 60_000);

afterAll(async () => {
  await rs?.close();
  for (const server of servers) server.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
  await dropSchema(space);
});

describe("on Redis Cluster", () => {
  it("keeps the contract across slots, flushes, and reloads after the cluster lost its data", async () => {
    const channels = Array.from({ length: 12 }, (_, i) => `cl-${i}`);
    for (const c of channels) {
      await rs.join(c, "ann");
      await rs.join(c, "bob");
      await rs.post(c, { messageId: "m1", senderId: "bob", mentions: ["ann"] });
    }
    // Many operations in one turn of the event loop: coalesced per hash tag, never across slots.
    const reads = await Promise.all(channels.map((c) => rs.markRead(c, "bob")));
    expect(reads.every((s) => s.readSeq === 1)).toBe(true);

    const unread = await rs.userUnread("ann");
    expect(unread).toMatchObject({ unread: 12, mentions: 12 });
    expect(unread.channels.map((c) => c.channelId)).toEqual([...channels].sort());
    expect(await rs.receipts("cl-3", "m1")).toMatchObject({ readCount: 1, memberCount: 2 });

    // v1.1 on the cluster: a thread lives under its channel's hash tag, so its scripts stay in one slot;
    // mark-all-read groups its channels by hash tag.
    await Promise.all(
      channels.map((c) =>
        rs.post(c, { messageId: "r1", senderId: "bob", threadId: "m1", mentions: ["ann"] }),
      ),
    );
    await rs.deleteMessage("cl-1", "r1");
    await rs.setMuted("cl-2", "ann", true);
    expect(await rs.threadState("cl-0", "m1", "ann")).toMatchObject({ unread: 1, mentions: 1 });
    const threads = await rs.userThreads("ann");
    expect(threads).toMatchObject({ unreadThreads: 10, mentions: 11 });
    expect((await rs.markAllRead("bob")).unread).toBe(0);
    const unreadV11 = await rs.userUnread("ann");
    expect(unreadV11).toMatchObject({
      unread: 11,
      mentions: 12,
      threads: { unreadThreads: 10, mentions: 11 },
    });

    expect((await rs.flush()).remaining).toBe(0);
    const rows = await queryPg(space, "SELECT count(*)::int AS n FROM members WHERE active");
    expect(rows).toEqual([{ n: 24 }]);
    const followers = await queryPg(space, "SELECT count(*)::int AS n FROM thread_followers WHERE following");
    expect(followers).toEqual([{ n: 24 }]);

    for (const port of ports) {
      const node = new Redis({ port });
      await node.flushall(); // this test's own cluster, not the shared server
      node.disconnect();
    }
    expect(await rs.userUnread("ann")).toEqual(unreadV11);
    expect(await rs.userThreads("ann")).toEqual(threads);
    expect((await rs.post("cl-5", { messageId: "m2", senderId: "ann" })).seq).toBe(2);
  });
});

describe("live events on Redis Cluster", () => {
  it("reach a subscription from channels on every node, and a join made after it subscribed", async () => {
    const channels = Array.from({ length: 8 }, (_, i) => `lv-${i}`);
    for (const c of channels) await rs.join(c, "cal");
    const log = new EventLog();
    const unsubscribe = await rs.subscribe("cal", log.onEvent);
    try {
      expect(log.events[0]?.event).toBe("snapshot");
      // One post per channel: their shard channels hash to slots spread over the three masters.
      for (const c of channels) await rs.post(c, { messageId: "p1", senderId: "dee", mentions: ["cal"] });
      for (const c of channels) await log.waitFor(isMember(c, { channelSeq: 1, mentions: 1 }));
      await rs.join("lv-late", "cal");
      await log.waitFor(isMember("lv-late", { channelSeq: 0 }));
      await rs.post("lv-late", { messageId: "p1", senderId: "dee" });
      await log.waitFor(isMember("lv-late", { unread: 1 }));
    } finally {
      unsubscribe();
    }
  });
});

async function waitForPing(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    try {
      await run("redis-cli", ["-p", String(port), "ping"]);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`redis-server on ${port} did not start`);
}

async function waitForClusterOk(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const { stdout } = await run("redis-cli", ["-p", String(port), "cluster", "info"]);
    if (stdout.includes("cluster_state:ok")) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error("the cluster did not become ready");
}
