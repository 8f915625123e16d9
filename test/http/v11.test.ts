// The v1.1 endpoints of docs/API.md other than threads (test/http/threads.test.ts): deleted messages,
// first unread, mute, mark all read. Through inject(), against the real engine on real Redis and
// PostgreSQL; the 400s are answered before the engine runs.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, type HttpFixture, httpFixture } from "./helpers.js";

let fx: HttpFixture;
const req = (...args: Parameters<typeof call> extends [unknown, ...infer Rest] ? Rest : never) =>
  call(fx.app, ...args);

beforeAll(async () => {
  fx = await httpFixture("http-v11");
});
afterAll(async () => {
  await fx?.close();
});

const post = (channelId: string, message: Record<string, unknown>) =>
  req("POST", `/v1/channels/${channelId}/messages`, message);

describe("deleted messages and first unread", () => {
  beforeAll(async () => {
    await req("PUT", "/v1/channels/del/members/alice");
    await req("PUT", "/v1/channels/del/members/bob");
    await post("del", { messageId: "m1", senderId: "alice", mentions: ["bob"] });
    await post("del", { messageId: "m2", senderId: "alice" });
    await post("del", { messageId: "m3", senderId: "alice", mentions: ["bob"] });
  });

  it("member state names the first unread message, and says whether the channel is muted", async () => {
    const bob = await req("GET", "/v1/channels/del/members/bob");
    expect(bob.status).toBe(200);
    expect(bob.body).toEqual({
      channelId: "del",
      userId: "bob",
      unread: 3,
      mentions: 2,
      readSeq: 0,
      channelSeq: 3,
      lastReadMessageId: null,
      lastReadAt: null,
      firstUnreadMessageId: "m1",
      muted: false,
    });
    const alice = await req("GET", "/v1/channels/del/members/alice");
    expect(alice.body).toMatchObject({ unread: 0, firstUnreadMessageId: null });
  });

  it("DELETE message answers 204; the message keeps its seq but no longer counts", async () => {
    const answer = await req("DELETE", "/v1/channels/del/messages/m1");
    expect(answer.status).toBe(204);
    expect(answer.body).toBe("");
    const bob = await req("GET", "/v1/channels/del/members/bob");
    expect(bob.body).toMatchObject({ unread: 2, mentions: 1, channelSeq: 3, firstUnreadMessageId: "m2" });
  });

  it("deleting again is 204; a missing channel is not_found, a messageId never posted unknown_message", async () => {
    expect((await req("DELETE", "/v1/channels/del/messages/m1")).status).toBe(204);
    expectError(await req("DELETE", "/v1/channels/del/messages/never"), 404, "unknown_message");
    expectError(await req("DELETE", "/v1/channels/no-such-channel/messages/m1"), 404, "not_found");
  });

  it("posting a deleted messageId again answers 200 with its seq and does not bring it back", async () => {
    const again = await post("del", { messageId: "m1", senderId: "alice" });
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ channelId: "del", messageId: "m1", seq: 1, created: false });
    expect((await req("GET", "/v1/channels/del/members/bob")).body).toMatchObject({ unread: 2 });
  });

  it("the channel summary's lastMessageId skips deleted messages", async () => {
    expect((await req("DELETE", "/v1/channels/del/messages/m3")).status).toBe(204);
    const info = await req("GET", "/v1/channels/del");
    expect(info.body).toEqual({ channelId: "del", channelSeq: 3, memberCount: 2, lastMessageId: "m2" });
  });

  it("read, unread and receipts still work at a deleted message", async () => {
    const read = await req("POST", "/v1/channels/del/read", { userId: "bob", messageId: "m1" });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({
      readSeq: 1,
      lastReadMessageId: "m1",
      unread: 1,
      firstUnreadMessageId: "m2",
    });
    const receipts = await req("GET", "/v1/channels/del/messages/m1/receipts");
    expect(receipts.status).toBe(200);
    expect(receipts.body).toMatchObject({ seq: 1, readCount: 2 });
    const newest = await req("POST", "/v1/channels/del/read", { userId: "bob" });
    // The newest message is the one at channelSeq, deleted or not.
    expect(newest.body).toMatchObject({
      readSeq: 3,
      lastReadMessageId: "m3",
      unread: 0,
      firstUnreadMessageId: null,
    });
    const unread = await req("POST", "/v1/channels/del/unread", { userId: "bob", messageId: "m1" });
    expect(unread.body).toMatchObject({ readSeq: 0, unread: 1, firstUnreadMessageId: "m2" });
  });

  it("400 validation_failed for a bad ID in the path", async () => {
    expectError(await req("DELETE", "/v1/channels/del/messages/bad%20id"), 400, "validation_failed");
    expectError(await req("DELETE", "/v1/channels/-del/messages/m1"), 400, "validation_failed");
  });
});

