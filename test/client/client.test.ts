// readstate/client against the running server: a real app over a real engine (own prefix and schema
// on the shared Redis and PostgreSQL), listening on a random port. Retries, cut connections and
// event-stream reconnects go through a small HTTP proxy of the test's own: real HTTP, no mocked fetch.
import { createServer, type IncomingMessage, request, type Server } from "node:http";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BatchOp,
  chunkOps,
  createClient,
  isReadStateClientError,
  type LiveEvent,
  ops,
  type ReadStateClient,
  ReadStateClientError,
} from "../../src/client/index.js";
import { SseParser } from "../../src/client/sse.js";
import type { Engine } from "../../src/engine.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";

const TOKEN = "client-test-token";
let space: TestSpace;
let engine: Engine;
let app: ReadStateApp;
let base: string;
let client: ReadStateClient;
const proxies: Proxy[] = [];

beforeAll(async () => {
  space = testSpace("client");
  engine = await engineFor(space);
  app = build({ engine, apiToken: TOKEN });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
  client = createClient({ baseUrl: base, token: TOKEN, timeoutMs: 5000 });
});
afterAll(async () => {
  for (const proxy of proxies) await proxy.close();
  // After a stream is aborted, undici (fetch) was seen to hold a fresh connection to the server
  // that never carries a request (0 bytes). Node's closeIdleConnections() skips a connection that
  // never sent a request, so app.close() would wait for its 60 s headers timeout.
  app?.server.closeAllConnections();
  await app?.close();
  await engine?.close();
  if (space) await cleanup(space);
});

/** How the proxy answers the next requests: 503 with Retry-After, a dropped connection, or forward. */
type Mode = { kind: "503"; retryAfter?: string } | { kind: "drop" };

interface Proxy {
  base: string;
  requests: { method: string; url: string; headers: IncomingMessage["headers"] }[];
  /** Answers the next requests with these, in order; then forwards. */
  plan: Mode[];
  /** Cuts every open connection (an event stream included). */
  cutAll(): void;
  close(): Promise<void>;
}

async function proxy(target: string): Promise<Proxy> {
  const upstream = new URL(target);
  const sockets = new Set<Socket>();
  const p: Proxy = {
    base: "",
    requests: [],
    plan: [],
    cutAll: () => {
      for (const socket of sockets) socket.destroy();
    },
    close: () =>
      new Promise<void>((resolve) => {
        p.cutAll();
        server.close(() => resolve());
      }),
  };
  const server: Server = createServer((req, res) => {
    p.requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const mode = p.plan.shift();
    if (mode?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (mode?.kind === "503") {
      req.resume();
      req.on("end", () => {
        res.writeHead(503, { "content-type": "application/json", "retry-after": mode.retryAfter ?? "1" });
        res.end(JSON.stringify({ error: { code: "unavailable", message: "proxy says no" } }));
      });
      return;
    }
    const up = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: req.headers,
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        upRes.pipe(res);
        res.on("close", () => upRes.destroy());
      },
    );
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  p.base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  proxies.push(p);
  return p;
}

async function rejection(promise: Promise<unknown>): Promise<ReadStateClientError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ReadStateClientError);
    return error as ReadStateClientError;
  }
  throw new Error("expected a rejection");
}

