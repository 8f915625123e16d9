// Bad input (issue 5): a corpus of malformed requests, each answered with a 4xx in the contract's
// error shape and no change of state; a fast-check fuzz of random bodies and paths that never gets a
// 5xx; and every /v1 route refused with 401 without the right token. Runs in the main suite (`npm
// test`): it needs only the shared Redis and PostgreSQL, each under its own prefix and schema.
import fc from "fast-check";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { Engine } from "../../src/engine.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";

type Method = "GET" | "PUT" | "POST" | "DELETE" | "PATCH";

interface BadRequest {
  name: string;
  method: Method;
  url: string;
  /** A string is sent as is (broken JSON); anything else as JSON. */
  body?: unknown;
  contentType?: string;
  /** Batch only: a 200 whose every result is `ok: false` also counts as a refusal (see batch.ts). */
  batch?: boolean;
  /**
   * Names a channel that was never created: the engine caches that absence (one meta hash with the
   * cache TTL, like any clean channel), so the key count may grow by one; nothing else may change.
   */
  cachesAbsence?: boolean;
}

const TOKEN = "s3cret-token";
const C = "seed";
const auth = { authorization: `Bearer ${TOKEN}` };

let space: TestSpace;
let engine: Engine;
let app: ReadStateApp;
let redis: Redis;

beforeAll(async () => {
  space = testSpace("badinput");
  engine = await engineFor(space);
  app = build({ engine, apiToken: TOKEN });
  await app.ready();
  redis = new Redis(space.redisUrl);
  // A seeded channel whose state the snapshot compares: two members, three messages, one cursor moved.
  for (const u of ["u1", "u2"]) await engine.join(C, u);
  for (const m of ["m1", "m2", "m3"])
    await engine.post(C, { messageId: m, senderId: "u1", mentions: ["u2"] });
  await engine.markRead(C, "u2", "m1");
  await engine.flush();
});

afterAll(async () => {
  redis?.disconnect();
  await app?.close();
  await engine?.close();
  if (space) await cleanup(space);
});

async function send(
  method: Method,
  url: string,
  body?: unknown,
  headers: Record<string, string> = auth,
  contentType?: string,
) {
  const payload = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const response = await app.inject({
    method,
    url,
    headers: {
      ...headers,
      ...(payload === undefined ? {} : { "content-type": contentType ?? "application/json" }),
    },
    ...(payload === undefined ? {} : { payload }),
  });
  let parsed: unknown;
  try {
    parsed = JSON.parse(response.body);
  } catch {
    parsed = response.body;
  }
  return { status: response.statusCode, body: parsed };
}

function isContractError(body: unknown): boolean {
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return (
    typeof error?.code === "string" &&
    error.code !== "" &&
    typeof error.message === "string" &&
    error.message !== ""
  );
}

/** Everything a malformed request could have changed: backlog, channel, members, keys. */
async function snapshot(): Promise<string> {
  const [sync, channel, u1, u2, user, receipts, keys] = await Promise.all([
    engine.syncStatus(),
    engine.channelInfo(C),
    engine.memberState(C, "u1"),
    engine.memberState(C, "u2"),
    engine.userUnread("u2"),
    engine.receipts(C, "m1", {}),
    countKeys(),
  ]);
  return JSON.stringify({ dirty: sync.dirty, channel, u1, u2, user, receipts, keys });
}

function withoutKeys(snap: string): { keys: number; rest: string } {
  const { keys, ...rest } = JSON.parse(snap) as { keys: number };
  return { keys, rest: JSON.stringify(rest) };
}

async function countKeys(): Promise<number> {
  let cursor = "0";
  let count = 0;
  do {
    const [next, found] = await redis.scan(cursor, "MATCH", `${space.keyPrefix}:*`, "COUNT", 1000);
    cursor = next;
    count += found.length;
  } while (cursor !== "0");
  return count;
}