describe("mute", () => {
  beforeAll(async () => {
    for (const channelId of ["loud", "quiet"]) {
      await req("PUT", `/v1/channels/${channelId}/members/carol`);
      await post(channelId, { messageId: "m1", senderId: "dave", mentions: ["carol"] });
      await post(channelId, { messageId: "m2", senderId: "dave" });
    }
  });

  it("PATCH member { muted } answers the member state with muted set", async () => {
    const answer = await req("PATCH", "/v1/channels/quiet/members/carol", { muted: true });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      channelId: "quiet",
      userId: "carol",
      unread: 2,
      mentions: 1,
      readSeq: 0,
      channelSeq: 2,
      lastReadMessageId: null,
      lastReadAt: null,
      firstUnreadMessageId: "m1",
      muted: true,
    });
    expect((await req("GET", "/v1/channels/quiet/members/carol")).body.muted).toBe(true);
  });

  it("the user's total unread leaves muted channels out, the total mentions keeps them", async () => {
    const answer = await req("GET", "/v1/users/carol/unread");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ userId: "carol", unread: 2, mentions: 2 });
    expect(answer.body.threads).toEqual({ unreadThreads: 0, mentions: 0 });
    const entries = answer.body.channels.map((c: { channelId: string; unread: number; muted: boolean }) => [
      c.channelId,
      c.unread,
      c.muted,
    ]);
    expect(entries).toEqual([
      ["loud", 2, false],
      ["quiet", 2, true],
    ]);
  });

  it("unmutes, and leaving drops the setting", async () => {
    const unmuted = await req("PATCH", "/v1/channels/quiet/members/carol", { muted: false });
    expect(unmuted.body.muted).toBe(false);
    await req("PATCH", "/v1/channels/quiet/members/carol", { muted: true });
    expect((await req("DELETE", "/v1/channels/quiet/members/carol")).status).toBe(204);
    const rejoined = await req("PUT", "/v1/channels/quiet/members/carol");
    expect(rejoined.body.muted).toBe(false);
  });

  it("404 not_a_member for a non-member or a missing channel", async () => {
    expectError(
      await req("PATCH", "/v1/channels/loud/members/stranger", { muted: true }),
      404,
      "not_a_member",
    );
    expectError(
      await req("PATCH", "/v1/channels/nowhere/members/carol", { muted: true }),
      404,
      "not_a_member",
    );
  });

  it("400 validation_failed unless muted is a JSON boolean", async () => {
    for (const body of [{ muted: "true" }, { muted: 1 }, { muted: null }, {}, { mute: true }]) {
      const answer = await req("PATCH", "/v1/channels/loud/members/carol", body);
      expectError(answer, 400, "validation_failed");
      expect(answer.body.error.message).toMatch(/muted/);
    }
    expectError(await req("PATCH", "/v1/channels/loud/members/carol"), 400, "validation_failed");
    expectError(
      await req("PATCH", "/v1/channels/loud/members/bad%20id", { muted: true }),
      400,
      "validation_failed",
    );
  });
});

