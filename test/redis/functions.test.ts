// The Lua code runs as a Redis function library (scripts.ts): loaded once, called with FCALL. On a
// private redis-server, since these tests remove the library (the shared server's other tests use
// the same one).
import { Redis } from "ioredis";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { buildLibrary } from "../../src/redis/scripts.js";
import { PrivateRedis } from "../faults/support/redis-server.js";
import { dropSchema, engineFor, testSpace } from "../helpers/env.js";

const space = testSpace("functions");
const server = new PrivateRedis();
let engine: Engine;
let admin: Redis;

beforeAll(async () => {
  await server.start();
  engine = await engineFor(space, { redisUrl: server.url });
  admin = new Redis(server.url);
});

afterAll(async () => {
  admin?.disconnect();
  await engine?.close().catch(() => {});
  await server.destroy();
  await dropSchema(space);
});

async function libraries(): Promise<string[]> {
  const list = (await admin.function("LIST")) as unknown[][];
  return list.map((entry) => String(entry[entry.indexOf("library_name") + 1]));
}

it("is loaded when the engine connects, named after a hash of its code", async () => {
  const { name } = buildLibrary();
  expect(name).toMatch(/^readstate_[0-9a-f]{12}$/);
  expect(await libraries()).toEqual([name]);
});

it("is loaded again by the first call that finds it missing (a server restarted empty)", async () => {
  await engine.join("c1", "ann");
  await admin.function("FLUSH");
  expect(await libraries()).toEqual([]);
  await expect(engine.post("c1", { messageId: "m1", senderId: "bob" })).resolves.toMatchObject({ seq: 1 });
  expect((await engine.memberState("c1", "ann")).unread).toBe(1);
  expect(await libraries()).toEqual([buildLibrary().name]);
});

it("keeps no state of one call for the next: each call reads Redis's clock anew", async () => {
  // A script's locals die with the call, a function library's live on: the clock cached per call
  // (_lib.lua script_now) must be reset on entry, or every later call would reuse the first's time.
  await engine.join("c2", "ann");
  await engine.post("c2", { messageId: "m1", senderId: "ann" });
  const first = (await engine.memberState("c2", "ann")).lastReadAt;
  await new Promise((resolve) => setTimeout(resolve, 50));
  await engine.post("c2", { messageId: "m2", senderId: "ann" });
  const second = (await engine.memberState("c2", "ann")).lastReadAt;
  expect(first).not.toBeNull();
  expect(Date.parse(second ?? "") - Date.parse(first ?? "")).toBeGreaterThanOrEqual(40);
});
