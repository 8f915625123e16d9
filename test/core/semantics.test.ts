// API.md, "Semantics every endpoint keeps", rule by rule through the engine.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { cleanup, engineFor, testSpace } from "../helpers/env.js";

const space = testSpace("semantics");
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

describe("join", () => {
  it("sets the cursor to the current channelSeq: nothing unread", async () => {
    await rs.join("j1", "alice");
    await rs.post("j1", { messageId: "m1", senderId: "alice" });
    await rs.post("j1", { messageId: "m2", senderId: "alice" });
    const bob = await rs.join("j1", "bob");
    expect(bob).toEqual({
      channelId: "j1",
      userId: "bob",
      unread: 0,
      mentions: 0,
      readSeq: 2,
      channelSeq: 2,
      lastReadMessageId: "m2",
      lastReadAt: null,
      firstUnreadMessageId: null,
      muted: false,
    });
  });

  it("is idempotent: an existing member is unchanged", async () => {
    await rs.join("j2", "alice");
    await rs.post("j2", { messageId: "m1", senderId: "bob" });
    const again = await rs.join("j2", "alice");
    expect(again.unread).toBe(1);
    expect(again.readSeq).toBe(0);
  });
});

describe("post", () => {
  it("allocates 1, 2, 3… and moves a member sender's cursor", async () => {
    await rs.join("p1", "alice");
    await rs.join("p1", "bob");
    expect((await rs.post("p1", { messageId: "m1", senderId: "alice" })).seq).toBe(1);
    expect((await rs.post("p1", { messageId: "m2", senderId: "alice" })).seq).toBe(2);
    const alice = await rs.memberState("p1", "alice");
    expect(alice).toMatchObject({ unread: 0, readSeq: 2, lastReadMessageId: "m2" });
    expect(alice.lastReadAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(await rs.memberState("p1", "bob")).toMatchObject({ unread: 2, readSeq: 0, channelSeq: 2 });
  });

  it("is idempotent per (channelId, messageId): same seq, created false, nothing changes", async () => {
    const first = await rs.post("p2", { messageId: "m1", senderId: "x" });
    const again = await rs.post("p2", { messageId: "m1", senderId: "y", mentionAll: true });
    expect(first).toEqual({ channelId: "p2", messageId: "m1", seq: 1, created: true });
    expect(again).toEqual({ channelId: "p2", messageId: "m1", seq: 1, created: false });
    expect(await rs.channelInfo("p2")).toEqual({
      channelId: "p2",
      channelSeq: 1,
      memberCount: 0,
      lastMessageId: "m1",
    });
    // The same messageId in another channel is another message.
    expect((await rs.post("p3", { messageId: "m1", senderId: "x" })).seq).toBe(1);
  });

  it("by a non-member creates the channel and moves no cursor", async () => {
    await rs.post("p4", { messageId: "m1", senderId: "ghost" });
    expect(await code(rs.memberState("p4", "ghost"))).toBe("not_a_member");
    expect((await rs.channelInfo("p4")).channelSeq).toBe(1);
  });
});

describe("mark read", () => {
  it("moves forward only: to a message, to the newest, and an older one is a no-op", async () => {
    await rs.join("r1", "bob");
    for (const id of ["m1", "m2", "m3"]) await rs.post("r1", { messageId: id, senderId: "alice" });
    const toM2 = await rs.markRead("r1", "bob", "m2");
    expect(toM2).toMatchObject({ readSeq: 2, unread: 1, lastReadMessageId: "m2" });
    const older = await rs.markRead("r1", "bob", "m1");
    expect(older).toEqual(toM2);
    expect(await rs.markRead("r1", "bob")).toMatchObject({ readSeq: 3, unread: 0, lastReadMessageId: "m3" });
  });

  it("answers not_a_member and unknown_message", async () => {
    await rs.join("r2", "bob");
    expect(await code(rs.markRead("r2", "carol"))).toBe("not_a_member");
    expect(await code(rs.markRead("r2", "bob", "never"))).toBe("unknown_message");
    expect(await code(rs.markRead("no-such-channel", "bob"))).toBe("not_a_member");
  });
});

describe("mark unread", () => {
  it("sets the cursor to seq - 1, backwards or forwards", async () => {
    await rs.join("u1", "bob");
    for (const id of ["m1", "m2", "m3", "m4"]) await rs.post("u1", { messageId: id, senderId: "alice" });
    await rs.markRead("u1", "bob", "m3");
    expect(await rs.markUnread("u1", "bob", "m2")).toMatchObject({
      readSeq: 1,
      unread: 3,
      lastReadMessageId: "m1",
    });
    expect(await rs.markUnread("u1", "bob", "m4")).toMatchObject({ readSeq: 3, unread: 1 });
    expect(await rs.markUnread("u1", "bob", "m1")).toMatchObject({
      readSeq: 0,
      unread: 4,
      lastReadMessageId: null,
    });
    expect(await code(rs.markUnread("u1", "bob", "never"))).toBe("unknown_message");
  });
});

describe("mentions", () => {
  it("counts named mentions and @channel above the cursor, never the member's own messages", async () => {
    for (const u of ["alice", "bob", "carol"]) await rs.join("mn", u);
    await rs.post("mn", { messageId: "m1", senderId: "alice", mentions: ["bob", "bob", "alice"] });
    await rs.post("mn", { messageId: "m2", senderId: "carol", mentionAll: true, mentions: ["bob"] });
    await rs.post("mn", { messageId: "m3", senderId: "bob", mentionAll: true });
    await rs.markUnread("mn", "bob", "m1");
    // bob: m1 (named, once), m2 (@channel, named too: counted once), m3 his own.
    expect(await rs.memberState("mn", "bob")).toMatchObject({ unread: 3, mentions: 2 });
    // alice: her own m1 does not count; m2 and m3 are @channel.
    expect(await rs.memberState("mn", "alice")).toMatchObject({ unread: 2, mentions: 2 });
    await rs.markRead("mn", "alice", "m2");
    expect(await rs.memberState("mn", "alice")).toMatchObject({ unread: 1, mentions: 1 });
  });
});

describe("leave", () => {
  it("removes the member and its state; joining again starts fresh", async () => {
    await rs.join("l1", "bob");
    await rs.post("l1", { messageId: "m1", senderId: "alice", mentions: ["bob"] });
    await rs.leave("l1", "bob");
    expect(await code(rs.memberState("l1", "bob"))).toBe("not_a_member");
    expect(await code(rs.leave("l1", "bob"))).toBe("not_a_member");
    expect(await rs.join("l1", "bob")).toMatchObject({
      readSeq: 1,
      unread: 0,
      mentions: 0,
      lastReadAt: null,
    });
    expect((await rs.channelInfo("l1")).memberCount).toBe(1);
  });
});

describe("user unread", () => {
  it("lists every channel sorted by channelId with summed totals; an unknown user gets zeros", async () => {
    for (const c of ["uu-b", "uu-a", "uu-c"]) await rs.join(c, "dora");
    await rs.post("uu-b", { messageId: "m1", senderId: "x", mentions: ["dora"] });
    await rs.post("uu-c", { messageId: "m1", senderId: "x" });
    await rs.post("uu-c", { messageId: "m2", senderId: "x", mentionAll: true });
    await rs.leave("uu-a", "dora");
    const unread = await rs.userUnread("dora");
    expect(unread.channels.map((c) => c.channelId)).toEqual(["uu-b", "uu-c"]);
    expect(unread).toMatchObject({ userId: "dora", unread: 3, mentions: 2 });
    expect(await rs.userUnread("nobody")).toEqual({
      userId: "nobody",
      unread: 0,
      mentions: 0,
      channels: [],
      threads: { unreadThreads: 0, mentions: 0 },
    });
  });
});

describe("receipts", () => {
  it("lists members with readSeq >= seq, sender included, sorted and paged", async () => {
    const users = ["u05", "u03", "u01", "u04", "u02", "u06"];
    for (const u of users) await rs.join("rc", u);
    await rs.post("rc", { messageId: "m1", senderId: "u06" });
    await rs.post("rc", { messageId: "m2", senderId: "u06" });
    for (const u of ["u01", "u02", "u04"]) await rs.markRead("rc", u, "m1");
    await rs.markRead("rc", "u05");

    const page1 = await rs.receipts("rc", "m1", { limit: 2 });
    expect(page1).toEqual({
      channelId: "rc",
      messageId: "m1",
      seq: 1,
      memberCount: 6,
      readCount: 5,
      readers: [
        { userId: "u01", readSeq: 1 },
        { userId: "u02", readSeq: 1 },
      ],
      next: "u02",
    });
    const page2 = await rs.receipts("rc", "m1", { limit: 2, after: "u02" });
    expect(page2.readers.map((r) => r.userId)).toEqual(["u04", "u05"]);
    expect(page2.next).toBe("u05");
    const page3 = await rs.receipts("rc", "m1", { limit: 2, after: "u05" });
    expect(page3.readers).toEqual([{ userId: "u06", readSeq: 2 }]);
    expect(page3.next).toBeNull();
    expect((await rs.receipts("rc", "m2")).readers.map((r) => r.userId)).toEqual(["u05", "u06"]);
  });

  it("answers not_found, unknown_message and validation_failed", async () => {
    expect(await code(rs.receipts("no-such", "m1"))).toBe("not_found");
    await rs.join("rc2", "a");
    expect(await code(rs.receipts("rc2", "never"))).toBe("unknown_message");
    expect(await code(rs.receipts("rc2", "m1", { limit: 0 }))).toBe("validation_failed");
    expect(await code(rs.receipts("rc2", "m1", { limit: 1001 }))).toBe("validation_failed");
  });
});

describe("delete channel", () => {
  it("removes all state; a later join or post starts a new channel at seq 0", async () => {
    await rs.join("d1", "bob");
    await rs.post("d1", { messageId: "m1", senderId: "alice" });
    await rs.deleteChannel("d1");
    expect(await code(rs.channelInfo("d1"))).toBe("not_found");
    expect(await code(rs.memberState("d1", "bob"))).toBe("not_a_member");
    expect(await code(rs.deleteChannel("d1"))).toBe("not_found");
    expect(await rs.join("d1", "bob")).toMatchObject({ readSeq: 0, channelSeq: 0 });
    expect(await rs.post("d1", { messageId: "m1", senderId: "alice" })).toMatchObject({
      seq: 1,
      created: true,
    });
  });
});

describe("validation", () => {
  it("refuses bad IDs and lists with validation_failed, applying nothing", async () => {
    expect(await code(rs.join("bad channel", "u"))).toBe("validation_failed");
    expect(await code(rs.join("c", "{u}"))).toBe("validation_failed");
    expect(await code(rs.join("c", "x".repeat(129)))).toBe("validation_failed");
    const mentions = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    expect(await code(rs.post("v1", { messageId: "m1", senderId: "a", mentions }))).toBe("validation_failed");
    expect(await code(rs.post("v1", { messageId: "m1", senderId: "a", mentions: ["ok", "not ok"] }))).toBe(
      "validation_failed",
    );
    expect(await code(rs.channelInfo("v1"))).toBe("not_found");
  });
});
