// POST /v1/batch: ops in order, one result each, a failed op not stopping the rest.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, type HttpFixture, httpFixture } from "./helpers.js";

let fx: HttpFixture;
const batch = (ops: unknown) => call(fx.app, "POST", "/v1/batch", { ops });

beforeAll(async () => {
  fx = await httpFixture("http-batch");
});
afterAll(async () => {
  await fx?.close();
});

describe("POST /v1/batch", () => {
  it("applies every op kind in order and answers each like its single endpoint", async () => {
    const answer = await batch([
      { op: "join", channelId: "b1", userId: "ann" },
      { op: "join", channelId: "b1", userId: "ben" },
      { op: "post", channelId: "b1", messageId: "m1", senderId: "ann", mentions: ["ben"] },
      { op: "post", channelId: "b1", messageId: "m1", senderId: "ann" },
      { op: "post", channelId: "b1", messageId: "m2", senderId: "ann", mentionAll: true },
      { op: "read", channelId: "b1", userId: "ben", messageId: "m1" },
      { op: "unread", channelId: "b1", userId: "ann", messageId: "m2" },
      { op: "read", channelId: "b1", userId: "ann" },
      { op: "leave", channelId: "b1", userId: "ben" },
    ]);
    expect(answer.status).toBe(200);
    const results = answer.body.results;
    expect(results).toHaveLength(9);
    expect(results[0]).toEqual({
      ok: true,
      channelId: "b1",
      userId: "ann",
      unread: 0,
      mentions: 0,
      readSeq: 0,
      channelSeq: 0,
      lastReadMessageId: null,
      lastReadAt: null,
      firstUnreadMessageId: null,
      muted: false,
    });
    expect(results[2]).toEqual({ ok: true, channelId: "b1", messageId: "m1", seq: 1, created: true });
    expect(results[3]).toEqual({ ok: true, channelId: "b1", messageId: "m1", seq: 1, created: false });
    expect(results[4]).toMatchObject({ ok: true, seq: 2, created: true });
    expect(results[5]).toMatchObject({ ok: true, userId: "ben", readSeq: 1, unread: 1, mentions: 1 });
    expect(results[6]).toMatchObject({ ok: true, userId: "ann", readSeq: 1, unread: 1 });
    expect(results[7]).toMatchObject({ ok: true, userId: "ann", readSeq: 2, unread: 0 });
    expect(results[8]).toEqual({ ok: true });
    const ben = await call(fx.app, "GET", "/v1/channels/b1/members/ben");
    expect(ben.body.error.code).toBe("not_a_member");
  });

  it("a failed op, from the engine or malformed, fails alone", async () => {
    const answer = await batch([
      { op: "join", channelId: "b2", userId: "ann" },
      { op: "read", channelId: "b2", userId: "stranger" },
      { op: "fly", channelId: "b2" },
      { op: "join", channelId: "bad id", userId: "ann" },
      { op: "post", channelId: "b2", senderId: "ann" },
      "not an object",
      { op: "read", channelId: "b2", userId: "ann", messageId: "never" },
      { op: "post", channelId: "b2", messageId: "m1", senderId: "ann" },
    ]);
    expect(answer.status).toBe(200);
    const results = answer.body.results;
    const codes = results.map((r: { ok: boolean; error?: { code: string } }) =>
      r.ok ? "ok" : r.error?.code,
    );
    expect(codes).toEqual([
      "ok",
      "not_a_member",
      "validation_failed",
      "validation_failed",
      "validation_failed",
      "validation_failed",
      "unknown_message",
      "ok",
    ]);
    expect(results[2].error.message).toMatch(/ops\[2\]\.op must be one of/);
    expect(results[3].error.message).toMatch(/ops\[3\]\.channelId/);
    expect(results[4].error.message).toMatch(/messageId/);
    expect(results[7]).toMatchObject({ seq: 1 });
  });

  it("keeps request order within a channel while channels run side by side", async () => {
    const ops = [];
    for (let i = 1; i <= 50; i++) {
      ops.push({ op: "post", channelId: `p${i % 5}`, messageId: `m${i}`, senderId: "ann" });
    }
    const answer = await batch(ops);
    const seqs = new Map<string, number[]>();
    answer.body.results.forEach((r: { channelId: string; seq: number }) => {
      seqs.set(r.channelId, [...(seqs.get(r.channelId) ?? []), r.seq]);
    });
    for (const list of seqs.values()) expect(list).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
  });

  it("accepts exactly 1000 ops and refuses 1001 with 413 payload_too_large", async () => {
    const ops = Array.from({ length: 1000 }, (_, i) => ({ op: "join", channelId: "big", userId: `u${i}` }));
    const full = await batch(ops);
    expect(full.status).toBe(200);
    expect(full.body.results.every((r: { ok: boolean }) => r.ok)).toBe(true);
    const over = await batch([...ops, { op: "join", channelId: "big", userId: "one-more" }]);
    expect(over.status).toBe(413);
    expect(over.body.error.code).toBe("payload_too_large");
    const info = await call(fx.app, "GET", "/v1/channels/big");
    expect(info.body.memberCount).toBe(1000);
  });

  it("a malformed envelope is 400 validation_failed; an empty batch is fine", async () => {
    for (const body of [{}, { ops: "x" }, [], { ops: { op: "join" } }]) {
      const answer = await call(fx.app, "POST", "/v1/batch", body);
      expect(answer.status).toBe(400);
      expect(answer.body.error.code).toBe("validation_failed");
    }
    const empty = await batch([]);
    expect(empty.status).toBe(200);
    expect(empty.body).toEqual({ results: [] });
  });
});

