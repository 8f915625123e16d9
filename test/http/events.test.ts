// GET /v1/users/{userId}/events over real HTTP, with two instances: every change goes through app A,
// every stream is held by app B (API.md, "Live events"). Also the stream limit, keep-alive comments,
// resuming, shutdown, and the user tokens.
import { performance } from "node:perf_hooks";
import { Writable } from "node:stream";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { type BuildOptions, build, type ReadStateApp, urlForLog } from "../../src/http/app.js";
import { UserTokens } from "../../src/http/tokens.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";
import { isMember } from "../helpers/live.js";
import { openSse, type SseClient } from "../helpers/sse.js";

let space: TestSpace;
let engineA: Engine;
let engineB: Engine;
const apps: ReadStateApp[] = [];
const clients: SseClient[] = [];

beforeAll(async () => {
  space = testSpace("http-events");
  engineA = await engineFor(space);
  engineB = await engineFor(space, { migrate: false });
});
afterAll(async () => {
  for (const client of clients) client.close();
  for (const app of apps) await app.close();
  await engineA?.close();
  await engineB?.close();
  await cleanup(space);
});

/** An app over `engine`, listening on a free port; answers its base URL. */
async function serve(engine: Engine, options: Omit<BuildOptions, "engine"> = {}) {
  const app = build({ engine, ...options });
  apps.push(app);
  const base = await app.listen({ host: "127.0.0.1", port: 0 });
  return { app, base };
}

async function stream(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const client = await openSse(url, headers);
  clients.push(client);
  return client;
}

async function post(base: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${base}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body ?? {}),
  });
  return { status: response.status, body: await response.json(), headers: response.headers };
}