// IDs the contract refuses: braces (hash tags), spaces, control characters, too long, bad first char.
const BAD_IDS: [string, string][] = [
  ["braces", "{seed}"],
  ["open brace", "a{b"],
  ["space", "a b"],
  ["leading space", " a"],
  ["tab", "a\tb"],
  ["newline", "a\nb"],
  ["NUL", "a\u0000b"],
  ["DEL", "a\u007f"],
  ["129 chars", "a".repeat(129)],
  ["10,000 chars", "x".repeat(10_000)],
  ["leading dash", "-a"],
  ["leading dot", ".a"],
  ["non-ASCII", "ü"],
  ["emoji", "😀"],
  ["slash", "a/b"],
  ["percent", "a%b"],
  ["star", "a*"],
];

const enc = encodeURIComponent;

function corpus(): BadRequest[] {
  const list: BadRequest[] = [];
  const add = (r: BadRequest) => list.push(r);
  for (const [what, id] of BAD_IDS) {
    add({ name: `join: channelId ${what}`, method: "PUT", url: `/v1/channels/${enc(id)}/members/u1` });
    add({ name: `join: userId ${what}`, method: "PUT", url: `/v1/channels/${C}/members/${enc(id)}` });
    add({
      name: `post: senderId ${what}`,
      method: "POST",
      url: `/v1/channels/${C}/messages`,
      body: { messageId: "mx", senderId: id },
    });
    add({
      name: `post: messageId ${what}`,
      method: "POST",
      url: `/v1/channels/${C}/messages`,
      body: { messageId: id, senderId: "u1" },
    });
    add({
      name: `read: userId ${what}`,
      method: "POST",
      url: `/v1/channels/${C}/read`,
      body: { userId: id },
    });
    add({
      name: `unread: messageId ${what}`,
      method: "POST",
      url: `/v1/channels/${C}/unread`,
      body: { userId: "u1", messageId: id },
    });
    add({ name: `leave: channelId ${what}`, method: "DELETE", url: `/v1/channels/${enc(id)}/members/u1` });
    add({ name: `delete channel ${what}`, method: "DELETE", url: `/v1/channels/${enc(id)}` });
  }
  const post = `/v1/channels/${C}/messages`;
  for (const [what, text] of [
    ["open brace", "{"],
    ["truncated", '{"messageId":'],
    ["single quotes", "{'messageId':'m9','senderId':'u1'}"],
    ["trailing comma", '{"messageId":"m9","senderId":"u1",}'],
    ["bare word", "undefined"],
    ["NaN", '{"messageId":"m9","senderId":"u1","mentionAll":NaN}'],
    ["unterminated array", "[1,2"],
    ["two documents", '{"messageId":"m9","senderId":"u1"}{}'],
    ["comment", '{"messageId":"m9", /* x */ "senderId":"u1"}'],
    ["proto poisoning", '{"messageId":"m9","senderId":"u1","__proto__":{"admin":true}}'],
    ["constructor poisoning", '{"messageId":"m9","senderId":"u1","constructor":{"prototype":{"x":1}}}'],
  ] as const) {
    add({ name: `post: broken JSON (${what})`, method: "POST", url: post, body: text });
    add({ name: `read: broken JSON (${what})`, method: "POST", url: `/v1/channels/${C}/read`, body: text });
  }
  // Duplicate fields: the last one wins in JSON.parse, and here the last one is always invalid.
  add({
    name: "post: duplicate messageId",
    method: "POST",
    url: post,
    body: '{"messageId":"m9","senderId":"u1","messageId":5}',
  });
  add({
    name: "read: duplicate userId",
    method: "POST",
    url: `/v1/channels/${C}/read`,
    body: '{"userId":"u1","userId":"u 1"}',
  });
  add({
    name: "unread: duplicate messageId",
    method: "POST",
    url: `/v1/channels/${C}/unread`,
    body: '{"userId":"u1","messageId":"m1","messageId":null}',
  });
  for (const [what, body] of [
    ["empty object", {}],
    ["array", [{ messageId: "m9", senderId: "u1" }]],
    ["string", '"m9"'],
    ["number", "42"],
    ["null", "null"],
    ["messageId number", { messageId: 9, senderId: "u1" }],
    ["messageId null", { messageId: null, senderId: "u1" }],
    ["messageId bool", { messageId: true, senderId: "u1" }],
    ["messageId array", { messageId: ["m9"], senderId: "u1" }],
    ["messageId object", { messageId: { id: "m9" }, senderId: "u1" }],
    ["senderId number", { messageId: "m9", senderId: 1 }],
    ["missing senderId", { messageId: "m9" }],
    ["missing messageId", { senderId: "u1" }],
    ["mentions string", { messageId: "m9", senderId: "u1", mentions: "u2" }],
    ["mentions numbers", { messageId: "m9", senderId: "u1", mentions: [1, 2] }],
    ["mentions null item", { messageId: "m9", senderId: "u1", mentions: [null] }],
    ["mentions bad id", { messageId: "m9", senderId: "u1", mentions: ["{u2}"] }],
    ["mentions object", { messageId: "m9", senderId: "u1", mentions: { u2: true } }],
    [
      "5,000 mentions",
      { messageId: "m9", senderId: "u1", mentions: Array.from({ length: 5000 }, (_, i) => `u${i}`) },
    ],
    [
      "1,001 mentions",
      { messageId: "m9", senderId: "u1", mentions: Array.from({ length: 1001 }, (_, i) => `u${i}`) },
    ],
    ["mentionAll string", { messageId: "m9", senderId: "u1", mentionAll: "yes" }],
    ["mentionAll number", { messageId: "m9", senderId: "u1", mentionAll: 1 }],
    ["body over 1 MiB", { messageId: "m9", senderId: "u1", pad: "x".repeat(1.5 * 1024 * 1024) }],
  ] as const) {
    add({ name: `post: ${what}`, method: "POST", url: post, body });
  }
  add({
    name: "post: text/plain",
    method: "POST",
    url: post,
    body: '{"messageId":"m9","senderId":"u1"}',
    contentType: "text/plain",
  });
  add({
    name: "post: form encoded",
    method: "POST",
    url: post,
    body: "messageId=m9&senderId=u1",
    contentType: "application/x-www-form-urlencoded",
  });
  add({ name: "post: xml", method: "POST", url: post, body: "<m id='m9'/>", contentType: "application/xml" });
  add({ name: "post: no body", method: "POST", url: post });
  for (const [what, body] of [
    ["userId number", { userId: 1 }],
    ["no userId", {}],
    ["messageId number", { userId: "u1", messageId: 3 }],
    ["unknown message", { userId: "u1", messageId: "never-posted" }],
    ["not a member", { userId: "stranger", messageId: "m1" }],
  ] as const) {
    add({ name: `read: ${what}`, method: "POST", url: `/v1/channels/${C}/read`, body });
    add({ name: `unread: ${what}`, method: "POST", url: `/v1/channels/${C}/unread`, body });
  }
  add({
    name: "unread: no messageId",
    method: "POST",
    url: `/v1/channels/${C}/unread`,
    body: { userId: "u1" },
  });
  add({
    name: "read: unknown channel",
    method: "POST",
    url: "/v1/channels/nochannel/read",
    body: { userId: "u1" },
    cachesAbsence: true,
  });
  add({ name: "leave: not a member", method: "DELETE", url: `/v1/channels/${C}/members/stranger` });
  const receipts = `/v1/channels/${C}/messages/m1/receipts`;
  for (const q of [
    "limit=0",
    "limit=-1",
    "limit=1001",
    "limit=abc",
    "limit=1.5",
    "limit=",
    "limit=1e9",
    "after=%7Bu1%7D",
    "after=a%20b",
    "limit=10&limit=20",
  ]) {
    add({ name: `receipts: ${q}`, method: "GET", url: `${receipts}?${q}` });
  }
  add({ name: "receipts: unknown message", method: "GET", url: `/v1/channels/${C}/messages/nope/receipts` });
  add({
    name: "receipts: unknown channel",
    method: "GET",
    url: "/v1/channels/nochannel/messages/m1/receipts",
    cachesAbsence: true,
  });
  add({ name: "channel: unknown", method: "GET", url: "/v1/channels/nochannel", cachesAbsence: true });
  add({ name: "member: not a member", method: "GET", url: `/v1/channels/${C}/members/stranger` });
  add({ name: "user unread: bad id", method: "GET", url: `/v1/users/${enc("{u1}")}/unread` });
  const batch = "/v1/batch";
  for (const [what, body] of [
    ["empty object", {}],
    ["ops string", { ops: "join" }],
    ["ops object", { ops: { op: "join" } }],
    ["ops null", { ops: null }],
    ["1,001 ops", { ops: Array.from({ length: 1001 }, () => ({ op: "join", channelId: C, userId: "u1" })) }],
    ["array body", [{ op: "join", channelId: C, userId: "u1" }]],
  ] as const) {
    add({ name: `batch: ${what}`, method: "POST", url: batch, body });
  }
  for (const [what, op] of [
    ["unknown op", { op: "explode", channelId: C }],
    ["op number", { op: 1, channelId: C, userId: "u1" }],
    ["no op", { channelId: C, userId: "u1" }],
    ["null op", null],
    ["bad channel id", { op: "join", channelId: "{x}", userId: "u1" }],
    ["post numbers", { op: "post", channelId: C, messageId: 1, senderId: 2 }],
    ["read unknown message", { op: "read", channelId: C, userId: "u1", messageId: "nope" }],
    ["unread missing messageId", { op: "unread", channelId: C, userId: "u1" }],
  ] as const) {
    add({ name: `batch: ${what}`, method: "POST", url: batch, body: { ops: [op, op] }, batch: true });
  }
  add({ name: "unknown route", method: "GET", url: "/v1/nope" });
  add({ name: "wrong method", method: "PATCH", url: `/v1/channels/${C}` });
  add({ name: "wrong method on member", method: "POST", url: `/v1/channels/${C}/members/u1`, body: {} });
  add({ name: "admin: body on flush", method: "POST", url: "/v1/admin/flush", body: "{" });
  return list;
}