describe("mark all read", () => {
  beforeAll(async () => {
    for (const channelId of ["a1", "a2", "a3"]) {
      await req("PUT", `/v1/channels/${channelId}/members/erin`);
      await post(channelId, { messageId: "m1", senderId: "dave", mentions: ["erin"] });
      await post(channelId, { messageId: "m2", senderId: "dave" });
    }
    await req("PUT", "/v1/channels/not-erins/members/dave");
    await post("not-erins", { messageId: "m1", senderId: "frank" });
  });

  it("with channelIds marks those read (repeats once, non-member channels left alone); answers as user unread", async () => {
    const answer = await req("POST", "/v1/users/erin/read", {
      channelIds: ["a1", "not-erins", "a1", "nowhere"],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ userId: "erin", unread: 4, mentions: 2 });
    expect(answer.body.threads).toEqual({ unreadThreads: 0, mentions: 0 });
    const byChannel = Object.fromEntries(
      answer.body.channels.map((c: { channelId: string; readSeq: number }) => [c.channelId, c.readSeq]),
    );
    expect(byChannel).toEqual({ a1: 2, a2: 0, a3: 0 });
    expect(answer.body).toEqual((await req("GET", "/v1/users/erin/unread")).body);
    expect((await req("GET", "/v1/channels/not-erins/members/erin")).status).toBe(404);
  });

  it("with {} marks every channel read to its newest message", async () => {
    const answer = await req("POST", "/v1/users/erin/read", {});
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ unread: 0, mentions: 0 });
    for (const channel of answer.body.channels) {
      expect(channel).toMatchObject({
        readSeq: 2,
        unread: 0,
        lastReadMessageId: "m2",
        firstUnreadMessageId: null,
      });
    }
  });

  it("takes no body at all, or an empty one sent as JSON", async () => {
    for (const channelId of ["a1", "a2"]) await post(channelId, { messageId: "m3", senderId: "dave" });
    const none = await req("POST", "/v1/users/erin/read");
    expect(none.status).toBe(200);
    expect(none.body.unread).toBe(0);
    await post("a3", { messageId: "m3", senderId: "dave" });
    const empty = await req("POST", "/v1/users/erin/read", "", { "content-type": "application/json" });
    expect(empty.status).toBe(200);
    expect(empty.body.unread).toBe(0);
  });

  it("an unknown user gets zeros", async () => {
    const answer = await req("POST", "/v1/users/nobody/read", {});
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      userId: "nobody",
      unread: 0,
      mentions: 0,
      channels: [],
      threads: { unreadThreads: 0, mentions: 0 },
    });
  });

  it("400 validation_failed: channelIds empty, over 1000, not a list of IDs; a bad userId", async () => {
    const tooMany = Array.from({ length: 1001 }, (_, i) => `c${i}`);
    const bodies: unknown[] = [
      { channelIds: [] },
      { channelIds: tooMany },
      { channelIds: "a1" },
      { channelIds: ["a1", "bad id"] },
      { channelIds: [42] },
      [],
    ];
    for (const body of bodies) {
      const answer = await req("POST", "/v1/users/erin/read", body);
      expectError(answer, 400, "validation_failed");
    }
    const empty = await req("POST", "/v1/users/erin/read", { channelIds: [] });
    expect(empty.body.error.message).toMatch(/channelIds/);
    const over = await req("POST", "/v1/users/erin/read", { channelIds: tooMany });
    expect(over.body.error.message).toMatch(/1000/);
    expectError(await req("POST", "/v1/users/bad%20id/read", {}), 400, "validation_failed");
  });

  it("accepts exactly 1000 channelIds", async () => {
    const channelIds = Array.from({ length: 1000 }, (_, i) => `c${i}`);
    const answer = await req("POST", "/v1/users/erin/read", { channelIds });
    expect(answer.status).toBe(200);
  });
});

describe("posts with threadId: input checked before the engine", () => {
  it("400 validation_failed for a threadId that is not an ID", async () => {
    for (const threadId of ["bad id", "", 42, null, "-x"]) {
      const answer = await post("del", { messageId: "r9", senderId: "alice", threadId });
      expectError(answer, 400, "validation_failed");
      expect(answer.body.error.message).toMatch(/threadId/);
    }
  });
});
