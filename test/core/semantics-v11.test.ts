// API.md v1.1 (deleted messages, first unread, mute, mark-all-read, threads), rule by rule through
// the engine; each block ends by flushing, wiping Redis and comparing every answer again (rebuilt
// from PostgreSQL).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { cleanup, engineFor, testSpace, wipeRedis } from "../helpers/env.js";

const space = testSpace("semantics11");
let rs: Engine;

beforeAll(async () => {
  rs = await engineFor(space);
});

afterAll(async () => {
  await rs.close();
  await cleanup(space);
});

async function code(run: Promise<unknown>): Promise<string> {
  try {
    await run;
    return "ok";
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

/** Every answer of `read`, before and after a flush and a Redis loss: they must be identical. */
async function survivesWipe(read: () => Promise<unknown>): Promise<void> {
  const before = await read();
  await rs.flush();
  await wipeRedis(space);
  expect(await read()).toEqual(before);
}

async function channel(c: string, members: string[], messages: number): Promise<void> {
  for (const u of members) await rs.join(c, u);
  for (let i = 1; i <= messages; i++) await rs.post(c, { messageId: `m${i}`, senderId: "zed" });
}

describe("deleted messages", () => {
  it("stop counting without changing seqs, cursors or channelSeq; lastMessageId skips them", async () => {
    await channel("d1", ["ann", "bob"], 0);
    await rs.post("d1", { messageId: "m1", senderId: "zed", mentions: ["ann"] });
    await rs.post("d1", { messageId: "m2", senderId: "zed", mentionAll: true });
    await rs.post("d1", { messageId: "m3", senderId: "zed" });
    expect(await rs.memberState("d1", "ann")).toMatchObject({
      unread: 3,
      mentions: 2,
      firstUnreadMessageId: "m1",
    });

    await rs.deleteMessage("d1", "m1");
    await rs.deleteMessage("d1", "m3");
    expect(await rs.memberState("d1", "ann")).toMatchObject({
      unread: 1,
      mentions: 1,
      channelSeq: 3,
      readSeq: 0,
      firstUnreadMessageId: "m2",
    });
    expect(await rs.channelInfo("d1")).toMatchObject({ channelSeq: 3, lastMessageId: "m2" });
    await rs.deleteMessage("d1", "m2");
    expect(await rs.memberState("d1", "bob")).toMatchObject({
      unread: 0,
      mentions: 0,
      firstUnreadMessageId: null,
    });
    expect(await rs.channelInfo("d1")).toMatchObject({ lastMessageId: null });
    await survivesWipe(async () => [
      await rs.memberState("d1", "ann"),
      await rs.memberState("d1", "bob"),
      await rs.channelInfo("d1"),
    ]);
  });

  it("is idempotent, 404s on unknown ids and channels, and a re-post does not resurrect", async () => {
    await channel("d2", ["ann"], 2);
    await rs.deleteMessage("d2", "m2");
    await rs.deleteMessage("d2", "m2");
    expect(await rs.post("d2", { messageId: "m2", senderId: "zed" })).toMatchObject({
      seq: 2,
      created: false,
    });
    expect(await rs.memberState("d2", "ann")).toMatchObject({ unread: 1, channelSeq: 2 });
    expect(await code(rs.deleteMessage("d2", "nope"))).toBe("unknown_message");
    expect(await code(rs.deleteMessage("d2-missing", "m1"))).toBe("not_found");
  });

  it("keeps its position: read, unread and receipts at a deleted message behave as before", async () => {
    await channel("d3", ["ann"], 3);
    await rs.deleteMessage("d3", "m2");
    expect(await rs.markRead("d3", "ann", "m2")).toMatchObject({
      readSeq: 2,
      unread: 1,
      lastReadMessageId: "m2",
    });
    expect(await rs.markUnread("d3", "ann", "m2")).toMatchObject({
      readSeq: 1,
      unread: 1,
      firstUnreadMessageId: "m3",
    });
    expect(await rs.receipts("d3", "m2")).toMatchObject({ seq: 2, readCount: 0 });
    // "The newest message" is the one at channelSeq, deleted or not.
    await rs.deleteMessage("d3", "m3");
    expect(await rs.markRead("d3", "ann")).toMatchObject({ readSeq: 3, lastReadMessageId: "m3", unread: 0 });
  });
});

describe("mute", () => {
  it("leaves the channel out of the user's unread total, never out of mentions; leave drops it", async () => {
    await channel("mu1", ["ann"], 0);
    await channel("mu2", ["ann"], 0);
    await rs.post("mu1", { messageId: "m1", senderId: "zed", mentions: ["ann"] });
    await rs.post("mu2", { messageId: "m1", senderId: "zed" });
    expect(await rs.setMuted("mu1", "ann", true)).toMatchObject({ muted: true, unread: 1, mentions: 1 });
    const totals = await rs.userUnread("ann");
    expect(totals.channels.filter((c) => c.channelId.startsWith("mu"))).toHaveLength(2);
    const mine = totals.channels.filter((c) => c.channelId.startsWith("mu"));
    expect(mine.map((c) => c.muted)).toEqual([true, false]);
    // A cursor move keeps the setting.
    expect(await rs.markRead("mu1", "ann")).toMatchObject({ muted: true, unread: 0 });
    await survivesWipe(() => rs.memberState("mu1", "ann"));
    await rs.leave("mu1", "ann");
    expect(await rs.join("mu1", "ann")).toMatchObject({ muted: false });
    expect(await code(rs.setMuted("mu1", "nobody", true))).toBe("not_a_member");
  });

  it("sums as API.md says", async () => {
    await channel("ms1", ["eve"], 0);
    await channel("ms2", ["eve"], 0);
    await rs.post("ms1", { messageId: "m1", senderId: "zed", mentions: ["eve"] });
    await rs.post("ms1", { messageId: "m2", senderId: "zed" });
    await rs.post("ms2", { messageId: "m1", senderId: "zed" });
    await rs.setMuted("ms1", "eve", true);
    expect(await rs.userUnread("eve")).toMatchObject({ unread: 1, mentions: 1 });
  });
});

describe("mark all read", () => {
  it("marks every channel, or the listed ones, to the newest message; others and non-members are left", async () => {
    await channel("ma1", ["fay"], 2);
    await channel("ma2", ["fay"], 3);
    await channel("ma3", ["gus"], 1);
    const listed = await rs.markAllRead("fay", ["ma1", "ma3", "ma1"]);
    expect(listed.channels.map((c) => [c.channelId, c.unread])).toEqual([
      ["ma1", 0],
      ["ma2", 3],
    ]);
    expect(await rs.memberState("ma3", "gus")).toMatchObject({ unread: 1 });
    const all = await rs.markAllRead("fay");
    expect(all).toMatchObject({ unread: 0, mentions: 0 });
    expect(all.channels[1]).toMatchObject({ readSeq: 3, lastReadMessageId: "m3" });
    expect(await code(rs.markAllRead("fay", []))).toBe("validation_failed");
    expect(await rs.markAllRead("nobody-at-all")).toMatchObject({ unread: 0, channels: [] });
  });
});

describe("threads", () => {
  it("replies take the thread's seq; followers: sender, named members, the root's sender at the first reply", async () => {
    await channel("t1", ["ann", "bob", "cat", "dan"], 0);
    await rs.post("t1", { messageId: "root", senderId: "ann" });
    const r1 = await rs.post("t1", {
      messageId: "r1",
      senderId: "bob",
      threadId: "root",
      mentions: ["cat", "out"],
    });
    expect(r1).toMatchObject({ seq: 1, threadId: "root", created: true });
    expect(await rs.channelInfo("t1")).toMatchObject({ channelSeq: 1, lastMessageId: "root" });
    expect(await rs.memberState("t1", "dan")).toMatchObject({ unread: 1 });
    expect(await rs.threadState("t1", "root", "ann")).toMatchObject({ readSeq: 0, unread: 1, mentions: 0 });
    expect(await rs.threadState("t1", "root", "bob")).toMatchObject({
      readSeq: 1,
      unread: 0,
      lastReadMessageId: "r1",
    });
    expect(await rs.threadState("t1", "root", "cat")).toMatchObject({
      unread: 1,
      mentions: 1,
      firstUnreadMessageId: "r1",
    });
    expect(await code(rs.threadState("t1", "root", "dan"))).toBe("not_following");
    expect(await code(rs.threadState("t1", "root", "out"))).toBe("not_following");

    // Repeats answer what the messageId was first posted as, whatever the repeat says.
    expect(await rs.post("t1", { messageId: "r1", senderId: "x" })).toMatchObject({
      seq: 1,
      threadId: "root",
      created: false,
    });
    expect(await rs.post("t1", { messageId: "root", senderId: "x", threadId: "root" })).toEqual({
      channelId: "t1",
      messageId: "root",
      seq: 1,
      created: false,
    });
    // mentionAll in a reply counts for every follower but its sender, in the thread only.
    await rs.post("t1", { messageId: "r2", senderId: "cat", threadId: "root", mentionAll: true });
    expect(await rs.threadState("t1", "root", "ann")).toMatchObject({ unread: 2, mentions: 1, threadSeq: 2 });
    expect(await rs.threadState("t1", "root", "cat")).toMatchObject({ unread: 0, mentions: 0, readSeq: 2 });
    expect(await rs.memberState("t1", "ann")).toMatchObject({ mentions: 0 });

    expect(await rs.threadInfo("t1", "root")).toEqual({
      channelId: "t1",
      threadId: "root",
      threadSeq: 2,
      followerCount: 3,
      lastMessageId: "r2",
    });
    expect(await rs.receipts("t1", "r1")).toMatchObject({ seq: 1, memberCount: 3, readCount: 2 });
    await survivesWipe(async () => [
      await rs.threadState("t1", "root", "ann"),
      await rs.threadState("t1", "root", "cat"),
      await rs.threadInfo("t1", "root"),
      await rs.receipts("t1", "r1"),
      await rs.userThreads("ann"),
      await rs.userUnread("ann"),
    ]);
  });

  it("errors: nesting, unknown roots and channels, channel ops naming replies and thread ops naming messages", async () => {
    await channel("t2", ["ann"], 1);
    await rs.post("t2", { messageId: "r1", senderId: "ann", threadId: "m1" });
    expect(await code(rs.post("t2", { messageId: "r2", senderId: "ann", threadId: "r1" }))).toBe(
      "validation_failed",
    );
    expect(await code(rs.post("t2", { messageId: "r2", senderId: "ann", threadId: "nope" }))).toBe(
      "unknown_message",
    );
    expect(await code(rs.post("t2-none", { messageId: "r2", senderId: "ann", threadId: "m1" }))).toBe(
      "unknown_message",
    );
    expect(await code(rs.channelInfo("t2-none"))).toBe("not_found");
    expect(await code(rs.markRead("t2", "ann", "r1"))).toBe("unknown_message");
    expect(await code(rs.markThreadRead("t2", "m1", "ann", "m1"))).toBe("unknown_message");
    expect(await code(rs.follow("t2", "m1", "nobody"))).toBe("not_a_member");
    expect(await code(rs.follow("t2", "r1", "ann"))).toBe("unknown_message");
    expect(await code(rs.threadInfo("t2", "nope"))).toBe("not_found");
  });

  it("unfollow wins until the user's own reply or a mention by name; follow is always allowed", async () => {
    await channel("t3", ["ann", "bob"], 0);
    await rs.post("t3", { messageId: "root", senderId: "ann" });
    await rs.follow("t3", "root", "ann");
    await rs.unfollow("t3", "root", "ann");
    expect(await code(rs.unfollow("t3", "root", "ann"))).toBe("not_following");
    // The root's sender who unfollowed is not made a follower by the first reply.
    await rs.post("t3", { messageId: "r1", senderId: "bob", threadId: "root", mentionAll: true });
    expect(await code(rs.threadState("t3", "root", "ann"))).toBe("not_following");
    await rs.post("t3", { messageId: "r2", senderId: "bob", threadId: "root", mentions: ["ann"] });
    expect(await rs.threadState("t3", "root", "ann")).toMatchObject({ readSeq: 1, unread: 1, mentions: 1 });
    await rs.unfollow("t3", "root", "ann");
    expect(await rs.follow("t3", "root", "ann")).toMatchObject({ readSeq: 2, unread: 0, lastReadAt: null });
  });

  it("read, unread, deletes and the user's threads with totals and paging", async () => {
    await channel("t4", ["kim", "bob"], 2);
    for (const root of ["m1", "m2"]) {
      for (let i = 1; i <= 3; i++) {
        await rs.post("t4", {
          messageId: `${root}-r${i}`,
          senderId: "bob",
          threadId: root,
          mentions: ["kim"],
        });
      }
    }
    expect(await rs.markThreadRead("t4", "m1", "kim", "m1-r2")).toMatchObject({
      readSeq: 2,
      unread: 1,
      mentions: 1,
    });
    expect(await rs.markThreadUnread("t4", "m1", "kim", "m1-r1")).toMatchObject({ readSeq: 0, unread: 3 });
    await rs.deleteMessage("t4", "m1-r1");
    expect(await rs.threadState("t4", "m1", "kim")).toMatchObject({
      unread: 2,
      mentions: 2,
      firstUnreadMessageId: "m1-r2",
    });
    await rs.deleteMessage("t4", "m2-r3");
    expect(await rs.threadInfo("t4", "m2")).toMatchObject({ threadSeq: 3, lastMessageId: "m2-r2" });
    // Deleting a root leaves its thread working.
    await rs.deleteMessage("t4", "m2");
    await rs.post("t4", { messageId: "m2-r4", senderId: "bob", threadId: "m2" });

    const first = await rs.userThreads("kim", { limit: 1 });
    expect(first.threads.map((t) => t.threadId)).toEqual(["m1"]);
    expect(first).toMatchObject({ unreadThreads: 2, mentions: 4 });
    const second = await rs.userThreads("kim", { limit: 1, after: first.next as string });
    expect(second.threads.map((t) => t.threadId)).toEqual(["m2"]);
    expect(second.next).toBeNull();
    expect((await rs.userUnread("kim")).threads).toEqual({ unreadThreads: 2, mentions: 4 });
    await rs.setMuted("t4", "kim", true);
    expect((await rs.userUnread("kim")).threads).toEqual({ unreadThreads: 0, mentions: 4 });

    await survivesWipe(async () => [
      await rs.userThreads("kim"),
      await rs.userUnread("kim"),
      await rs.threadInfo("t4", "m2"),
      await rs.threadState("t4", "m1", "kim"),
    ]);

    // Leaving drops thread states; deleting the channel deletes its threads.
    await rs.leave("t4", "kim");
    expect(await code(rs.threadState("t4", "m1", "kim"))).toBe("not_following");
    await rs.join("t4", "kim");
    expect((await rs.userThreads("kim")).threads.filter((t) => t.channelId === "t4")).toEqual([]);
    await rs.deleteChannel("t4");
    expect(await code(rs.threadInfo("t4", "m1"))).toBe("not_found");
    await survivesWipe(() => code(rs.threadInfo("t4", "m1")));
  });
});

describe("write-behind of thread entries", () => {
  it("flushes a leave's tombstones whole even when the row budget cuts through them", async () => {
    const small = testSpace("semantics11b");
    const engine = await engineFor(small, { flushBatchRows: 2 });
    try {
      await engine.join("wb", "ann");
      await engine.join("wb", "bob");
      for (let i = 1; i <= 5; i++) {
        await engine.post("wb", { messageId: `m${i}`, senderId: "bob" });
        await engine.post("wb", { messageId: `r${i}`, senderId: "ann", threadId: `m${i}` });
      }
      await engine.flush();
      // One version for the member's tombstone and its five thread entries: a budget of 2 rows.
      await engine.leave("wb", "ann");
      await engine.join("wb", "ann");
      await engine.flush();
      const answer = async () => [await engine.userThreads("ann"), await engine.threadInfo("wb", "m3")];
      const before = await answer();
      expect(before[0]).toMatchObject({ threads: [] });
      await wipeRedis(small);
      expect(await answer()).toEqual(before);
    } finally {
      await engine.close();
      await cleanup(small);
    }
  });
});
