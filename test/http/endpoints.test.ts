// Every endpoint of API.md through inject(), against the real engine on real Redis and PostgreSQL.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { call, expectError, type HttpFixture, httpFixture } from "./helpers.js";

let fx: HttpFixture;
const req = (...args: Parameters<typeof call> extends [unknown, ...infer Rest] ? Rest : never) =>
  call(fx.app, ...args);

beforeAll(async () => {
  fx = await httpFixture("http-endpoints");
});
afterAll(async () => {
  await fx?.close();
});

const memberState = (fields: Record<string, unknown>) => ({
  unread: 0,
  mentions: 0,
  readSeq: 0,
  channelSeq: 0,
  lastReadMessageId: null,
  lastReadAt: null,
  firstUnreadMessageId: null,
  muted: false,
  ...fields,
});

describe("members and messages", () => {
  it("PUT member joins with nothing unread, and is idempotent", async () => {
    const first = await req("PUT", "/v1/channels/general/members/alice");
    expect(first.status).toBe(200);
    expect(first.body).toEqual(memberState({ channelId: "general", userId: "alice" }));
    const again = await req("PUT", "/v1/channels/general/members/alice");
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
  });

  it("POST messages answers 201 with the seq, 200 with the same seq on repeat", async () => {
    await req("PUT", "/v1/channels/general/members/bob");
    const first = await req("POST", "/v1/channels/general/messages", {
      messageId: "m1",
      senderId: "alice",
      mentions: ["bob"],
    });
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ channelId: "general", messageId: "m1", seq: 1, created: true });
    const repeat = await req("POST", "/v1/channels/general/messages", { messageId: "m1", senderId: "alice" });
    expect(repeat.status).toBe(200);
    expect(repeat.body).toEqual({ channelId: "general", messageId: "m1", seq: 1, created: false });
    const second = await req("POST", "/v1/channels/general/messages", {
      messageId: "m2",
      senderId: "alice",
      mentionAll: true,
    });
    expect(second.status).toBe(201);
    expect(second.body.seq).toBe(2);
  });

  it("GET member shows unread and mentions; the sender's cursor moved with its post", async () => {
    const bob = await req("GET", "/v1/channels/general/members/bob");
    expect(bob.status).toBe(200);
    expect(bob.body).toEqual(
      memberState({
        channelId: "general",
        userId: "bob",
        unread: 2,
        mentions: 2,
        channelSeq: 2,
        firstUnreadMessageId: "m1",
      }),
    );
    const alice = await req("GET", "/v1/channels/general/members/alice");
    expect(alice.body).toMatchObject({ unread: 0, readSeq: 2, lastReadMessageId: "m2" });
    expect(typeof alice.body.lastReadAt).toBe("string");
  });

  it("GET user unread lists every channel sorted by channelId, with totals", async () => {
    await req("PUT", "/v1/channels/alpha/members/bob");
    await req("POST", "/v1/channels/alpha/messages", { messageId: "a1", senderId: "carol" });
    const bob = await req("GET", "/v1/users/bob/unread");
    expect(bob.status).toBe(200);
    expect(bob.body.userId).toBe("bob");
    expect(bob.body.channels.map((c: { channelId: string }) => c.channelId)).toEqual(["alpha", "general"]);
    expect(bob.body.unread).toBe(3);
    expect(bob.body.mentions).toBe(2);
    const nobody = await req("GET", "/v1/users/nobody/unread");
    expect(nobody.body).toEqual({
      userId: "nobody",
      unread: 0,
      mentions: 0,
      channels: [],
      threads: { unreadThreads: 0, mentions: 0 },
    });
  });

  it("POST read moves the cursor to a message, forward only, or to the newest", async () => {
    const toM1 = await req("POST", "/v1/channels/general/read", { userId: "bob", messageId: "m1" });
    expect(toM1.status).toBe(200);
    expect(toM1.body).toMatchObject({ readSeq: 1, unread: 1, mentions: 1, lastReadMessageId: "m1" });
    const back = await req("POST", "/v1/channels/general/read", { userId: "bob", messageId: "m1" });
    expect(back.body).toMatchObject({ readSeq: 1 });
    const newest = await req("POST", "/v1/channels/general/read", { userId: "bob" });
    expect(newest.body).toMatchObject({ readSeq: 2, unread: 0, mentions: 0, lastReadMessageId: "m2" });
  });

  it("POST unread sets the cursor to just before the message", async () => {
    const answer = await req("POST", "/v1/channels/general/unread", { userId: "bob", messageId: "m1" });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ readSeq: 0, unread: 2, mentions: 2, lastReadMessageId: null });
  });

  it("GET channel gives the summary", async () => {
    const answer = await req("GET", "/v1/channels/general");
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ channelId: "general", channelSeq: 2, memberCount: 2, lastMessageId: "m2" });
  });

  it("GET receipts pages readers sorted by userId", async () => {
    for (const user of ["dave", "erin", "frank"]) {
      await req("PUT", `/v1/channels/general/members/${user}`);
    }
    // dave, erin and frank joined at seq 2 so they have read m1 and m2; alice sent m2; bob is at 0.
    const page1 = await req("GET", "/v1/channels/general/messages/m1/receipts?limit=2");
    expect(page1.status).toBe(200);
    expect(page1.body).toEqual({
      channelId: "general",
      messageId: "m1",
      seq: 1,
      memberCount: 5,
      readCount: 4,
      readers: [
        { userId: "alice", readSeq: 2 },
        { userId: "dave", readSeq: 2 },
      ],
      next: "dave",
    });
    const page2 = await req("GET", "/v1/channels/general/messages/m1/receipts?limit=2&after=dave");
    expect(page2.body.readers.map((r: { userId: string }) => r.userId)).toEqual(["erin", "frank"]);
    expect(page2.body.next).toBeNull();
    const byDefault = await req("GET", "/v1/channels/general/messages/m1/receipts");
    expect(byDefault.body.readers).toHaveLength(4);
  });

  it("DELETE member answers 204 and the member is gone", async () => {
    const answer = await req("DELETE", "/v1/channels/general/members/frank");
    expect(answer.status).toBe(204);
    expect(answer.body).toBe("");
    const after = await req("GET", "/v1/channels/general/members/frank");
    expect(after.status).toBe(404);
    expect(after.body.error.code).toBe("not_a_member");
  });

  it("DELETE channel answers 204; a later post starts again at seq 1", async () => {
    const answer = await req("DELETE", "/v1/channels/alpha");
    expect(answer.status).toBe(204);
    expect((await req("GET", "/v1/channels/alpha")).status).toBe(404);
    const repost = await req("POST", "/v1/channels/alpha/messages", { messageId: "a1", senderId: "carol" });
    expect(repost.status).toBe(201);
    expect(repost.body.seq).toBe(1);
  });
});