describe("POST /v1/batch, v1.1 ops", () => {
  it("applies deleteMessage, mute, replies, follow, unfollow, threadRead, threadUnread, state, userUnread", async () => {
    const answer = await batch([
      { op: "join", channelId: "v1", userId: "ann" },
      { op: "join", channelId: "v1", userId: "ben" },
      { op: "post", channelId: "v1", messageId: "root", senderId: "ann" },
      { op: "post", channelId: "v1", messageId: "gone", senderId: "ann", mentions: ["ben"] },
      { op: "deleteMessage", channelId: "v1", messageId: "gone" },
      { op: "mute", channelId: "v1", userId: "ben", muted: true },
      { op: "post", channelId: "v1", messageId: "r1", senderId: "ann", threadId: "root" },
      { op: "follow", channelId: "v1", threadId: "root", userId: "ben" },
      { op: "post", channelId: "v1", messageId: "r2", senderId: "ann", threadId: "root" },
      { op: "threadRead", channelId: "v1", threadId: "root", userId: "ben", messageId: "r2" },
      { op: "threadUnread", channelId: "v1", threadId: "root", userId: "ben", messageId: "r2" },
      { op: "state", channelId: "v1", userId: "ben" },
      { op: "userUnread", userId: "ben" },
      { op: "unfollow", channelId: "v1", threadId: "root", userId: "ben" },
    ]);
    expect(answer.status).toBe(200);
    const results = answer.body.results;
    expect(results.map((r: { ok: boolean }) => r.ok)).toEqual(Array(14).fill(true));
    expect(results[4]).toEqual({ ok: true });
    expect(results[5]).toMatchObject({ ok: true, channelId: "v1", userId: "ben", muted: true, unread: 1 });
    expect(results[6]).toEqual({
      ok: true,
      channelId: "v1",
      messageId: "r1",
      seq: 1,
      threadId: "root",
      created: true,
    });
    expect(results[7]).toMatchObject({ ok: true, threadId: "root", userId: "ben", readSeq: 1, threadSeq: 1 });
    expect(results[9]).toMatchObject({ ok: true, readSeq: 2, unread: 0, lastReadMessageId: "r2" });
    expect(results[10]).toMatchObject({ ok: true, readSeq: 1, unread: 1, firstUnreadMessageId: "r2" });
    expect(results[11]).toEqual({
      ok: true,
      channelId: "v1",
      userId: "ben",
      unread: 1,
      mentions: 0,
      readSeq: 0,
      channelSeq: 2,
      lastReadMessageId: null,
      // Joining sets no lastReadAt, and muting moves no cursor.
      lastReadAt: null,
      firstUnreadMessageId: "root",
      muted: true,
    });
    expect(results[12]).toEqual({
      ok: true,
      userId: "ben",
      unread: 0,
      mentions: 0,
      channels: [results[11]].map(({ ok: _ok, ...state }: { ok: boolean }) => state),
      threads: { unreadThreads: 0, mentions: 0 },
    });
    expect(results[13]).toEqual({ ok: true });
    const state = await call(fx.app, "GET", "/v1/channels/v1/threads/root/followers/ben");
    expect(state.body.error.code).toBe("not_following");
  });

  it("each result of a single endpoint's body, field for field", async () => {
    await batch([
      { op: "join", channelId: "v2", userId: "ann" },
      { op: "post", channelId: "v2", messageId: "root", senderId: "ann" },
      { op: "post", channelId: "v2", messageId: "r1", senderId: "ann", threadId: "root" },
    ]);
    const answer = await batch([
      { op: "state", channelId: "v2", userId: "ann" },
      { op: "userUnread", userId: "ann" },
      { op: "threadRead", channelId: "v2", threadId: "root", userId: "ann" },
    ]);
    const [state, unread, thread] = answer.body.results;
    expect(state).toEqual({ ok: true, ...(await call(fx.app, "GET", "/v1/channels/v2/members/ann")).body });
    expect(unread).toEqual({ ok: true, ...(await call(fx.app, "GET", "/v1/users/ann/unread")).body });
    const single = await call(fx.app, "GET", "/v1/channels/v2/threads/root/followers/ann");
    expect(thread).toEqual({ ok: true, ...single.body });
  });

  it("userUnread sees exactly the ops before it, over every channel, and the ops after it wait", async () => {
    const ops: unknown[] = [];
    for (let i = 0; i < 5; i++) {
      ops.push({ op: "join", channelId: `w${i}`, userId: "cat" });
      ops.push({ op: "post", channelId: `w${i}`, messageId: "m1", senderId: "dan" });
    }
    ops.push({ op: "userUnread", userId: "cat" });
    for (let i = 0; i < 5; i++)
      ops.push({ op: "post", channelId: `w${i}`, messageId: "m2", senderId: "dan" });
    ops.push({ op: "userUnread", userId: "cat" });
    ops.push({ op: "read", channelId: "w0", userId: "cat" });
    ops.push({ op: "userUnread", userId: "cat" });
    ops.push({ op: "userUnread", userId: "cat" });
    const answer = await batch(ops);
    const totals = answer.body.results
      .filter((r: { threads?: unknown }) => r.threads !== undefined)
      .map((r: { unread: number }) => r.unread);
    expect(totals).toEqual([5, 10, 8, 8]);
  });

  it("a malformed new op fails alone with validation_failed", async () => {
    const answer = await batch([
      { op: "mute", channelId: "v1", userId: "ann", muted: "yes" },
      { op: "mute", channelId: "v1", userId: "ann" },
      { op: "post", channelId: "v1", messageId: "x", senderId: "ann", threadId: "bad id" },
      { op: "deleteMessage", channelId: "v1" },
      { op: "follow", channelId: "v1", userId: "ann" },
      { op: "threadUnread", channelId: "v1", threadId: "root", userId: "ann" },
      { op: "userUnread" },
      { op: "userUnread", userId: "bad id" },
      { op: "state", userId: "ann" },
      { op: "state", channelId: "v1", userId: "ann" },
    ]);
    expect(answer.status).toBe(200);
    const codes = answer.body.results.map((r: { ok: boolean; error?: { code: string } }) =>
      r.ok ? "ok" : r.error?.code,
    );
    expect(codes).toEqual([...Array(9).fill("validation_failed"), "ok"]);
    expect(answer.body.results[0].error.message).toMatch(/ops\[0\]\.muted/);
    expect(answer.body.results[2].error.message).toMatch(/ops\[2\]\.threadId/);
    expect(answer.body.results[6].error.message).toMatch(/userId/);
  });

  it("engine errors of the new ops fail alone", async () => {
    const answer = await batch([
      { op: "deleteMessage", channelId: "v1", messageId: "never" },
      { op: "deleteMessage", channelId: "nowhere", messageId: "m1" },
      { op: "mute", channelId: "v1", userId: "stranger", muted: true },
      { op: "follow", channelId: "v1", threadId: "never", userId: "ann" },
      { op: "unfollow", channelId: "v1", threadId: "root", userId: "stranger" },
      { op: "threadRead", channelId: "v1", threadId: "root", userId: "stranger" },
      { op: "state", channelId: "v1", userId: "stranger" },
      { op: "userUnread", userId: "stranger" },
    ]);
    const codes = answer.body.results.map((r: { ok: boolean; error?: { code: string } }) =>
      r.ok ? "ok" : r.error?.code,
    );
    expect(codes).toEqual([
      "unknown_message",
      "not_found",
      "not_a_member",
      "unknown_message",
      "not_following",
      "not_following",
      "not_a_member",
      "ok",
    ]);
  });
});