describe("the stream", () => {
  it("starts with the snapshot, then a change made through the other instance arrives within 1 s", async () => {
    const a = await serve(engineA);
    const b = await serve(engineB);
    await fetch(`${a.base}/v1/channels/h1/members/hal`, { method: "PUT" });
    await fetch(`${a.base}/v1/channels/h1/members/ida`, { method: "PUT" });
    const client = await stream(`${b.base}/v1/users/hal/events`);
    expect(client.status).toBe(200);
    expect(client.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
    expect(client.headers["x-request-id"]).toEqual(expect.any(String));
    const { event: snapshot } = await client.log.waitFor((e) => e.event === "snapshot");
    const unread = await (await fetch(`${a.base}/v1/users/hal/unread`)).json();
    expect(snapshot.data).toEqual(unread);
    expect(snapshot.id).toEqual(expect.any(String));

    const answer = await post(a.base, "/v1/channels/h1/messages", {
      messageId: "m1",
      senderId: "ida",
      mentions: ["hal"],
    });
    const ackAt = performance.now();
    expect(answer.status).toBe(201);
    const { event, at } = await client.log.waitFor(isMember("h1", { channelSeq: 1 }));
    expect(at - ackAt).toBeLessThan(1000);
    expect(event.data).toMatchObject({ unread: 1, mentions: 1 });
    expect(event.id).not.toBe(snapshot.id);
  });

  it("resumes from Last-Event-ID (header, or lastEventId in the query) with the missed events", async () => {
    const b = await serve(engineB);
    await engineA.join("h2", "jo");
    const first = await stream(`${b.base}/v1/users/jo/events`);
    await engineA.post("h2", { messageId: "m1", senderId: "x" });
    const seen = await first.log.waitFor(isMember("h2", { channelSeq: 1 }));
    first.close();
    await first.ended;
    await engineA.post("h2", { messageId: "m2", senderId: "x" });
    await new Promise((resolve) => setTimeout(resolve, 400));
    const resumed = await stream(`${b.base}/v1/users/jo/events`, { "last-event-id": seen.event.id });
    await resumed.log.waitFor(isMember("h2", { channelSeq: 2 }));
    expect(resumed.log.events.some((e) => e.event === "snapshot")).toBe(false);
    const byQuery = await stream(
      `${b.base}/v1/users/jo/events?lastEventId=${encodeURIComponent(seen.event.id)}`,
    );
    await byQuery.log.waitFor(isMember("h2", { channelSeq: 2 }));
    expect(byQuery.log.events[0]?.event).toBe("member");
    // An id this instance does not know: a snapshot, not an error.
    const unknown = await stream(`${b.base}/v1/users/jo/events`, { "last-event-id": "gone-1.99" });
    expect(unknown.status).toBe(200);
    await unknown.log.waitFor((e) => e.event === "snapshot");
  });

  it("sends a comment line while nothing happens", async () => {
    const b = await serve(engineB, { sse: { heartbeatMs: 100 } });
    const client = await stream(`${b.base}/v1/users/quiet/events`);
    await client.log.waitFor((e) => e.event === "snapshot");
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect(client.comments.length).toBeGreaterThanOrEqual(3);
  });

  it("answers 503 with Retry-After past the instance's stream limit, and 400 for a bad userId", async () => {
    const capped = await engineFor(space, { migrate: false, maxStreams: 1 });
    try {
      const b = await serve(capped);
      const held = await stream(`${b.base}/v1/users/u1/events`);
      expect(held.status).toBe(200);
      const refused = await stream(`${b.base}/v1/users/u2/events`);
      expect(refused.status).toBe(503);
      expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(2);
      expect(refused.body).toMatchObject({ error: { code: "unavailable" } });
      expect((await stream(`${b.base}/v1/users/bad%20id/events`)).status).toBe(400);
      const metrics = await (await fetch(`${b.base}/metrics`)).text();
      expect(metrics).toMatch(/^readstate_live_streams 1$/m);
      expect(metrics).toMatch(/^readstate_live_events_total\{event="snapshot"\} [1-9]/m);
      expect(metrics).toMatch(/^readstate_live_delivery_lag_seconds_count /m);
      expect(metrics).toMatch(/^readstate_live_events_coalesced_total /m);
      held.close();
      await held.ended;
      // Its place is free again.
      await new Promise((resolve) => setTimeout(resolve, 100));
      expect((await stream(`${b.base}/v1/users/u2/events`)).status).toBe(200);
    } finally {
      for (const client of clients) client.close();
      await capped.close();
    }
  });

  it("on shutdown gives every stream its own retry hint, closes it, and then the app closes", async () => {
    const own = await engineFor(space, { migrate: false });
    const b = await serve(own);
    const streams = await Promise.all(
      ["s1", "s2", "s3", "s4"].map((u) => stream(`${b.base}/v1/users/${u}/events`)),
    );
    for (const client of streams) await client.log.waitFor((e) => e.event === "snapshot");
    const started = performance.now();
    await b.app.close();
    expect(performance.now() - started).toBeLessThan(2000);
    for (const client of streams) {
      await client.ended;
      expect(client.retries).toHaveLength(1);
      expect(client.retries[0]).toBeGreaterThanOrEqual(1000);
      expect(client.retries[0]).toBeLessThanOrEqual(10_000);
    }
    // Jitter: not all the same.
    expect(new Set(streams.map((client) => client.retries[0])).size).toBeGreaterThan(1);
    await own.close();
  });
});

describe("user tokens", () => {
  const SERVICE = "service-token";
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

  it("are issued with the service token only, and open that user's stream only", async () => {
    const b = await serve(engineB, { apiToken: SERVICE });
    expect((await post(b.base, "/v1/users/kim/tokens")).status).toBe(401);
    const issued = await post(b.base, "/v1/users/kim/tokens", undefined, bearer(SERVICE));
    expect(issued.status).toBe(200);
    expect(issued.body).toEqual({ token: expect.stringMatching(/^rsu1\./), expiresAt: expect.any(String) });
    const ttl = Date.parse(issued.body.expiresAt) - Date.now();
    expect(ttl).toBeGreaterThan(3590_000);
    expect(ttl).toBeLessThanOrEqual(3600_000);
    const { token } = issued.body as { token: string };

    // Opens kim's stream as ?access_token= and as Bearer; the service token opens any.
    for (const client of [
      await stream(`${b.base}/v1/users/kim/events?access_token=${token}`),
      await stream(`${b.base}/v1/users/kim/events`, bearer(token)),
      await stream(`${b.base}/v1/users/kim/events`, bearer(SERVICE)),
    ]) {
      expect(client.status).toBe(200);
      await client.log.waitFor((e) => e.event === "snapshot");
    }
    const refused = async (url: string, headers: Record<string, string> = {}) => {
      const client = await stream(url, headers);
      expect(client.status, url).toBe(401);
      expect(client.body).toMatchObject({ error: { code: "unauthorized" } });
      expect(client.headers["www-authenticate"]).toBe("Bearer");
    };
    // Another user's stream, no token, an expired one, another key's, a tampered one.
    await refused(`${b.base}/v1/users/lou/events?access_token=${token}`);
    await refused(`${b.base}/v1/users/kim/events`);
    const expired = new UserTokens({ apiToken: SERVICE }, 60).issue("kim", Date.now() - 61_000).token;
    await refused(`${b.base}/v1/users/kim/events?access_token=${expired}`);
    const foreign = new UserTokens({ tokenSecret: "another deployment" }, 60).issue("kim").token;
    await refused(`${b.base}/v1/users/kim/events?access_token=${foreign}`);
    const [head, payload] = token.split(".");
    const forged = Buffer.from(JSON.stringify({ sub: "kim", exp: 9_999_999_999, scope: "events" })).toString(
      "base64url",
    );
    await refused(`${b.base}/v1/users/kim/events?access_token=${head}.${forged}.${token.split(".")[2]}`);
    await refused(`${b.base}/v1/users/kim/events?access_token=${head}.${payload}`);
    // Nothing else under /v1 takes a user token.
    expect((await fetch(`${b.base}/v1/users/kim/unread`, { headers: bearer(token) })).status).toBe(401);
    expect((await post(b.base, "/v1/users/kim/tokens", undefined, bearer(token))).status).toBe(401);
  });

  it("are valid on every instance of the deployment (a key derived from the service token, or the shared secret)", async () => {
    const a = await serve(engineA, { apiToken: SERVICE });
    const b = await serve(engineB, { apiToken: SERVICE });
    const { token } = (await post(a.base, "/v1/users/max/tokens", undefined, bearer(SERVICE))).body;
    expect((await stream(`${b.base}/v1/users/max/events?access_token=${token}`)).status).toBe(200);
    // With READSTATE_TOKEN_SECRET, that key signs, whatever the service token.
    const c = await serve(engineA, { apiToken: "other-service-token", tokenSecret: "shared" });
    const d = await serve(engineB, { apiToken: SERVICE, tokenSecret: "shared" });
    const shared = (await post(c.base, "/v1/users/max/tokens", undefined, bearer("other-service-token")))
      .body;
    expect((await stream(`${d.base}/v1/users/max/events?access_token=${shared.token}`)).status).toBe(200);
    expect((await stream(`${b.base}/v1/users/max/events?access_token=${shared.token}`)).status).toBe(401);
  });

  it("end the stream they opened when they expire", async () => {
    const b = await serve(engineB, { apiToken: SERVICE, userTokenTtlS: 1 });
    const { token, expiresAt } = (await post(b.base, "/v1/users/ned/tokens", undefined, bearer(SERVICE)))
      .body;
    const client = await stream(`${b.base}/v1/users/ned/events?access_token=${token}`);
    expect(client.status).toBe(200);
    await client.ended;
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(expiresAt) - 50);
    expect(client.comments.map((c) => c.text).join()).toContain("expired");
    // Opened with the service token: no end.
    const service = await stream(`${b.base}/v1/users/ned/events`, bearer(SERVICE));
    await new Promise((resolve) => setTimeout(resolve, 1200));
    expect(service.isEnded()).toBe(false);
  });

  it("without READSTATE_API_TOKEN: the stream is open, and tokens are still issued", async () => {
    const b = await serve(engineB);
    expect((await stream(`${b.base}/v1/users/ola/events`)).status).toBe(200);
    expect((await stream(`${b.base}/v1/users/ola/events?access_token=whatever`)).status).toBe(200);
    const issued = await post(b.base, "/v1/users/ola/tokens");
    expect(issued.status).toBe(200);
    expect((await stream(`${b.base}/v1/users/ola/events?access_token=${issued.body.token}`)).status).toBe(
      200,
    );
  });

  it("never appear in a log line, request logging on", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: "trace" }, sink);
    const b = await serve(engineB, { apiToken: SERVICE, logger, logRequests: true });
    const { token } = (await post(b.base, "/v1/users/pia/tokens", undefined, bearer(SERVICE))).body;
    const opened = await stream(`${b.base}/v1/users/pia/events?lastEventId=x&access_token=${token}`);
    await opened.log.waitFor((e) => e.event === "snapshot");
    // Refused (401), on another user's stream, encoded, and an unknown route.
    await stream(`${b.base}/v1/users/zoe/events?access_token=${token}`);
    await stream(`${b.base}/v1/users/pia/events?access%5Ftoken=${token}&x=1`);
    await stream(`${b.base}/v1/users/pia/events?access_token=${SERVICE}`);
    await fetch(`${b.base}/nowhere?access_token=${token}`);
    opened.close();
    await opened.ended;
    const text = lines.join("");
    expect(text).toContain("incoming request");
    expect(text).toContain("[redacted]");
    expect(text).not.toContain(token);
    expect(text).not.toContain(token.split(".")[2]);
    expect(text).not.toContain(SERVICE);
  });

  it("masks access_token however its name is encoded", () => {
    expect(urlForLog("/v1/users/u/events?access_token=abc")).toBe(
      "/v1/users/u/events?access_token=[redacted]",
    );
    expect(urlForLog("/e?a=1&access%5Ftoken=abc&b=2")).toBe("/e?a=1&access%5Ftoken=[redacted]&b=2");
    expect(urlForLog("/e?access_token")).toBe("/e?access_token=[redacted]");
    expect(urlForLog("/e?x=%E0%A4%A&y=1")).toBe("/e?x=%E0%A4%A&y=1");
    expect(urlForLog("/e")).toBe("/e");
  });
});
