// Threads (docs/API.md, "Threads") through inject(), against the real engine on real Redis and
// PostgreSQL: replies, followers, thread state, read / unread in a thread, summaries, a user's threads.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, type HttpFixture, httpFixture } from "./helpers.js";

let fx: HttpFixture;
const req = (...args: Parameters<typeof call> extends [unknown, ...infer Rest] ? Rest : never) =>
  call(fx.app, ...args);

beforeAll(async () => {
  fx = await httpFixture("http-threads");
});
afterAll(async () => {
  await fx?.close();
});

const post = (channelId: string, message: Record<string, unknown>) =>
  req("POST", `/v1/channels/${channelId}/messages`, message);
const follower = (channelId: string, threadId: string, userId: string) =>
  `/v1/channels/${channelId}/threads/${threadId}/followers/${userId}`;

const THREAD_STATE_FIELDS = [
  "channelId",
  "threadId",
  "userId",
  "unread",
  "mentions",
  "readSeq",
  "threadSeq",
  "lastReadMessageId",
  "lastReadAt",
  "firstUnreadMessageId",
].sort();

/**
 * A thread state: exactly the contract's fields, with these values. Whether a follower's cursor set
 * by a reply or a mention counts as a change (lastReadAt) is the engine's to decide: string or null.
 */
function expectThreadState(body: Record<string, unknown>, fields: Record<string, unknown>) {
  expect(Object.keys(body).sort()).toEqual(THREAD_STATE_FIELDS);
  expect(body.lastReadAt === null || typeof body.lastReadAt === "string").toBe(true);
  expect(body).toMatchObject(fields);
}

describe("replies and followers", () => {
  beforeAll(async () => {
    for (const user of ["ann", "ben", "cat", "dan", "eve"])
      await req("PUT", `/v1/channels/t/members/${user}`);
    expect((await post("t", { messageId: "root", senderId: "ann" })).status).toBe(201);
  });

  it("a reply answers 201 with the thread's seq and threadId, leaving the channel's counts alone", async () => {
    const reply = await post("t", { messageId: "r1", senderId: "ben", threadId: "root" });
    expect(reply.status).toBe(201);
    expect(reply.body).toEqual({ channelId: "t", messageId: "r1", seq: 1, threadId: "root", created: true });
    expect((await req("GET", "/v1/channels/t")).body).toEqual({
      channelId: "t",
      channelSeq: 1,
      memberCount: 5,
      lastMessageId: "root",
    });
    expect((await req("GET", "/v1/channels/t/members/cat")).body).toMatchObject({ unread: 1, channelSeq: 1 });
  });

  it("a repeat answers 200 with what the messageId was first posted as, whatever it says", async () => {
    for (const repeat of [
      { messageId: "r1", senderId: "ben", threadId: "root" },
      { messageId: "r1", senderId: "ben" },
      { messageId: "r1", senderId: "cat", threadId: "other" },
    ]) {
      const answer = await post("t", repeat);
      expect(answer.status).toBe(200);
      expect(answer.body).toEqual({
        channelId: "t",
        messageId: "r1",
        seq: 1,
        threadId: "root",
        created: false,
      });
    }
    const top = await post("t", { messageId: "root", senderId: "ann", threadId: "r1" });
    expect(top.status).toBe(200);
    // A top-level message's result has no threadId.
    expect(top.body).toEqual({ channelId: "t", messageId: "root", seq: 1, created: false });
  });

  it("the sender and, at the first reply, the root's sender follow", async () => {
    const ben = await req("GET", follower("t", "root", "ben"));
    expect(ben.status).toBe(200);
    expectThreadState(ben.body, {
      channelId: "t",
      threadId: "root",
      userId: "ben",
      unread: 0,
      mentions: 0,
      readSeq: 1,
      threadSeq: 1,
      lastReadMessageId: "r1",
      firstUnreadMessageId: null,
    });
    expect(typeof ben.body.lastReadAt).toBe("string");
    const ann = await req("GET", follower("t", "root", "ann"));
    expect(ann.body).toMatchObject({ readSeq: 0, threadSeq: 1, unread: 1, firstUnreadMessageId: "r1" });
    expectError(await req("GET", follower("t", "root", "cat")), 404, "not_following");
  });

  it("users mentioned in a reply follow from just before it, and the mention counts in the thread only", async () => {
    const reply = await post("t", { messageId: "r2", senderId: "cat", threadId: "root", mentions: ["dan"] });
    expect(reply.body).toMatchObject({ seq: 2, threadId: "root" });
    const dan = await req("GET", follower("t", "root", "dan"));
    expect(dan.body).toMatchObject({ readSeq: 1, unread: 1, mentions: 1, firstUnreadMessageId: "r2" });
    expect((await req("GET", "/v1/channels/t/members/dan")).body).toMatchObject({ mentions: 0 });
    expect((await req("GET", follower("t", "root", "ann"))).body).toMatchObject({ unread: 2, mentions: 0 });
  });

  it("mentionAll in a reply mentions every follower but its sender", async () => {
    await post("t", { messageId: "r3", senderId: "ben", threadId: "root", mentionAll: true });
    expect((await req("GET", follower("t", "root", "ann"))).body).toMatchObject({ unread: 3, mentions: 1 });
    expect((await req("GET", follower("t", "root", "ben"))).body).toMatchObject({ unread: 0, mentions: 0 });
    // eve is a channel member, not a follower: nothing.
    expectError(await req("GET", follower("t", "root", "eve")), 404, "not_following");
  });

  it("GET thread gives the summary; 404 not_found while it has neither a reply nor a follower", async () => {
    const info = await req("GET", "/v1/channels/t/threads/root");
    expect(info.status).toBe(200);
    expect(info.body).toEqual({
      channelId: "t",
      threadId: "root",
      threadSeq: 3,
      followerCount: 4,
      lastMessageId: "r3",
    });
    await post("t", { messageId: "lonely", senderId: "ann" });
    expectError(await req("GET", "/v1/channels/t/threads/lonely"), 404, "not_found");
    expectError(await req("GET", "/v1/channels/nowhere/threads/root"), 404, "not_found");
  });

  it("receipts of a reply count the thread's followers", async () => {
    const receipts = await req("GET", "/v1/channels/t/messages/r2/receipts");
    expect(receipts.status).toBe(200);
    expect(receipts.body).toMatchObject({ seq: 2, memberCount: 4 });
    // ben read up to r3 by posting it, cat posted r2; dan's cursor started just before r2.
    expect(receipts.body.readers.map((r: { userId: string }) => r.userId)).toEqual(["ben", "cat"]);
  });
});

