// API.md v1.1, "Mark all read": every listed channel is loaded before any is changed, so PostgreSQL
// being unreachable answers 503 with nothing applied. PostgreSQL is reached through a TCP proxy this
// test cuts; one channel is cached in Redis, the other has left the cache and needs PostgreSQL.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { Keys } from "../../src/redis/keys.js";
import { cleanup, engineFor, testSpace } from "../helpers/env.js";
import { type CuttableProxy, cuttableProxy } from "../helpers/net.js";

const space = testSpace("markall");
let postgresProxy: CuttableProxy;
let engine: Engine;

beforeAll(async () => {
  postgresProxy = await cuttableProxy("127.0.0.1", 5432);
  engine = await engineFor(space, {
    databaseUrl: `postgres://postgres@127.0.0.1:${postgresProxy.port}/postgres`,
  });
});

afterAll(async () => {
  await postgresProxy?.restore().catch(() => {});
  await engine?.close().catch(() => {});
  await postgresProxy?.close();
  await cleanup(space);
});

/** Drops one channel's cache, as its expiry would once it is clean. */
async function evict(channelId: string): Promise<void> {
  const redis = new Redis(space.redisUrl);
  await redis.del(...new Keys(space.keyPrefix).channel(channelId));
  redis.disconnect();
}

async function code(run: Promise<unknown>): Promise<string> {
  try {
    await run;
    return "ok";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

describe("mark all read with PostgreSQL unreachable", () => {
  it("answers 503 and marks nothing when a channel must be loaded; marks all once it is back", async () => {
    for (const c of ["fa-1", "fa-2"]) {
      await engine.join(c, "ann");
      await engine.post(c, { messageId: "m1", senderId: "bob" });
    }
    await engine.flush();
    await evict("fa-2");

    await postgresProxy.cut();
    expect(await code(engine.markAllRead("ann", ["fa-1", "fa-2"]))).toBe("unavailable");
    expect(await code(engine.markAllRead("ann"))).toBe("unavailable");
    // fa-1 was cached and could have been marked: it was not.
    expect(await engine.memberState("fa-1", "ann")).toMatchObject({ unread: 1, readSeq: 0 });

    await postgresProxy.restore();
    const after = await engine.markAllRead("ann");
    expect(after).toMatchObject({ unread: 0 });
    expect(after.channels.map((c) => [c.channelId, c.readSeq])).toEqual([
      ["fa-1", 1],
      ["fa-2", 1],
    ]);
  });
});
