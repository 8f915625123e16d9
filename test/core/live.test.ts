// Live events through the library (engine.subscribe), with two engines on one Redis and PostgreSQL:
// every change is made on instance A, every subscription is held by instance B, so each event has
// crossed the change feed. API.md, "Live events".
import { performance } from "node:perf_hooks";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LiveEvent, MemberState, Unsubscribe } from "../../src/core/types.js";
import type { Engine } from "../../src/engine.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";
import { EventLog, isMember, isThread } from "../helpers/live.js";

let space: TestSpace;
let a: Engine;
let b: Engine;
const subscriptions: Unsubscribe[] = [];

beforeAll(async () => {
  space = testSpace("live");
  a = await engineFor(space);
  b = await engineFor(space, { migrate: false, maxStreams: 20 });
});
afterAll(async () => {
  for (const unsubscribe of subscriptions) unsubscribe();
  await a?.close();
  await b?.close();
  await cleanup(space);
});

/** A subscription on instance B; its first event (the snapshot) has arrived when this resolves. */
async function subscribe(userId: string, lastEventId?: string, on: Engine = b): Promise<EventLog> {
  const log = new EventLog();
  subscriptions.push(await on.subscribe(userId, log.onEvent, lastEventId ? { lastEventId } : {}));
  return log;
}

/** Runs a change on A and answers when it was acknowledged. */
async function acknowledged(change: () => Promise<unknown>): Promise<number> {
  await change();
  return performance.now();
}