describe("follow and unfollow", () => {
  it("PUT follower starts at the newest reply; an existing follower is unchanged", async () => {
    const eve = await req("PUT", follower("t", "root", "eve"));
    expect(eve.status).toBe(200);
    expectThreadState(eve.body, {
      channelId: "t",
      threadId: "root",
      userId: "eve",
      unread: 0,
      mentions: 0,
      readSeq: 3,
      threadSeq: 3,
      lastReadMessageId: "r3",
      firstUnreadMessageId: null,
    });
    const ann = await req("PUT", follower("t", "root", "ann"));
    expect(ann.body).toMatchObject({ readSeq: 0, unread: 3 });
  });

  it("a root without replies may be followed", async () => {
    const answer = await req("PUT", follower("t", "lonely", "eve"));
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ threadId: "lonely", readSeq: 0, threadSeq: 0, unread: 0 });
    expect((await req("GET", "/v1/channels/t/threads/lonely")).body).toMatchObject({
      threadSeq: 0,
      followerCount: 1,
      lastMessageId: null,
    });
  });

  it("404: membership first (not_a_member), then the root (unknown_message)", async () => {
    expectError(await req("PUT", follower("t", "root", "stranger")), 404, "not_a_member");
    expectError(await req("PUT", follower("t", "never", "stranger")), 404, "not_a_member");
    expectError(await req("PUT", follower("t", "never", "eve")), 404, "unknown_message");
    // A reply is not a root: threads do not nest.
    expectError(await req("PUT", follower("t", "r1", "eve")), 404, "unknown_message");
  });

  it("DELETE follower answers 204, then 404 not_following", async () => {
    expect((await req("DELETE", follower("t", "lonely", "eve"))).status).toBe(204);
    expectError(await req("DELETE", follower("t", "lonely", "eve")), 404, "not_following");
    expectError(await req("GET", follower("t", "lonely", "eve")), 404, "not_following");
    expectError(await req("DELETE", follower("nowhere", "root", "eve")), 404, "not_following");
  });
});