describe("admin", () => {
  it("POST /v1/admin/flush writes the backlog and reports it", async () => {
    const before = await req("GET", "/v1/admin/sync");
    expect(before.status).toBe(200);
    expect(before.body.dirty).toBeGreaterThan(0);
    const flush = await req("POST", "/v1/admin/flush");
    expect(flush.status).toBe(200);
    expect(flush.body.flushed).toBeGreaterThan(0);
    expect(flush.body.remaining).toBe(0);
  });

  it("GET /v1/admin/sync has the contract's fields, plus the backpressure extension", async () => {
    const answer = await req("GET", "/v1/admin/sync");
    expect(answer.status).toBe(200);
    expect(Object.keys(answer.body).sort()).toEqual(
      [
        "dirty",
        "lastFlushAt",
        "lastFlushMs",
        "lastFlushRows",
        "oldestDirtyAgeMs",
        "shedding",
        "backpressureAgeMs",
      ].sort(),
    );
    expect(answer.body).toMatchObject({ shedding: false, backpressureAgeMs: 8000 });
    expect(answer.body.dirty).toBe(0);
    expect(typeof answer.body.lastFlushAt).toBe("string");
  });

  it("an empty JSON body is no body (curl -X POST -H 'content-type: application/json')", async () => {
    const answer = await req("POST", "/v1/admin/flush", "", { "content-type": "application/json" });
    expect(answer.status).toBe(200);
  });
});