describe("a subscription", () => {
  it("starts with a snapshot: the body of userUnread", async () => {
    await a.join("s1", "ann");
    await a.post("s1", { messageId: "m1", senderId: "bob", mentions: ["ann"] });
    const log = await subscribe("ann");
    const [first] = log.events;
    expect(first?.event).toBe("snapshot");
    expect(first?.data).toEqual(await a.userUnread("ann"));
    expect(first?.id).toMatch(/^[0-9a-f]+-\d+\.\d+$/);
  });

  it("gets a change made on the other instance within 1 s of its acknowledgement", async () => {
    await a.join("d1", "dan");
    await a.join("d1", "eve");
    const log = await subscribe("dan");
    const ackAt = await acknowledged(() =>
      a.post("d1", { messageId: "m1", senderId: "eve", mentions: ["dan"] }),
    );
    const { event, at } = await log.waitFor(isMember("d1", { channelSeq: 1 }));
    expect(at - ackAt).toBeLessThan(1000);
    expect(event.data).toEqual(await a.memberState("d1", "dan"));
    expect((event.data as MemberState).mentions).toBe(1);
  });

  it("gets the user's own read, unread, mute and join, and every event has a new id", async () => {
    await a.join("o1", "oli");
    await a.post("o1", { messageId: "m1", senderId: "x" });
    await a.post("o1", { messageId: "m2", senderId: "x" });
    const log = await subscribe("oli");
    await a.markRead("o1", "oli");
    await log.waitFor(isMember("o1", { readSeq: 2 }));
    await a.markUnread("o1", "oli", "m1");
    await log.waitFor(isMember("o1", { readSeq: 0, unread: 2 }));
    await a.setMuted("o1", "oli", true);
    await log.waitFor(isMember("o1", { muted: true }));
    // A channel instance B did not listen to: the join reaches it through the user's own feed.
    const ackAt = await acknowledged(() => a.join("o2", "oli"));
    const joined = await log.waitFor(isMember("o2", { readSeq: 0 }));
    expect(joined.at - ackAt).toBeLessThan(1000);
    // And from then on, that channel's changes too.
    await a.post("o2", { messageId: "n1", senderId: "x" });
    await log.waitFor(isMember("o2", { unread: 1 }));
    const ids = log.events.map((e) => e.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it("says left: true on a leave and when the channel is deleted", async () => {
    await a.join("l1", "lea");
    await a.join("l2", "lea");
    const log = await subscribe("lea");
    await a.leave("l1", "lea");
    const left = await log.waitFor(isMember("l1", { left: true }));
    expect(left.event.data).toEqual({ channelId: "l1", userId: "lea", left: true });
    await a.deleteChannel("l2");
    const deleted = await log.waitFor(isMember("l2", { left: true }));
    expect(deleted.event.data).toEqual({ channelId: "l2", userId: "lea", left: true });
    // Gone for good: a post into a channel the user left brings no event.
    await a.join("l1", "zed");
    const count = log.received.length;
    await a.post("l1", { messageId: "late", senderId: "zed" });
    await log.settle();
    expect(log.events.slice(count).filter(isMember("l1"))).toEqual([]);
  });

  it("folds a burst into at most one event per channel every 250 ms, the last with the latest state", async () => {
    await a.join("c1", "cat");
    await a.join("c2", "cat");
    const log = await subscribe("cat");
    const from = log.received.length;
    for (let i = 1; i <= 20; i++) {
      await a.post("c1", { messageId: `m${i}`, senderId: "x" });
      await a.post("c2", { messageId: `m${i}`, senderId: "x" });
    }
    await log.waitFor(isMember("c1", { channelSeq: 20 }), { from });
    await log.waitFor(isMember("c2", { channelSeq: 20 }), { from });
    await log.settle();
    for (const channelId of ["c1", "c2"]) {
      const events = log.received.slice(from).filter((r) => isMember(channelId)(r.event));
      expect(events.length).toBeLessThan(20);
      for (let i = 1; i < events.length; i++) {
        expect((events[i]?.at ?? 0) - (events[i - 1]?.at ?? 0)).toBeGreaterThanOrEqual(245);
      }
      expect((events.at(-1)?.event.data as MemberState | undefined)?.channelSeq).toBe(20);
    }
  });
});

describe("threads", () => {
  it("starts following by a reply, a mention, as the root's sender and by follow, each with a thread event", async () => {
    for (const u of ["rita", "sam", "tom", "uma"]) await a.join("t1", u);
    await a.post("t1", { messageId: "root", senderId: "rita" });
    const rita = await subscribe("rita");
    const sam = await subscribe("sam");
    const tom = await subscribe("tom");
    const uma = await subscribe("uma");
    // sam replies naming tom: sam (sender), tom (named), rita (the root's sender, first reply).
    const ackAt = await acknowledged(() =>
      a.post("t1", { messageId: "r1", senderId: "sam", threadId: "root", mentions: ["tom"] }),
    );
    const toRita = await rita.waitFor(isThread("t1", "root", { readSeq: 0, unread: 1 }));
    const toTom = await tom.waitFor(isThread("t1", "root", { mentions: 1 }));
    const toSam = await sam.waitFor(isThread("t1", "root", { readSeq: 1, unread: 0 }));
    for (const { at } of [toRita, toTom, toSam]) expect(at - ackAt).toBeLessThan(1000);
    expect(toTom.event.data).toEqual(await a.threadState("t1", "root", "tom"));
    // uma follows explicitly.
    await a.follow("t1", "root", "uma");
    await uma.waitFor(isThread("t1", "root", { readSeq: 1, threadSeq: 1 }));
    // A later reply reaches every follower, uma included; nothing for the channel's counts.
    const from = uma.received.length;
    await a.post("t1", { messageId: "r2", senderId: "rita", threadId: "root" });
    await uma.waitFor(isThread("t1", "root", { threadSeq: 2, unread: 1 }), { from });
    await tom.waitFor(isThread("t1", "root", { threadSeq: 2 }));
    await uma.settle();
    expect(uma.events.slice(from).filter((e) => e.event === "member")).toEqual([]);
    // A thread read from another device.
    await a.markThreadRead("t1", "root", "uma");
    await uma.waitFor(isThread("t1", "root", { readSeq: 2, unread: 0 }));
    // Deleting a reply corrects the followers' counts.
    await a.markThreadUnread("t1", "root", "tom", "r1");
    await tom.waitFor(isThread("t1", "root", { readSeq: 0, unread: 2 }));
    await a.deleteMessage("t1", "r2");
    await tom.waitFor(isThread("t1", "root", { unread: 1 }));
  });

  it("says unfollowed: true on an unfollow and, for each thread followed there, on a leave", async () => {
    for (const u of ["vic", "wes"]) await a.join("u1", u);
    await a.post("u1", { messageId: "p", senderId: "wes" });
    await a.post("u1", { messageId: "q", senderId: "wes" });
    await a.post("u1", { messageId: "rp", senderId: "wes", threadId: "p", mentions: ["vic"] });
    await a.follow("u1", "q", "vic");
    const log = await subscribe("vic");
    await a.unfollow("u1", "q", "vic");
    const unfollowed = await log.waitFor(isThread("u1", "q", { unfollowed: true }));
    expect(unfollowed.event.data).toEqual({
      channelId: "u1",
      threadId: "q",
      userId: "vic",
      unfollowed: true,
    });
    await a.leave("u1", "vic");
    await log.waitFor(isMember("u1", { left: true }));
    const dropped = await log.waitFor(isThread("u1", "p", { unfollowed: true }));
    expect(dropped.event.data).toEqual({ channelId: "u1", threadId: "p", userId: "vic", unfollowed: true });
  });
});

describe("resuming", () => {
  it("replays the events missed after Last-Event-ID when this instance still has them", async () => {
    await a.join("r1", "ray");
    const first = new EventLog();
    const stop = await b.subscribe("ray", first.onEvent);
    await a.post("r1", { messageId: "m1", senderId: "x" });
    const seen = await first.waitFor(isMember("r1", { channelSeq: 1 }));
    stop();
    await a.post("r1", { messageId: "m2", senderId: "x" });
    await a.markRead("r1", "ray");
    await new Promise((resolve) => setTimeout(resolve, 600));
    const resumed = await subscribe("ray", seen.event.id);
    expect(resumed.events[0]?.event).not.toBe("snapshot");
    await resumed.waitFor(isMember("r1", { readSeq: 2 }));
    // The id of the last event resumes with nothing more to send: no snapshot either.
    const last = resumed.events.at(-1) as LiveEvent;
    const again = await subscribe("ray", last.id);
    expect(again.events).toEqual([]);
  });

  it("answers an unknown, foreign or outdated id with a snapshot, never an error", async () => {
    await a.join("r2", "rob");
    for (const id of ["nonsense", "00000000-1.5", "", "x.y.z"]) {
      const log = await subscribe("rob", id || undefined);
      expect(log.events[0]?.event).toBe("snapshot");
    }
    // An id from instance A is not B's.
    const onA = new EventLog();
    subscriptions.push(await a.subscribe("rob", onA.onEvent));
    const log = await subscribe("rob", onA.events[0]?.id);
    expect(log.events[0]?.event).toBe("snapshot");
  });
});

describe("limits", () => {
  it("refuses a subscription past the instance's limit with unavailable and a retry time", async () => {
    const space2 = testSpace("live-cap");
    const capped = await engineFor(space2, { maxStreams: 2 });
    try {
      const stops = [await capped.subscribe("u1", () => {}), await capped.subscribe("u2", () => {})];
      const refused = await capped.subscribe("u3", () => {}).catch((err: unknown) => err);
      expect(refused).toMatchObject({ code: "unavailable", status: 503 });
      expect((refused as { retryAfterSeconds: number }).retryAfterSeconds).toBeGreaterThanOrEqual(2);
      expect(capped.liveStatus().subscriptions).toBe(2);
      // A closed subscription frees its place.
      stops[0]?.();
      stops[0]?.();
      expect(capped.liveStatus().subscriptions).toBe(1);
      const third = await capped.subscribe("u3", () => {});
      third();
      stops[1]?.();
    } finally {
      await capped.close();
      await cleanup(space2);
    }
  });

  it("ends every subscription when the engine closes, telling each", async () => {
    const space3 = testSpace("live-close");
    const closing = await engineFor(space3);
    const ends: string[] = [];
    await closing.subscribe("u1", () => {}, { onEnd: (reason) => ends.push(reason) });
    await closing.subscribe("u2", () => {}, { onEnd: (reason) => ends.push(reason) });
    await closing.close();
    await cleanup(space3);
    expect(ends).toEqual(["closing", "closing"]);
    expect(closing.liveStatus().subscriptions).toBe(0);
  });
});
