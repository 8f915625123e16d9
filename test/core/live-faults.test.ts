// A lost change feed never leaves a stale badge (API.md, "Live events"): instance B's subscriber
// reaches Redis through a TCP proxy that is cut while instance A keeps changing things; once it is
// back, every subscription B holds gets a fresh snapshot with the latest state. And when Redis loses
// its data, the same.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LiveEvent, Unsubscribe, UserUnread } from "../../src/core/types.js";
import type { Engine } from "../../src/engine.js";
import { cleanup, engineFor, type TestSpace, testSpace, wipeRedis } from "../helpers/env.js";
import { EventLog } from "../helpers/live.js";
import { type CuttableProxy, cuttableProxy } from "../helpers/net.js";

let space: TestSpace;
let proxy: CuttableProxy;
let a: Engine;
let b: Engine;
const subscriptions: Unsubscribe[] = [];

beforeAll(async () => {
  space = testSpace("live-faults");
  const redis = new URL(space.redisUrl);
  proxy = await cuttableProxy(redis.hostname, Number(redis.port || 6379));
  a = await engineFor(space);
  b = await engineFor(space, { migrate: false }, { feedRedisUrl: `redis://127.0.0.1:${proxy.port}` });
});
afterAll(async () => {
  for (const unsubscribe of subscriptions) unsubscribe();
  await a?.close();
  await b?.close();
  await proxy?.close();
  await cleanup(space);
});

const isSnapshot = (event: LiveEvent) => event.event === "snapshot";

/** Waits for a snapshot after index `from` that shows `expected`, the user's state now. */
async function freshSnapshot(log: EventLog, from: number, expected: () => Promise<UserUnread>) {
  const want = await expected();
  return log.waitFor((event) => isSnapshot(event) && JSON.stringify(event.data) === JSON.stringify(want), {
    from,
    timeoutMs: 8000,
    what: `a snapshot showing ${JSON.stringify(want)}`,
  });
}

describe("the change feed", () => {
  it("cut under the subscriber while changes keep coming: every stream gets a fresh snapshot once it is back", async () => {
    const users = ["u1", "u2", "u3"];
    for (const userId of users) {
      await a.join("f1", userId);
      await a.join(`own-${userId}`, userId);
    }
    const logs = new Map<string, EventLog>();
    for (const userId of users) {
      const log = new EventLog();
      subscriptions.push(await b.subscribe(userId, log.onEvent));
      logs.set(userId, log);
    }
    const from = new Map(users.map((userId) => [userId, logs.get(userId)?.received.length ?? 0]));

    await proxy.cut();
    // Changes while B hears nothing: posts, a read, a join (its user feed message is lost too).
    for (let i = 1; i <= 5; i++) {
      await a.post("f1", { messageId: `m${i}`, senderId: "u1", mentions: ["u2"] });
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    await a.markRead("f1", "u3");
    await a.join("joined-while-cut", "u2");
    await a.post("joined-while-cut", { messageId: "j1", senderId: "x" });
    await proxy.restore();
    // And they keep coming.
    await a.post("f1", { messageId: "m6", senderId: "u3" });

    for (const userId of users) {
      const log = logs.get(userId) as EventLog;
      await freshSnapshot(log, from.get(userId) ?? 0, () => a.userUnread(userId));
    }
    // Listening again: a change after the snapshot arrives as usual, also for the channel joined
    // while the feed was cut.
    await a.post("joined-while-cut", { messageId: "j2", senderId: "x" });
    const u2 = logs.get("u2") as EventLog;
    await u2.waitFor(
      (event) =>
        event.event === "member" &&
        event.data.channelId === "joined-while-cut" &&
        "unread" in event.data &&
        event.data.unread === 2,
    );
  });

  it("Redis lost its data: every stream gets a fresh snapshot (state rebuilt from PostgreSQL)", async () => {
    await a.join("g1", "v1");
    await a.post("g1", { messageId: "m1", senderId: "x", mentions: ["v1"] });
    await a.join("g2", "v1");
    const log = new EventLog();
    subscriptions.push(await b.subscribe("v1", log.onEvent));
    await a.flush();
    const from = log.received.length;
    await wipeRedis(space);
    await freshSnapshot(log, from, () => a.userUnread("v1"));
    const snapshot = log.received.slice(from).find((r) => isSnapshot(r.event))?.event.data as UserUnread;
    expect(snapshot.channels.map((c) => [c.channelId, c.unread, c.mentions])).toEqual([
      ["g1", 1, 1],
      ["g2", 0, 0],
    ]);
    // And the stream goes on.
    await a.post("g2", { messageId: "n1", senderId: "x" });
    await log.waitFor((event) => event.event === "member" && event.data.channelId === "g2");
  });
});