const CORPUS = corpus();

describe("a corpus of malformed requests", () => {
  test("has at least 100 requests", () => {
    expect(CORPUS.length).toBeGreaterThanOrEqual(100);
  });

  test.each(CORPUS.map((r) => [r.name, r] as const))(
    "%s → 4xx in the contract's shape, nothing changed",
    async (_, r) => {
      const before = await snapshot();
      const answer = await send(r.method, r.url, r.body, auth, r.contentType);
      if (r.batch && answer.status === 200) {
        // batch.ts: a malformed op fails alone inside a 200; every op here is malformed or refused.
        const results = (answer.body as { results: { ok: boolean; error?: unknown }[] }).results;
        expect(results.every((res) => res.ok === false && isContractError(res))).toBe(true);
      } else {
        expect(answer.status, JSON.stringify(answer.body).slice(0, 300)).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(isContractError(answer.body), JSON.stringify(answer.body).slice(0, 300)).toBe(true);
      }
      const after = await snapshot();
      if (r.cachesAbsence) {
        expect(withoutKeys(after).rest).toBe(withoutKeys(before).rest);
        expect(withoutKeys(after).keys - withoutKeys(before).keys).toBeLessThanOrEqual(1);
      } else {
        expect(after).toBe(before);
      }
    },
  );
});

