// /dashboard and /demo as the server serves them: the files, their headers, when /demo is off, and the
// demo's message store and seed. What the pages do in a browser is test/browser's.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { call, type HttpFixture, httpFixture } from "./helpers.js";

let fx: HttpFixture;
const apps: ReadStateApp[] = [];

beforeAll(async () => {
  fx = await httpFixture("http-pages");
});
afterAll(async () => {
  for (const app of apps) await app.close();
  await fx?.close();
});

function app(options: { apiToken?: string; demo?: boolean }): ReadStateApp {
  const built = build({ engine: fx.engine, ...options });
  apps.push(built);
  return built;
}

describe("/dashboard", () => {
  it("is one HTML page whose scripts and styles come from this server only", async () => {
    const page = await call(fx.app, "GET", "/dashboard");
    expect(page.status).toBe(200);
    expect(String(page.headers["content-type"])).toMatch(/^text\/html/);
    expect(page.body).toContain('<script type="module" src="/pages/dashboard.js"></script>');
    expect(String(page.headers["content-security-policy"])).toMatch(/script-src 'self'/);
    expect(page.headers["x-content-type-options"]).toBe("nosniff");
    for (const file of ["dashboard.js", "charts.js", "common.js", "pages.css"]) {
      const answer = await call(fx.app, "GET", `/pages/${file}`);
      expect(answer.status, file).toBe(200);
      expect(String(answer.headers["content-type"]), file).toMatch(/^text\/(javascript|css)/);
    }
    // Every module the pages import is served (no bundler stands between them).
    for (const file of ["dashboard.js", "demo.js"]) {
      const source = (await call(fx.app, "GET", `/pages/${file}`)).body as string;
      for (const [, imported] of source.matchAll(/from "\.\/([^"]+)"/g)) {
        expect((await call(fx.app, "GET", `/pages/${imported}`)).status, imported).toBe(200);
      }
    }
  });

  it("is served without the token (its data is not): the page asks for it", async () => {
    const secured = app({ apiToken: "s3cret" });
    expect((await call(secured, "GET", "/dashboard")).status).toBe(200);
    expect((await call(secured, "GET", "/v1/admin/stats")).status).toBe(401);
  });

  it("serves only the pages' own files", async () => {
    for (const file of ["../app.ts", "..%2Fapp.ts", "nothing.js", "demo.html"]) {
      const answer = await call(fx.app, "GET", `/pages/${file}`);
      expect(answer.status, file).toBe(404);
      expect(answer.body.error.code).toBe("not_found");
    }
  });

  it("is no operation of /openapi.json", async () => {
    const document = (await call(fx.app, "GET", "/openapi.json")).body;
    const paths = Object.keys(document.paths);
    expect(paths.filter((path) => !path.startsWith("/v1/") && !path.startsWith("/"))).toEqual([]);
    expect(paths.filter((path) => /dashboard|demo|pages/.test(path))).toEqual([]);
    expect(paths).toContain("/v1/admin/stats");
  });
});

describe("/demo", () => {
  it("is served while the server has no token", async () => {
    const page = await call(fx.app, "GET", "/demo");
    expect(page.status).toBe(200);
    expect(page.body).toContain('src="/pages/demo.js"');
    expect((await call(fx.app, "GET", "/pages/demo.js")).status).toBe(200);
  });

  it("is 404 on a server with a token, unless asked for", async () => {
    const secured = app({ apiToken: "s3cret" });
    const off = await call(secured, "GET", "/demo");
    expect(off.status).toBe(404);
    expect(off.body.error.message).toMatch(/--demo|READSTATE_DEMO/);
    expect((await call(secured, "GET", "/pages/demo.js")).status).toBe(404);
    expect((await call(secured, "GET", "/demo/api/setup")).status).toBe(404);

    const forced = app({ apiToken: "s3cret", demo: true });
    expect((await call(forced, "GET", "/demo")).status).toBe(200);
    // Its data stays behind the token.
    expect((await call(forced, "GET", "/demo/api/setup")).status).toBe(401);

    const disabled = app({ demo: false });
    expect((await call(disabled, "GET", "/demo")).status).toBe(404);
  });

  it("seeds its channels once through the API: alice comes back to unread messages and a mention", async () => {
    const [first, second] = await Promise.all([
      call(fx.app, "GET", "/demo/api/setup"),
      call(fx.app, "GET", "/demo/api/setup"),
    ]);
    expect(first.status).toBe(200);
    expect(first.body).toEqual({
      users: ["alice", "bob", "carol"],
      channels: ["demo-general", "demo-random", "demo-design"],
      secured: false,
    });
    expect(second.body).toEqual(first.body);
    const alice = (await call(fx.app, "GET", "/v1/users/alice/unread")).body;
    expect(alice.channels.map((c: { channelId: string }) => c.channelId)).toEqual([
      "demo-design",
      "demo-general",
      "demo-random",
    ]);
    expect(alice).toMatchObject({ unread: 6, mentions: 1, threads: { unreadThreads: 1, mentions: 0 } });
    const general = (await call(fx.app, "GET", "/demo/api/channels/demo-general/messages")).body;
    const topLevel = general.messages.filter((m: { threadId?: string }) => !m.threadId);
    expect(topLevel.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(general.messages.filter((m: { threadId?: string }) => m.threadId === "g3")).toHaveLength(3);
  });

  it("keeps a text recorded before its post, numbered by the seq readstate gave the post", async () => {
    await call(fx.app, "GET", "/demo/api/setup");
    const recorded = await call(fx.app, "PUT", "/demo/api/channels/demo-random/messages/x1", {
      senderId: "bob",
      text: "coffee?",
    });
    expect(recorded.status).toBe(204);
    const before = (await call(fx.app, "GET", "/demo/api/channels/demo-random/messages")).body;
    expect(before.messages.some((m: { messageId: string }) => m.messageId === "x1")).toBe(false);
    const posted = await call(fx.app, "POST", "/v1/channels/demo-random/messages", {
      messageId: "x1",
      senderId: "bob",
    });
    const after = (await call(fx.app, "GET", "/demo/api/channels/demo-random/messages")).body;
    expect(after.messages.at(-1)).toMatchObject({
      messageId: "x1",
      senderId: "bob",
      text: "coffee?",
      seq: posted.body.seq,
    });
  });

  it("keeps texts of its own channels only, within limits", async () => {
    const other = await call(fx.app, "PUT", "/demo/api/channels/general/messages/x2", {
      senderId: "bob",
      text: "hi",
    });
    expect(other.status).toBe(404);
    const long = await call(fx.app, "PUT", "/demo/api/channels/demo-random/messages/x3", {
      senderId: "bob",
      text: "x".repeat(501),
    });
    expect(long.status).toBe(400);
    const badId = await call(fx.app, "PUT", "/demo/api/channels/demo-random/messages/bad%20id", {
      senderId: "bob",
      text: "hi",
    });
    expect(badId.status).toBe(400);
  });
});