describe("every endpoint", () => {
  it("members, messages, replies, receipts, mute, read and unread", async () => {
    const alice = await client.join("c1", "alice");
    expect(alice).toMatchObject({ channelId: "c1", userId: "alice", unread: 0, readSeq: 0, muted: false });
    await client.join("c1", "bob");
    const m1 = await client.post("c1", { messageId: "m1", senderId: "bob", mentions: ["alice"] });
    expect(m1).toEqual({ channelId: "c1", messageId: "m1", seq: 1, created: true });
    expect(await client.post("c1", { messageId: "m1", senderId: "bob" })).toMatchObject({ created: false });
    await client.post("c1", { messageId: "m2", senderId: "bob" });
    const reply = await client.post("c1", {
      messageId: "r1",
      senderId: "bob",
      threadId: "m1",
      mentions: ["alice"],
    });
    expect(reply).toEqual({ channelId: "c1", messageId: "r1", seq: 1, threadId: "m1", created: true });

    expect(await client.memberState("c1", "alice")).toMatchObject({
      unread: 2,
      mentions: 1,
      firstUnreadMessageId: "m1",
    });
    expect(await client.markRead("c1", "alice", "m1")).toMatchObject({ readSeq: 1, unread: 1 });
    expect(await client.markRead("c1", "alice")).toMatchObject({ readSeq: 2, unread: 0 });
    expect(await client.markUnread("c1", "alice", "m2")).toMatchObject({ readSeq: 1, unread: 1 });
    expect(await client.setMuted("c1", "alice", true)).toMatchObject({ muted: true });
    expect(await client.channelInfo("c1")).toEqual({
      channelId: "c1",
      channelSeq: 2,
      memberCount: 2,
      lastMessageId: "m2",
    });
    const receipts = await client.receipts("c1", "m1", { limit: 1 });
    expect(receipts).toMatchObject({
      readCount: 2,
      readers: [{ userId: "alice", readSeq: 1 }],
      next: "alice",
    });
    expect((await client.receipts("c1", "m1", { after: "alice" })).readers).toEqual([
      { userId: "bob", readSeq: 2 },
    ]);

    const unread = await client.userUnread("alice");
    expect(unread).toMatchObject({
      userId: "alice",
      unread: 0,
      mentions: 0,
      threads: { unreadThreads: 0, mentions: 1 }, // c1 is muted: its threads stay out of unreadThreads
    });
    expect(await client.markAllRead("alice")).toMatchObject({ userId: "alice" });
    await client.setMuted("c1", "alice", false);

    await client.deleteMessage("c1", "m2");
    expect(await client.channelInfo("c1")).toMatchObject({ lastMessageId: "m1" });
    await client.leave("c1", "bob");
    expect((await client.channelInfo("c1")).memberCount).toBe(1);
  });

  it("threads: follow, state, read, unread, summary, a user's threads, unfollow", async () => {
    await client.join("c2", "ann");
    await client.join("c2", "ben");
    await client.post("c2", { messageId: "root", senderId: "ann" });
    expect(await client.follow("c2", "root", "ben")).toMatchObject({
      threadId: "root",
      userId: "ben",
      unread: 0,
    });
    await client.post("c2", { messageId: "r1", senderId: "ann", threadId: "root" });
    await client.post("c2", { messageId: "r2", senderId: "ann", threadId: "root", mentions: ["ben"] });
    expect(await client.threadState("c2", "root", "ben")).toMatchObject({
      unread: 2,
      mentions: 1,
      threadSeq: 2,
    });
    expect(await client.markThreadRead("c2", "root", "ben", "r1")).toMatchObject({ readSeq: 1, unread: 1 });
    expect(await client.markThreadRead("c2", "root", "ben")).toMatchObject({ readSeq: 2, unread: 0 });
    expect(await client.markThreadUnread("c2", "root", "ben", "r2")).toMatchObject({ readSeq: 1 });
    expect(await client.threadInfo("c2", "root")).toEqual({
      channelId: "c2",
      threadId: "root",
      threadSeq: 2,
      followerCount: 2,
      lastMessageId: "r2",
    });
    const page = await client.userThreads("ben", { limit: 10 });
    expect(page).toMatchObject({ userId: "ben", unreadThreads: 1, next: null });
    expect(page.threads.map((t) => t.threadId)).toEqual(["root"]);
    await client.unfollow("c2", "root", "ben");
    expect((await rejection(client.threadState("c2", "root", "ben"))).code).toBe("not_following");
    await client.deleteChannel("c2");
    expect((await rejection(client.channelInfo("c2"))).code).toBe("not_found");
  });

  it("tokens, admin and operations", async () => {
    const { token, expiresAt } = await client.createUserToken("alice");
    expect(token).toMatch(/^rsu1\./);
    expect(Date.parse(expiresAt)).toBeGreaterThan(Date.now());
    expect(await client.flush()).toEqual({ flushed: expect.any(Number), remaining: expect.any(Number) });
    expect(await client.syncStatus()).toMatchObject({ dirty: expect.any(Number), shedding: false });
    const stats = await client.stats();
    expect(stats).toMatchObject({ intervalMs: 1000, durabilityBudgetMs: 10_000 });
    const later = await client.stats(stats.history.at(-1)?.t ?? 0);
    expect(later.history.length).toBeLessThanOrEqual(stats.history.length);
    expect(await client.health()).toEqual({ status: "ok" });
    expect(await client.ready()).toMatchObject({ ready: true, redis: { ok: true } });
    expect(await client.metrics()).toContain("# TYPE");
  });

  it("batch with typed ops, and batchAll splits over 1000 ops into several requests", async () => {
    const results = await client.batch([
      ops.join("b1", "u1"),
      ops.post("b1", { messageId: "m1", senderId: "u2", mentions: ["u1"] }),
      ops.userUnread("u1"),
      ops.state("b1", "nobody"),
    ]);
    const [joined, posted, unread, missing] = results;
    expect(joined).toMatchObject({ ok: true, channelId: "b1", userId: "u1" });
    if (posted.ok) expect(posted.seq).toBe(1);
    else throw new Error("post failed");
    expect(unread).toMatchObject({ ok: true, unread: 1, mentions: 1 });
    expect(missing).toMatchObject({ ok: false, error: { code: "not_a_member" } });

    expect(chunkOps([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    const via = await proxy(base);
    const proxied = createClient({ baseUrl: via.base, token: TOKEN });
    const many: BatchOp[] = Array.from({ length: 1500 }, (_, i) => ops.join("big", `u${i}`));
    many.push(ops.state("big", "u1499"));
    const all = await proxied.batchAll(many);
    expect(all).toHaveLength(1501);
    expect(all.every((r) => r.ok)).toBe(true);
    expect(via.requests.filter((r) => r.url === "/v1/batch")).toHaveLength(2);
    expect((await client.channelInfo("big")).memberCount).toBe(1500);
    // One request over the limit is the server's 413, typed.
    const tooMany = await rejection(client.batch(Array.from({ length: 1001 }, () => ops.userUnread("x"))));
    expect([tooMany.code, tooMany.status]).toEqual(["payload_too_large", 413]);
  });
});

describe("errors", () => {
  it("carry the contract's code, status and message", async () => {
    const notMember = await rejection(client.memberState("c1", "zed"));
    expect(notMember).toMatchObject({ code: "not_a_member", status: 404, name: "ReadStateClientError" });
    expect(notMember.message).not.toBe("");
    expect(notMember.requestId).toEqual(expect.any(String));
    expect(isReadStateClientError(notMember)).toBe(true);
    const bad = await rejection(client.join("c1", "no spaces"));
    expect([bad.code, bad.status]).toEqual(["validation_failed", 400]);
    const unknown = await rejection(client.markRead("c1", "alice", "nope"));
    expect(unknown.code).toBe("unknown_message");
    const noToken = await rejection(createClient({ baseUrl: base }).userUnread("alice"));
    expect([noToken.code, noToken.status]).toEqual(["unauthorized", 401]);
  });

  it("a connection refused is a network_error with status 0", async () => {
    const dead = createClient({ baseUrl: "http://127.0.0.1:1", retries: 1 });
    const error = await rejection(dead.health());
    expect([error.code, error.status]).toEqual(["network_error", 0]);
  });
});

describe("retries", () => {
  it("retries a 503 after its Retry-After, then succeeds", async () => {
    const via = await proxy(base);
    const c = createClient({ baseUrl: via.base, token: TOKEN, retries: 3 });
    via.plan.push({ kind: "503", retryAfter: "1" }, { kind: "503", retryAfter: "1" });
    const started = Date.now();
    expect(await c.join("r1", "amy")).toMatchObject({ channelId: "r1", userId: "amy" });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(via.requests).toHaveLength(3);
  });

  it("gives up after the bounded attempts with a typed unavailable error", async () => {
    const via = await proxy(base);
    const c = createClient({ baseUrl: via.base, token: TOKEN, retries: 1 });
    via.plan.push({ kind: "503", retryAfter: "0" }, { kind: "503", retryAfter: "0" }, { kind: "503" });
    const error = await rejection(c.userUnread("amy"));
    expect(error).toMatchObject({ code: "unavailable", status: 503, retryAfterSeconds: 0 });
    expect(via.requests).toHaveLength(2);
  });

  it("never retries a 4xx", async () => {
    const via = await proxy(base);
    const c = createClient({ baseUrl: via.base, token: TOKEN, retries: 5 });
    await rejection(c.memberState("r1", "nobody"));
    await rejection(c.join("r1", "-bad"));
    expect(via.requests).toHaveLength(2);
  });

  it("after a dropped connection, retries what is safe to apply twice, and not leave", async () => {
    const via = await proxy(base);
    const c = createClient({ baseUrl: via.base, token: TOKEN, retries: 3 });
    via.plan.push({ kind: "drop" });
    expect(await c.post("r2", { messageId: "m1", senderId: "x" })).toMatchObject({ seq: 1 });
    expect(via.requests).toHaveLength(2);
    await c.join("r2", "amy");
    via.requests.length = 0;
    via.plan.push({ kind: "drop" });
    const error = await rejection(c.leave("r2", "amy"));
    expect(error.code).toBe("network_error");
    expect(via.requests).toHaveLength(1);
    // A batch with a leave is not replayed either; one of joins only is.
    via.requests.length = 0;
    via.plan.push({ kind: "drop" });
    await rejection(c.batch([ops.leave("r2", "amy")]));
    via.plan.push({ kind: "drop" });
    expect(await c.batch([ops.join("r2", "amy")])).toMatchObject([{ ok: true }]);
    expect(via.requests).toHaveLength(3);
  });
});

describe("live events", () => {
  it("an async iterator that reconnects with Last-Event-ID after the stream is cut", async () => {
    const via = await proxy(base);
    const c = createClient({ baseUrl: via.base, token: TOKEN });
    await client.join("ev", "eve");
    const controller = new AbortController();
    const reconnects: (string | undefined)[] = [];
    const iterator = c
      .events("eve", {
        signal: controller.signal,
        reconnectDelayMs: 50,
        onReconnect: ({ lastEventId }) => reconnects.push(lastEventId),
      })
      [Symbol.asyncIterator]();
    const next = async (): Promise<LiveEvent> => {
      const { value, done } = await iterator.next();
      if (done) throw new Error("the iterator ended");
      return value;
    };
    /** The next event that matches (a join's own event may come first). */
    const until = async (match: (event: LiveEvent) => boolean): Promise<LiveEvent> => {
      for (;;) {
        const event = await next();
        if (match(event)) return event;
        expect(event.event).not.toBe("snapshot");
      }
    };
    const seq = (n: number) => (event: LiveEvent) =>
      event.event === "member" && "channelSeq" in event.data && event.data.channelSeq === n;
    const snapshot = await next();
    expect(snapshot).toMatchObject({ event: "snapshot", data: { userId: "eve" } });
    await client.post("ev", { messageId: "m1", senderId: "x", mentions: ["eve"] });
    const first = await until(seq(1));
    expect(first).toMatchObject({ event: "member", data: { channelId: "ev", channelSeq: 1, mentions: 1 } });

    via.cutAll();
    await client.post("ev", { messageId: "m2", senderId: "x" });
    const resumed = await until(seq(2));
    // Resumed, not restarted: the missed change, no snapshot.
    expect(resumed).toMatchObject({ event: "member", data: { channelSeq: 2 } });
    expect(reconnects).toEqual([first.id]);
    const streams = via.requests.filter((r) => r.url === "/v1/users/eve/events");
    expect(streams).toHaveLength(2);
    expect(streams[0]?.headers["last-event-id"]).toBeUndefined();
    expect(streams[1]?.headers["last-event-id"]).toBe(first.id);
    expect(streams[1]?.headers.authorization).toBe(`Bearer ${TOKEN}`);

    controller.abort();
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
  });

  it("waits out a 503 (the stream limit) for its Retry-After, then opens", async () => {
    const via = await proxy(base);
    const c = createClient({ baseUrl: via.base, token: TOKEN });
    via.plan.push({ kind: "503", retryAfter: "1" });
    const started = Date.now();
    for await (const event of c.events("eve")) {
      expect(event.event).toBe("snapshot");
      break;
    }
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(via.requests).toHaveLength(2);
  });

  it("opens with a user token, ends on break, and throws a typed 401", async () => {
    const { token } = await client.createUserToken("eve");
    const anonymous = createClient({ baseUrl: base });
    for await (const event of anonymous.events("eve", { token })) {
      expect(event.event).toBe("snapshot");
      break;
    }
    const refused = await rejection(
      (async () => {
        for await (const _ of anonymous.events("other", { token })) break;
      })(),
    );
    expect([refused.code, refused.status]).toEqual(["unauthorized", 401]);
  });

  it("parses SSE split anywhere, with CRLF, comments, multi-line data and retry", () => {
    const seen: unknown[] = [];
    const retries: number[] = [];
    const parser = new SseParser({ onMessage: (m) => seen.push(m), onRetry: (ms) => retries.push(ms) });
    const text =
      ': hi\r\nid: 1\r\nevent: member\r\ndata: {"a":\r\ndata: 1}\r\n\r\nretry: 2500\n\ndata: x\n\n';
    for (const ch of text) parser.push(ch);
    expect(seen).toEqual([
      { id: "1", event: "member", data: '{"a":\n1}' },
      { id: "1", event: "message", data: "x" },
    ]);
    expect(retries).toEqual([2500]);
  });
});