describe("read and unread in a thread", () => {
  it("POST thread read moves the cursor forward to a reply, or to the newest", async () => {
    const toR1 = await req("POST", "/v1/channels/t/threads/root/read", { userId: "ann", messageId: "r1" });
    expect(toR1.status).toBe(200);
    expect(toR1.body).toMatchObject({
      channelId: "t",
      threadId: "root",
      userId: "ann",
      readSeq: 1,
      unread: 2,
      lastReadMessageId: "r1",
      firstUnreadMessageId: "r2",
    });
    const back = await req("POST", "/v1/channels/t/threads/root/read", { userId: "ann", messageId: "r1" });
    expect(back.body.readSeq).toBe(1);
    const newest = await req("POST", "/v1/channels/t/threads/root/read", { userId: "ann" });
    expect(newest.body).toMatchObject({ readSeq: 3, unread: 0, mentions: 0, firstUnreadMessageId: null });
  });

  it("POST thread unread moves the cursor to just before a reply", async () => {
    const answer = await req("POST", "/v1/channels/t/threads/root/unread", {
      userId: "ann",
      messageId: "r2",
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ readSeq: 1, unread: 2, firstUnreadMessageId: "r2" });
  });

  it("404: following first (not_following), then the messageId (unknown_message)", async () => {
    const read = "/v1/channels/t/threads/root/read";
    const unread = "/v1/channels/t/threads/root/unread";
    expectError(await req("POST", read, { userId: "stranger", messageId: "nope" }), 404, "not_following");
    expectError(await req("POST", unread, { userId: "stranger", messageId: "r1" }), 404, "not_following");
    expectError(await req("POST", read, { userId: "ann", messageId: "nope" }), 404, "unknown_message");
    // Replies and the channel's messages are separate sequences.
    expectError(await req("POST", unread, { userId: "ann", messageId: "root" }), 404, "unknown_message");
    expectError(
      await req("POST", "/v1/channels/t/read", { userId: "ann", messageId: "r1" }),
      404,
      "unknown_message",
    );
  });

  it("deleting a reply corrects the thread's counts", async () => {
    expect((await req("DELETE", "/v1/channels/t/messages/r2")).status).toBe(204);
    const ann = await req("GET", follower("t", "root", "ann"));
    expect(ann.body).toMatchObject({ readSeq: 1, threadSeq: 3, unread: 1, firstUnreadMessageId: "r3" });
  });
});

describe("reply errors", () => {
  it("a root that is a reply is 400; a root never posted, or a missing channel, is 404 unknown_message", async () => {
    expectError(
      await post("t", { messageId: "x1", senderId: "ann", threadId: "r1" }),
      400,
      "validation_failed",
    );
    expectError(
      await post("t", { messageId: "x2", senderId: "ann", threadId: "never" }),
      404,
      "unknown_message",
    );
    expectError(
      await post("nowhere", { messageId: "x3", senderId: "ann", threadId: "root" }),
      404,
      "unknown_message",
    );
    expectError(await req("GET", "/v1/channels/nowhere"), 404, "not_found");
  });
});