describe("errors in the contract's shape", () => {
  it("400 validation_failed: malformed JSON", async () => {
    const answer = await req("POST", "/v1/channels/general/read", "{not json", {
      "content-type": "application/json",
    });
    expectError(answer, 400, "validation_failed");
    expect(answer.body.error.message).toMatch(/JSON/);
  });

  it("400 validation_failed: a bad ID in the path, the body, or a list", async () => {
    const path = await req("PUT", "/v1/channels/bad%20id/members/alice");
    expectError(path, 400, "validation_failed");
    expect(path.body.error.message).toMatch(/channelId/);
    const tooLong = await req("GET", `/v1/channels/${"c".repeat(129)}`);
    expectError(tooLong, 400, "validation_failed");
    const body = await req("POST", "/v1/channels/general/read", { userId: "-starts-with-dash" });
    expectError(body, 400, "validation_failed");
    expect(body.body.error.message).toMatch(/userId/);
    const list = await req("POST", "/v1/channels/general/messages", {
      messageId: "mx",
      senderId: "alice",
      mentions: ["ok", "not ok"],
    });
    expectError(list, 400, "validation_failed");
    expect(list.body.error.message).toMatch(/mentions\[1\]/);
  });

  it("400 validation_failed: a missing or wrongly typed field", async () => {
    const missing = await req("POST", "/v1/channels/general/messages", { messageId: "mx" });
    expectError(missing, 400, "validation_failed");
    expect(missing.body.error.message).toMatch(/senderId/);
    const wrongType = await req("POST", "/v1/channels/general/read", { userId: 42 });
    expectError(wrongType, 400, "validation_failed");
    const noBody = await req("POST", "/v1/channels/general/unread");
    expectError(noBody, 400, "validation_failed");
    const notABoolean = await req("POST", "/v1/channels/general/messages", {
      messageId: "mx",
      senderId: "alice",
      mentionAll: "yes",
    });
    expectError(notABoolean, 400, "validation_failed");
  });

  it("400 validation_failed: more than 1000 mentions", async () => {
    const mentions = Array.from({ length: 1001 }, (_, i) => `u${i}`);
    const answer = await req("POST", "/v1/channels/general/messages", {
      messageId: "mx",
      senderId: "alice",
      mentions,
    });
    expectError(answer, 400, "validation_failed");
    expect(answer.body.error.message).toMatch(/1000/);
    const atLimit = await req("POST", "/v1/channels/big/messages", {
      messageId: "mx",
      senderId: "alice",
      mentions: mentions.slice(0, 1000),
    });
    expect(atLimit.status).toBe(201);
  });

  it("400 validation_failed: receipts limit outside 1-1000 or not a number", async () => {
    for (const limit of ["0", "1001", "abc", "2.5"]) {
      const answer = await req("GET", `/v1/channels/general/messages/m1/receipts?limit=${limit}`);
      expectError(answer, 400, "validation_failed");
    }
    const ok = await req("GET", "/v1/channels/general/messages/m1/receipts?limit=1000");
    expect(ok.status).toBe(200);
  });

  it("404 not_found: a missing channel, receipts on one, and an unknown route", async () => {
    expectError(await req("GET", "/v1/channels/never-made"), 404, "not_found");
    expectError(await req("GET", "/v1/channels/never-made/messages/m1/receipts"), 404, "not_found");
    expectError(await req("GET", "/v1/no/such/route"), 404, "not_found");
    expectError(await req("GET", "/nothing-here"), 404, "not_found");
  });

  it("404 not_a_member: member calls for a non-member, or on a missing channel", async () => {
    expectError(await req("GET", "/v1/channels/general/members/stranger"), 404, "not_a_member");
    expectError(await req("POST", "/v1/channels/general/read", { userId: "stranger" }), 404, "not_a_member");
    expectError(
      await req("POST", "/v1/channels/general/unread", { userId: "stranger", messageId: "m1" }),
      404,
      "not_a_member",
    );
    expectError(await req("GET", "/v1/channels/never-made/members/alice"), 404, "not_a_member");
  });

  it("404 unknown_message: read, unread and receipts of a messageId never posted there", async () => {
    expectError(
      await req("POST", "/v1/channels/general/read", { userId: "bob", messageId: "nope" }),
      404,
      "unknown_message",
    );
    expectError(
      await req("POST", "/v1/channels/general/unread", { userId: "bob", messageId: "nope" }),
      404,
      "unknown_message",
    );
    expectError(await req("GET", "/v1/channels/general/messages/nope/receipts"), 404, "unknown_message");
  });

  it("413 payload_too_large: a body over 1 MiB", async () => {
    const payload = JSON.stringify({ messageId: "m", senderId: "s", pad: "x".repeat(1024 * 1024) });
    const answer = await req("POST", "/v1/channels/general/messages", payload, {
      "content-type": "application/json",
    });
    expectError(answer, 413, "payload_too_large");
  });

  it("every response carries a request id, taken from x-request-id when the caller sends one", async () => {
    const generated = await req("GET", "/healthz");
    expect(generated.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
    const passed = await req("GET", "/healthz", undefined, { "x-request-id": "trace-123" });
    expect(passed.headers["x-request-id"]).toBe("trace-123");
    const forged = await req("GET", "/healthz", undefined, { "x-request-id": `a b ${"x".repeat(300)}` });
    expect(forged.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });
});