describe("fuzz: random bodies and paths", () => {
  const id = fc.oneof(
    fc.constantFrom("u1", "u2", "m1", "m2", C, "x"),
    fc.string({ maxLength: 12 }),
    fc.string({ unit: "binary", maxLength: 8 }),
    fc.integer(),
    fc.constant(null),
  );
  const body = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    fc.record(
      {
        userId: id,
        messageId: id,
        senderId: id,
        mentions: fc.array(id, { maxLength: 4 }),
        mentionAll: fc.oneof(fc.boolean(), id),
      },
      { requiredKeys: [] },
    ),
    fc.string({ maxLength: 40 }),
  );
  const segment = fc.oneof(
    fc.constantFrom("u1", C, "m1", "", "%7B", "%00", "..", "a%20b"),
    fc.string({ maxLength: 10 }).map(enc),
  );
  const route = fc.tuple(
    fc.constantFrom<[Method, string]>(
      ["POST", "/v1/channels/:c/messages"],
      ["POST", "/v1/channels/:c/read"],
      ["POST", "/v1/channels/:c/unread"],
      ["PUT", "/v1/channels/:c/members/:u"],
      ["GET", "/v1/channels/:c/members/:u"],
      ["GET", "/v1/users/:u/unread"],
      ["GET", "/v1/channels/:c/messages/:u/receipts?limit=:c"],
      ["POST", "/v1/batch"],
      ["GET", "/v1/channels/:c"],
    ),
    segment,
    segment,
  );

  test("never a 5xx; every 4xx in the contract's shape", async () => {
    await fc.assert(
      fc.asyncProperty(route, body, async ([[method, template], c, u], payload) => {
        // The fuzz writes to its own channels (the prefix fz-) so the seeded one stays intact.
        const url = template.replace(":c", `fz-${c}`).replace(":u", u).replace(":c", c);
        const wrapped = template === "/v1/batch" ? { ops: [payload] } : payload;
        const answer = await send(
          method,
          url,
          method === "GET" ? undefined : typeof wrapped === "string" ? wrapped : wrapped,
        );
        if (answer.status >= 500)
          throw new Error(`${method} ${url} → ${answer.status} ${JSON.stringify(answer.body)}`);
        if (answer.status >= 400 && !isContractError(answer.body)) {
          throw new Error(
            `${method} ${url} → ${answer.status} not in the error shape: ${JSON.stringify(answer.body)}`,
          );
        }
      }),
      { numRuns: 300, seed: 5 },
    );
  });
});

