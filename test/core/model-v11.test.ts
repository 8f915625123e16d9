// The model of API.md v1.1 on its own (no Redis, no PostgreSQL): the contract's tricky cases, pinned,
// so that the oracle of model.test.ts can be trusted before and apart from the engine.
import { describe, expect, it } from "vitest";
import { ReadStateModel, type Result } from "./model.js";

function value<T>(result: Result<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${result.code}`);
  return result.value;
}

function code(result: Result<unknown>): string {
  return result.ok ? "ok" : result.code;
}

/** ch with alice, bob and carol; alice posts the root m1. */
function channelWithRoot(): ReadStateModel {
  const model = new ReadStateModel();
  for (const u of ["alice", "bob", "carol"]) model.join("ch", u);
  model.post("ch", { messageId: "m1", senderId: "alice" });
  return model;
}

describe("threads: who follows", () => {
  it("the first reply makes the reply's sender and the root's sender followers", () => {
    const model = channelWithRoot();
    expect(value(model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" }))).toEqual({
      channelId: "ch",
      messageId: "r1",
      seq: 1,
      threadId: "m1",
      created: true,
    });
    // The root's sender starts just before the reply (nothing changed its cursor since).
    expect(value(model.threadState("ch", "m1", "alice"))).toEqual({
      channelId: "ch",
      threadId: "m1",
      userId: "alice",
      unread: 1,
      mentions: 0,
      readSeq: 0,
      threadSeq: 1,
      lastReadMessageId: null,
      lastReadAt: null,
      firstUnreadMessageId: "r1",
    });
    // The sender's cursor moved to its reply, as in a channel.
    const bob = value(model.threadState("ch", "m1", "bob"));
    expect(bob).toMatchObject({ unread: 0, readSeq: 1, lastReadMessageId: "r1", firstUnreadMessageId: null });
    expect(bob.lastReadAt).not.toBeNull();
    expect(code(model.threadState("ch", "m1", "carol"))).toBe("not_following");
    expect(value(model.threadInfo("ch", "m1"))).toEqual({
      channelId: "ch",
      threadId: "m1",
      threadSeq: 1,
      followerCount: 2,
      lastMessageId: "r1",
    });
    // The channel does not see the reply: carol still has only m1 unread.
    expect(value(model.memberState("ch", "carol"))).toMatchObject({ unread: 1, channelSeq: 1 });
    expect(value(model.channelInfo("ch")).lastMessageId).toBe("m1");
  });

  it("the root's sender follows at the first reply only", () => {
    const model = new ReadStateModel();
    model.join("ch", "bob");
    model.post("ch", { messageId: "m1", senderId: "alice" }); // alice is not a member yet
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    model.join("ch", "alice");
    model.post("ch", { messageId: "r2", senderId: "bob", threadId: "m1" });
    expect(code(model.threadState("ch", "m1", "alice"))).toBe("not_following");
    expect(model.followerIds("ch", "m1")).toEqual(["bob"]);
  });

  it("users named in a reply's mentions follow from just before it, non-members never", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    model.post("ch", {
      messageId: "r2",
      senderId: "bob",
      threadId: "m1",
      mentions: ["carol", "dave", "carol"],
    });
    // Mentions before following do not count: carol's cursor starts at r2's seq - 1.
    expect(value(model.threadState("ch", "m1", "carol"))).toMatchObject({
      unread: 1,
      mentions: 1,
      readSeq: 1,
      lastReadMessageId: "r1",
      lastReadAt: null,
      firstUnreadMessageId: "r2",
    });
    expect(model.followerIds("ch", "m1")).toEqual(["alice", "bob", "carol"]);
    expect(value(model.memberState("ch", "carol")).mentions).toBe(0);
  });

  it("unfollow wins: not even the root's sender at the first reply; a reply or a mention by name brings back", () => {
    const model = channelWithRoot();
    value(model.follow("ch", "m1", "alice"));
    expect(value(model.unfollow("ch", "m1", "alice"))).toBeNull();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    expect(code(model.threadState("ch", "m1", "alice"))).toBe("not_following");
    // mentionAll does not bring an unfollowed user back (nor makes anyone a follower).
    model.post("ch", { messageId: "r2", senderId: "bob", threadId: "m1", mentionAll: true });
    expect(model.followerIds("ch", "m1")).toEqual(["bob"]);
    // A mention by name does.
    model.post("ch", { messageId: "r3", senderId: "bob", threadId: "m1", mentions: ["alice"] });
    expect(value(model.threadState("ch", "m1", "alice"))).toMatchObject({
      readSeq: 2,
      unread: 1,
      mentions: 1,
      threadSeq: 3,
    });
    // And a reply of one's own does, after another unfollow.
    model.unfollow("ch", "m1", "alice");
    model.post("ch", { messageId: "r4", senderId: "alice", threadId: "m1" });
    expect(value(model.threadState("ch", "m1", "alice"))).toMatchObject({ readSeq: 4, unread: 0 });
  });

  it("leaving drops the unfollow mark with the thread states", () => {
    const model = channelWithRoot();
    model.follow("ch", "m1", "alice");
    model.unfollow("ch", "m1", "alice");
    model.leave("ch", "alice");
    model.join("ch", "alice");
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    expect(value(model.threadState("ch", "m1", "alice")).readSeq).toBe(0);
  });

  it("leaving drops the user's thread states; rejoining does not bring them back", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1", mentions: ["carol"] });
    model.leave("ch", "carol");
    model.join("ch", "carol");
    expect(code(model.threadState("ch", "m1", "carol"))).toBe("not_following");
    expect(value(model.threadInfo("ch", "m1")).followerCount).toBe(2);
  });

  it("follow: membership first, then the root; an existing follower is unchanged", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    expect(code(model.follow("ch", "nope", "dave"))).toBe("not_a_member");
    expect(code(model.follow("gone", "m1", "alice"))).toBe("not_a_member");
    expect(code(model.follow("ch", "nope", "carol"))).toBe("unknown_message");
    expect(code(model.follow("ch", "r1", "carol"))).toBe("unknown_message");
    // The cursor starts at the newest reply: nothing unread.
    expect(value(model.follow("ch", "m1", "carol"))).toMatchObject({
      readSeq: 1,
      unread: 0,
      lastReadMessageId: "r1",
      lastReadAt: null,
      firstUnreadMessageId: null,
    });
    model.markThreadUnread("ch", "m1", "carol", "r1");
    expect(value(model.follow("ch", "m1", "carol")).readSeq).toBe(0);
    expect(code(model.unfollow("ch", "m1", "dave"))).toBe("not_following");
    expect(code(model.unfollow("gone", "m1", "dave"))).toBe("not_following");
  });

  it("a root without replies may be followed; its summary exists while it has a follower", () => {
    const model = channelWithRoot();
    expect(code(model.threadInfo("ch", "m1"))).toBe("not_found");
    expect(value(model.follow("ch", "m1", "carol"))).toMatchObject({ threadSeq: 0, readSeq: 0, unread: 0 });
    expect(value(model.threadInfo("ch", "m1"))).toEqual({
      channelId: "ch",
      threadId: "m1",
      threadSeq: 0,
      followerCount: 1,
      lastMessageId: null,
    });
    model.unfollow("ch", "m1", "carol");
    expect(code(model.threadInfo("ch", "m1"))).toBe("not_found");
    expect(code(model.threadInfo("gone", "m1"))).toBe("not_found");
  });
});

describe("threads: replies", () => {
  it("repeats first; a reply needs an existing top-level root; replies have their own seq", () => {
    const model = channelWithRoot();
    expect(code(model.post("gone", { messageId: "r1", senderId: "bob", threadId: "m1" }))).toBe(
      "unknown_message",
    );
    expect(model.channelIds()).toEqual(["ch"]); // nothing created
    expect(code(model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m9" }))).toBe(
      "unknown_message",
    );
    value(model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" }));
    expect(code(model.post("ch", { messageId: "r2", senderId: "bob", threadId: "r1" }))).toBe(
      "validation_failed",
    );
    // A known messageId answers what it was first posted as, whatever the repeat says.
    expect(value(model.post("ch", { messageId: "r1", senderId: "carol" }))).toEqual({
      channelId: "ch",
      messageId: "r1",
      seq: 1,
      threadId: "m1",
      created: false,
    });
    expect(value(model.post("ch", { messageId: "m1", senderId: "carol", threadId: "m9" }))).toEqual({
      channelId: "ch",
      messageId: "m1",
      seq: 1,
      created: false,
    });
    expect(value(model.post("ch", { messageId: "m2", senderId: "carol" })).seq).toBe(2);
    expect(value(model.post("ch", { messageId: "r3", senderId: "carol", threadId: "m1" })).seq).toBe(2);
    // A non-member may reply: it does not follow.
    expect(value(model.post("ch", { messageId: "r4", senderId: "dave", threadId: "m2" })).seq).toBe(1);
    expect(model.followerIds("ch", "m2")).toEqual(["carol"]);
  });

  it("mentionAll in a reply is a mention for every follower but its sender, in the thread only", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    model.follow("ch", "m1", "carol");
    model.post("ch", { messageId: "r2", senderId: "bob", threadId: "m1", mentionAll: true });
    expect(value(model.threadState("ch", "m1", "alice"))).toMatchObject({ unread: 2, mentions: 1 });
    expect(value(model.threadState("ch", "m1", "carol"))).toMatchObject({ unread: 1, mentions: 1 });
    expect(value(model.threadState("ch", "m1", "bob"))).toMatchObject({ unread: 0, mentions: 0 });
    for (const u of ["alice", "bob", "carol"]) expect(value(model.memberState("ch", u)).mentions).toBe(0);
    // The sender's own mentionAll never counts for it, even when unread again.
    model.markThreadUnread("ch", "m1", "bob", "r1");
    expect(value(model.threadState("ch", "m1", "bob"))).toMatchObject({ unread: 2, mentions: 0 });
  });

  it("thread read and unread follow rules 4 and 5 over the thread's replies only", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    model.post("ch", { messageId: "r2", senderId: "bob", threadId: "m1" });
    model.post("ch", { messageId: "m2", senderId: "bob" });
    model.post("ch", { messageId: "x1", senderId: "bob", threadId: "m2" });
    expect(code(model.markThreadRead("ch", "m1", "carol"))).toBe("not_following");
    expect(code(model.markThreadRead("ch", "m1", "alice", "m2"))).toBe("unknown_message");
    expect(code(model.markThreadRead("ch", "m1", "alice", "x1"))).toBe("unknown_message");
    expect(code(model.markThreadUnread("ch", "m1", "carol", "nope"))).toBe("not_following");
    expect(value(model.markThreadRead("ch", "m1", "alice", "r1"))).toMatchObject({ readSeq: 1, unread: 1 });
    expect(value(model.markThreadRead("ch", "m1", "alice", "r1")).readSeq).toBe(1);
    const before = value(model.markThreadRead("ch", "m1", "alice"));
    expect(before).toMatchObject({ readSeq: 2, unread: 0 });
    // Backwards to an older reply: a no-op, the stamp stays.
    expect(value(model.markThreadRead("ch", "m1", "alice", "r1"))).toEqual(before);
    expect(value(model.markThreadUnread("ch", "m1", "alice", "r1"))).toMatchObject({
      readSeq: 0,
      unread: 2,
      lastReadMessageId: null,
      firstUnreadMessageId: "r1",
    });
    // Channel reads never name a reply.
    expect(code(model.markRead("ch", "alice", "r1"))).toBe("unknown_message");
    expect(code(model.markUnread("ch", "alice", "r1"))).toBe("unknown_message");
  });

  it("receipts of a reply list the followers with readSeq >= seq; memberCount is the follower count", () => {
    const model = channelWithRoot();
    model.join("ch", "dave");
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1", mentions: ["carol"] });
    model.post("ch", { messageId: "r2", senderId: "carol", threadId: "m1" });
    expect(value(model.receipts("ch", "r1"))).toEqual({
      channelId: "ch",
      messageId: "r1",
      seq: 1,
      memberCount: 3,
      readCount: 2,
      readers: [
        { userId: "bob", readSeq: 1 },
        { userId: "carol", readSeq: 2 },
      ],
      next: null,
    });
    expect(value(model.receipts("ch", "r1", { limit: 1 }))).toMatchObject({
      readers: [{ userId: "bob", readSeq: 1 }],
      next: "bob",
    });
    // The root's receipts are the channel's: 4 members, read by alice (its sender) and dave (joined after).
    expect(value(model.receipts("ch", "m1"))).toMatchObject({ memberCount: 4, readCount: 2 });
  });
});

describe("deleted messages", () => {
  it("unread, mentions and the first unread skip deleted messages; channelSeq does not change", () => {
    const model = new ReadStateModel();
    model.join("ch", "alice");
    model.join("ch", "bob");
    model.post("ch", { messageId: "m1", senderId: "alice", mentions: ["bob"] });
    model.post("ch", { messageId: "m2", senderId: "alice", mentionAll: true });
    model.post("ch", { messageId: "m3", senderId: "alice" });
    expect(value(model.memberState("ch", "bob"))).toMatchObject({
      unread: 3,
      mentions: 2,
      firstUnreadMessageId: "m1",
    });
    expect(code(model.deleteMessage("gone", "m1"))).toBe("not_found");
    expect(code(model.deleteMessage("ch", "m9"))).toBe("unknown_message");
    expect(value(model.deleteMessage("ch", "m1"))).toBeNull();
    expect(value(model.deleteMessage("ch", "m1"))).toBeNull(); // idempotent
    expect(value(model.memberState("ch", "bob"))).toMatchObject({
      unread: 2,
      mentions: 1,
      channelSeq: 3,
      readSeq: 0,
      firstUnreadMessageId: "m2",
    });
    model.deleteMessage("ch", "m3");
    expect(value(model.channelInfo("ch")).lastMessageId).toBe("m2");
    model.deleteMessage("ch", "m2");
    // Only deleted messages above the cursor: nothing unread, no first unread, channelSeq still 3.
    expect(value(model.memberState("ch", "bob"))).toMatchObject({
      unread: 0,
      mentions: 0,
      channelSeq: 3,
      firstUnreadMessageId: null,
    });
    expect(value(model.channelInfo("ch"))).toMatchObject({ channelSeq: 3, lastMessageId: null });
  });

  it("a deleted messageId reposted answers 200 with its seq and stays deleted; its position still works", () => {
    const model = new ReadStateModel();
    model.join("ch", "alice");
    model.join("ch", "bob");
    model.post("ch", { messageId: "m1", senderId: "alice" });
    model.post("ch", { messageId: "m2", senderId: "alice" });
    model.deleteMessage("ch", "m2");
    expect(value(model.post("ch", { messageId: "m2", senderId: "bob" }))).toEqual({
      channelId: "ch",
      messageId: "m2",
      seq: 2,
      created: false,
    });
    expect(value(model.memberState("ch", "bob")).unread).toBe(1);
    // Read, unread and receipts at the deleted message.
    expect(value(model.markRead("ch", "bob", "m2"))).toMatchObject({
      readSeq: 2,
      lastReadMessageId: "m2",
      unread: 0,
    });
    expect(value(model.receipts("ch", "m2"))).toMatchObject({ seq: 2, readCount: 2 });
    expect(value(model.markUnread("ch", "bob", "m2"))).toMatchObject({
      readSeq: 1,
      unread: 0,
      firstUnreadMessageId: null,
    });
    // "The newest message" is the one at channelSeq, deleted or not.
    expect(value(model.markRead("ch", "bob"))).toMatchObject({ readSeq: 2, lastReadMessageId: "m2" });
  });

  it("a deleted reply corrects the thread's counts; a deleted root leaves its thread working", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1", mentions: ["alice"] });
    model.post("ch", { messageId: "r2", senderId: "bob", threadId: "m1", mentionAll: true });
    model.post("ch", { messageId: "r3", senderId: "bob", threadId: "m1" });
    expect(value(model.threadState("ch", "m1", "alice"))).toMatchObject({
      unread: 3,
      mentions: 2,
      firstUnreadMessageId: "r1",
    });
    expect(value(model.userThreads("alice"))).toMatchObject({ unreadThreads: 1, mentions: 2 });
    model.deleteMessage("ch", "r1");
    model.deleteMessage("ch", "r3");
    expect(value(model.threadState("ch", "m1", "alice"))).toMatchObject({
      unread: 1,
      mentions: 1,
      threadSeq: 3,
      firstUnreadMessageId: "r2",
    });
    expect(value(model.threadInfo("ch", "m1"))).toMatchObject({ threadSeq: 3, lastMessageId: "r2" });
    expect(value(model.userUnread("alice")).threads).toEqual({ unreadThreads: 1, mentions: 1 });
    model.deleteMessage("ch", "r2");
    expect(value(model.userUnread("alice")).threads).toEqual({ unreadThreads: 0, mentions: 0 });
    // Deleting the root: the channel stops counting it, the thread goes on.
    model.deleteMessage("ch", "m1");
    expect(value(model.channelInfo("ch")).lastMessageId).toBeNull();
    expect(value(model.post("ch", { messageId: "r4", senderId: "carol", threadId: "m1" })).seq).toBe(4);
    expect(value(model.follow("ch", "m1", "carol"))).toMatchObject({ readSeq: 4, threadSeq: 4 });
    expect(value(model.threadState("ch", "m1", "alice"))).toMatchObject({ unread: 1, readSeq: 0 });
    expect(value(model.receipts("ch", "r1"))).toMatchObject({ seq: 1, memberCount: 3, readCount: 2 });
  });
});

describe("mute and mark all read", () => {
  it("a muted channel leaves the user's total unread, never its mentions; leaving drops the setting", () => {
    const model = new ReadStateModel();
    for (const c of ["a", "b"]) {
      model.join(c, "alice");
      model.post(c, { messageId: "m1", senderId: "bob", mentions: ["alice"] });
      model.post(c, { messageId: "m2", senderId: "bob" });
    }
    expect(code(model.setMuted("a", "carol", true))).toBe("not_a_member");
    expect(code(model.setMuted("gone", "alice", true))).toBe("not_a_member");
    expect(value(model.setMuted("a", "alice", true))).toMatchObject({ muted: true, unread: 2, mentions: 1 });
    const all = value(model.userUnread("alice"));
    expect(all).toMatchObject({ unread: 2, mentions: 2 });
    expect(all.channels.map((s) => [s.channelId, s.unread, s.muted])).toEqual([
      ["a", 2, true],
      ["b", 2, false],
    ]);
    model.leave("a", "alice");
    expect(value(model.join("a", "alice")).muted).toBe(false);
    expect(value(model.setMuted("b", "alice", false)).muted).toBe(false);
  });

  it("threads of a muted channel leave unreadThreads, never mentions", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1", mentions: ["alice"] });
    model.setMuted("ch", "alice", true);
    expect(value(model.userUnread("alice")).threads).toEqual({ unreadThreads: 0, mentions: 1 });
    expect(value(model.userThreads("alice"))).toMatchObject({ unreadThreads: 0, mentions: 1 });
    expect(value(model.userThreads("alice")).threads).toHaveLength(1);
  });

  it("marks listed channels (once each, non-member channels left alone) or all, not threads", () => {
    const model = new ReadStateModel();
    for (const c of ["a", "b", "c"]) {
      model.join(c, "alice");
      model.post(c, { messageId: "m1", senderId: "bob" });
    }
    model.post("b", { messageId: "r1", senderId: "bob", threadId: "m1", mentions: ["alice"] });
    model.post("x", { messageId: "m1", senderId: "bob" });
    const stamps = model.stampCount;
    const some = value(model.markAllRead("alice", ["b", "x", "b", "nope"]));
    expect(model.stampCount).toBe(stamps + 1);
    expect(some.channels.map((s) => [s.channelId, s.unread])).toEqual([
      ["a", 1],
      ["b", 0],
      ["c", 1],
    ]);
    expect(some).toMatchObject({ unread: 2, threads: { unreadThreads: 1, mentions: 1 } });
    // x, where alice is not a member, is left alone (not joined, not created again).
    expect(code(model.memberState("x", "alice"))).toBe("not_a_member");
    expect(value(model.channelInfo("x"))).toMatchObject({ channelSeq: 1, memberCount: 0 });
    expect(model.channelIds()).toEqual(["a", "b", "c", "x"]);
    expect(value(model.markAllRead("alice"))).toMatchObject({ unread: 0, mentions: 0 });
    expect(value(model.markAllRead("nobody"))).toEqual({
      userId: "nobody",
      unread: 0,
      mentions: 0,
      channels: [],
      threads: { unreadThreads: 0, mentions: 0 },
    });
  });
});

describe("a user's threads", () => {
  it("sorted by channelId then threadId (not by the joined key), paged with channelId|threadId", () => {
    const model = new ReadStateModel();
    for (const c of ["ch1", "ch1:x", "Ch2"]) {
      model.join(c, "alice");
      model.post(c, { messageId: "m1", senderId: "bob" });
      model.post(c, { messageId: "m2", senderId: "bob" });
      model.follow(c, "m2", "alice");
      model.follow(c, "m1", "alice");
    }
    const keys = model.followedThreadKeys("alice");
    expect(keys).toEqual(["Ch2|m1", "Ch2|m2", "ch1|m1", "ch1|m2", "ch1:x|m1", "ch1:x|m2"]);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = value(model.userThreads("alice", { limit: 4, ...(after ? { after } : {}) }));
      seen.push(...page.threads.map((s) => `${s.channelId}|${s.threadId}`));
      if (page.next === null) break;
      expect(page.next).toBe(seen.at(-1));
      after = page.next;
    }
    expect(seen).toEqual(keys);
    // A full last page has no next; an `after` naming an unfollowed thread still places the page.
    expect(value(model.userThreads("alice", { limit: 6 })).next).toBeNull();
    expect(value(model.userThreads("alice", { after: "ch1|m0" })).threads).toHaveLength(4);
    expect(value(model.userThreads("nobody"))).toEqual({
      userId: "nobody",
      unreadThreads: 0,
      mentions: 0,
      threads: [],
      next: null,
    });
  });

  it("deleting a channel deletes its threads", () => {
    const model = channelWithRoot();
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    model.deleteChannel("ch");
    model.join("ch", "alice");
    expect(value(model.userThreads("alice")).threads).toEqual([]);
    model.post("ch", { messageId: "m1", senderId: "carol" });
    expect(code(model.threadInfo("ch", "m1"))).toBe("not_found");
    expect(value(model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" })).created).toBe(true);
  });
});

describe("snapshot and restore", () => {
  it("bring back deletions, mutes, threads, followers and unfollow marks as they were", () => {
    const model = channelWithRoot();
    model.follow("ch", "m1", "alice");
    model.unfollow("ch", "m1", "alice");
    model.setMuted("ch", "carol", true);
    const snapshot = model.snapshot();
    const before = JSON.stringify([model.userUnread("carol"), model.userThreads("carol")]);
    model.deleteMessage("ch", "m1");
    model.setMuted("ch", "carol", false);
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1", mentions: ["carol"] });
    model.follow("ch", "m1", "alice");
    model.restore(snapshot);
    expect(JSON.stringify([model.userUnread("carol"), model.userThreads("carol")])).toBe(before);
    expect(value(model.channelInfo("ch")).lastMessageId).toBe("m1");
    expect(code(model.threadInfo("ch", "m1"))).toBe("not_found");
    // alice's unfollow mark came back with the snapshot: the first reply does not make her follow.
    model.post("ch", { messageId: "r1", senderId: "bob", threadId: "m1" });
    expect(model.followerIds("ch", "m1")).toEqual(["bob"]);
  });
});