describe("a user's threads", () => {
  beforeAll(async () => {
    // gus follows three threads in two channels; one has unread replies and a mention.
    for (const channelId of ["u1", "u2"]) {
      await req("PUT", `/v1/channels/${channelId}/members/gus`);
      await req("PUT", `/v1/channels/${channelId}/members/hal`);
    }
    await post("u1", { messageId: "a", senderId: "gus" });
    await post("u1", { messageId: "b", senderId: "gus" });
    await post("u2", { messageId: "c", senderId: "hal" });
    await post("u1", { messageId: "a1", senderId: "hal", threadId: "a", mentions: ["gus"] });
    await post("u1", { messageId: "b1", senderId: "gus", threadId: "b" });
    await post("u2", { messageId: "c1", senderId: "gus", threadId: "c" });
  });

  it("GET user threads lists every followed thread sorted by channelId then threadId, with totals", async () => {
    const answer = await req("GET", "/v1/users/gus/threads");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ userId: "gus", unreadThreads: 1, mentions: 1, next: null });
    expect(
      answer.body.threads.map((t: { channelId: string; threadId: string }) => `${t.channelId}/${t.threadId}`),
    ).toEqual(["u1/a", "u1/b", "u2/c"]);
    expectThreadState(answer.body.threads[0], {
      channelId: "u1",
      threadId: "a",
      userId: "gus",
      readSeq: 0,
      threadSeq: 1,
      unread: 1,
      mentions: 1,
      lastReadMessageId: null,
      firstUnreadMessageId: "a1",
    });
    const unread = await req("GET", "/v1/users/gus/unread");
    expect(unread.body.threads).toEqual({ unreadThreads: 1, mentions: 1 });
  });

  it("pages with limit and the opaque next; totals count every thread, not the page", async () => {
    const seen: string[] = [];
    let after: string | null = null;
    for (let page = 0; page < 5; page++) {
      const query: string = after === null ? "?limit=2" : `?limit=2&after=${encodeURIComponent(after)}`;
      const answer = await req("GET", `/v1/users/gus/threads${query}`);
      expect(answer.status).toBe(200);
      expect(answer.body.threads.length).toBeGreaterThan(0);
      expect(answer.body).toMatchObject({ unreadThreads: 1, mentions: 1 });
      seen.push(...answer.body.threads.map((t: { threadId: string }) => t.threadId));
      after = answer.body.next;
      if (after === null) break;
      expect(typeof after).toBe("string");
    }
    expect(seen).toEqual(["a", "b", "c"]);
  });

  it("muted channels' threads leave unreadThreads, never mentions; mark all read leaves threads alone", async () => {
    await req("PATCH", "/v1/channels/u1/members/gus", { muted: true });
    expect((await req("GET", "/v1/users/gus/threads")).body).toMatchObject({ unreadThreads: 0, mentions: 1 });
    await req("PATCH", "/v1/channels/u1/members/gus", { muted: false });
    const all = await req("POST", "/v1/users/gus/read", {});
    expect(all.body.threads).toEqual({ unreadThreads: 1, mentions: 1 });
  });

  it("a user who follows nothing gets an empty page", async () => {
    const answer = await req("GET", "/v1/users/nobody/threads");
    expect(answer.body).toEqual({ userId: "nobody", unreadThreads: 0, mentions: 0, threads: [], next: null });
  });

  it("leaving a channel drops its thread states; deleting it deletes its threads", async () => {
    expect((await req("DELETE", "/v1/channels/u2/members/gus")).status).toBe(204);
    expectError(await req("GET", follower("u2", "c", "gus")), 404, "not_following");
    const threads = await req("GET", "/v1/users/gus/threads");
    expect(threads.body.threads.map((t: { threadId: string }) => t.threadId)).toEqual(["a", "b"]);
    expect((await req("DELETE", "/v1/channels/u1")).status).toBe(204);
    expectError(await req("GET", "/v1/channels/u1/threads/a"), 404, "not_found");
    expect((await req("GET", "/v1/users/gus/threads")).body.threads).toEqual([]);
  });

  it("400 validation_failed: limit outside 1-1000 or not a whole number, an empty after, a bad userId", async () => {
    for (const query of ["limit=0", "limit=1001", "limit=abc", "limit=2.5", "after="]) {
      expectError(await req("GET", `/v1/users/gus/threads?${query}`), 400, "validation_failed");
    }
    expectError(
      await req("GET", `/v1/users/gus/threads?after=${"x".repeat(1025)}`),
      400,
      "validation_failed",
    );
    expectError(await req("GET", "/v1/users/bad%20id/threads"), 400, "validation_failed");
  });

  it("takes limit 1 and 1000", async () => {
    expect((await req("GET", "/v1/users/gus/threads?limit=1000")).status).toBe(200);
    expect((await req("GET", "/v1/users/gus/threads?limit=1")).status).toBe(200);
  });
});

describe("bad IDs in thread paths and bodies", () => {
  it("400 validation_failed before anything runs", async () => {
    const attempts: [Parameters<typeof req>[0], string, unknown?][] = [
      ["PUT", follower("t", "bad%20root", "ann")],
      ["DELETE", follower("t", "root", "-ann")],
      ["GET", follower("bad%20channel", "root", "ann")],
      ["GET", "/v1/channels/t/threads/bad%20root"],
      ["POST", "/v1/channels/t/threads/root/read", { userId: "bad id" }],
      ["POST", "/v1/channels/t/threads/root/read", { userId: "ann", messageId: 7 }],
      ["POST", "/v1/channels/t/threads/root/unread", { userId: "ann" }],
      ["POST", "/v1/channels/t/threads/bad%20root/unread", { userId: "ann", messageId: "r1" }],
    ];
    for (const [method, url, body] of attempts) {
      expectError(await req(method, url, body), 400, "validation_failed");
    }
  });
});