describe("authentication", () => {
  const ROUTES: [Method, string, unknown?][] = [
    ["PUT", `/v1/channels/${C}/members/u9`],
    ["DELETE", `/v1/channels/${C}/members/u1`],
    ["POST", `/v1/channels/${C}/messages`, { messageId: "m9", senderId: "u1" }],
    ["POST", `/v1/channels/${C}/read`, { userId: "u1" }],
    ["POST", `/v1/channels/${C}/unread`, { userId: "u1", messageId: "m1" }],
    ["GET", `/v1/channels/${C}/members/u1`],
    ["GET", "/v1/users/u1/unread"],
    ["GET", `/v1/channels/${C}`],
    ["GET", `/v1/channels/${C}/messages/m1/receipts`],
    ["DELETE", `/v1/channels/${C}`],
    ["POST", "/v1/batch", { ops: [{ op: "join", channelId: C, userId: "u9" }] }],
    ["POST", "/v1/admin/flush"],
    ["GET", "/v1/admin/sync"],
  ];
  const BAD_HEADERS: [string, Record<string, string>][] = [
    ["no header", {}],
    ["wrong token", { authorization: "Bearer wrong" }],
    ["token with a suffix", { authorization: `Bearer ${TOKEN}x` }],
    ["token prefix only", { authorization: `Bearer ${TOKEN.slice(0, 4)}` }],
    ["empty bearer", { authorization: "Bearer " }],
    ["basic scheme", { authorization: `Basic ${Buffer.from(`x:${TOKEN}`).toString("base64")}` }],
    ["token without scheme", { authorization: TOKEN }],
  ];
  const cases = ROUTES.flatMap(([method, url, body]) =>
    BAD_HEADERS.map(([what, headers]) => [`${method} ${url} (${what})`, method, url, body, headers] as const),
  );

  test.each(cases)("%s → 401", async (_, method, url, body, headers) => {
    const before = await snapshot();
    const answer = await send(method, url, body, headers);
    expect(answer.status).toBe(401);
    expect((answer.body as { error: { code: string } }).error.code).toBe("unauthorized");
    expect(await snapshot()).toBe(before);
  });

  test("the right token passes", async () => {
    expect((await send("GET", `/v1/channels/${C}`)).status).toBe(200);
  });
});
