// Pages for people, served from src/http/pages as they are (no build step): /dashboard, an operator's
// live charts of GET /v1/admin/stats, and /demo, a chat page over the real API and its event stream.
// Both are static; their data comes from /v1/**, under its token rules. /demo is served only while the
// server has no API token, or when asked for (--demo, READSTATE_DEMO=1), so a production deployment
// never shows it. None of them is in /openapi.json: they are not API operations.
import { readFile } from "node:fs/promises";
import type { FastifyReply } from "fastify";
import { Type } from "typebox";
import { bearerAuth } from "../auth.js";
import type { App, RouteDeps } from "../context.js";
import { DEMO_CHANNELS, DEMO_USERS, DemoChat, MAX_TEXT } from "../demo.js";
import { errorReply } from "../errors.js";
import { Id } from "../schemas.js";

const PAGES_DIR = new URL("../pages/", import.meta.url);

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
};

// The pages load nothing from elsewhere (the machine they run on may have no way out anyway) and run
// no inline script, so a value that reached the page's HTML could not run as code.
const CONTENT_SECURITY_POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SHARED_FILES = ["common.js", "charts.js", "pages.css", "dashboard.js"];
const DEMO_FILES = ["demo.js"];

export interface PageOptions {
  apiToken: string | undefined;
  /** Serve /demo and its API. */
  demo: boolean;
}

export function pageRoutes(app: App, deps: RouteDeps, options: PageOptions): void {
  const files = new Set([...SHARED_FILES, ...(options.demo ? DEMO_FILES : [])]);
  const cache = new Map<string, Promise<Buffer>>();
  const send = async (reply: FastifyReply, name: string) => {
    let content = cache.get(name);
    if (!content) {
      content = readFile(new URL(name, PAGES_DIR));
      cache.set(name, content);
    }
    const extension = name.slice(name.lastIndexOf(".") + 1);
    return reply
      .type(CONTENT_TYPES[extension] ?? "application/octet-stream")
      .header("content-security-policy", CONTENT_SECURITY_POLICY)
      .header("x-content-type-options", "nosniff")
      .header("cache-control", "no-cache")
      .send(await content);
  };

  app.get("/dashboard", { schema: { hide: true } }, (_request, reply) => send(reply, "dashboard.html"));

  app.get(
    "/pages/:file",
    { schema: { hide: true, params: Type.Object({ file: Type.String({ maxLength: 64 }) }) } },
    (request, reply) => {
      const { file } = request.params;
      if (!files.has(file)) return notFound(reply, `there is no page file ${file}`);
      return send(reply, file);
    },
  );

  app.get("/demo", { schema: { hide: true } }, (_request, reply) => {
    if (!options.demo) {
      return notFound(
        reply,
        "the demo is off on a server started with READSTATE_API_TOKEN; start it with --demo (or " +
          "READSTATE_DEMO=1) to serve it anyway",
      );
    }
    return send(reply, "demo.html");
  });

  if (options.demo) app.register(async (scope) => demoApi(scope, deps, options));
}

/** The demo's message texts (see demo.ts); behind the API token like /v1 when the server has one. */
function demoApi(app: App, deps: RouteDeps, options: PageOptions): void {
  const chat = new DemoChat(deps.engine);
  if (options.apiToken) app.addHook("onRequest", bearerAuth(options.apiToken, deps.metrics));
  const authorization = options.apiToken ? { authorization: `Bearer ${options.apiToken}` } : {};
  const call = async (method: "PUT" | "POST" | "DELETE", url: string, body?: unknown) => {
    const response = await app.inject({ method, url, headers: authorization, payload: body as object });
    // A demo channel that does not exist yet is what the seed's delete wants anyway.
    const absent = method === "DELETE" && response.statusCode === 404;
    if (response.statusCode >= 400 && !absent) {
      throw new Error(`seeding the demo: ${method} ${url} answered ${response.statusCode} ${response.body}`);
    }
    return response.body ? response.json() : undefined;
  };
  const ChannelParams = Type.Object({ channelId: Id });

  app.get("/demo/api/setup", { schema: { hide: true } }, async () => {
    await chat.ensureSeeded(call);
    return { users: DEMO_USERS, channels: DEMO_CHANNELS, secured: Boolean(options.apiToken) };
  });

  app.put(
    "/demo/api/channels/:channelId/messages/:messageId",
    {
      schema: {
        hide: true,
        params: Type.Object({ channelId: Id, messageId: Id }),
        body: Type.Object({
          senderId: Id,
          text: Type.String({ minLength: 1, maxLength: MAX_TEXT }),
          threadId: Type.Optional(Id),
        }),
      },
    },
    async (request, reply) => {
      const { channelId, messageId } = request.params;
      const { senderId, text, threadId } = request.body;
      if (!chat.record(channelId, { messageId, senderId, text, ...(threadId ? { threadId } : {}) })) {
        return notFound(reply, `the demo keeps texts of its own channels only (${DEMO_CHANNELS.join(", ")})`);
      }
      return reply.code(204).send();
    },
  );

  app.get(
    "/demo/api/channels/:channelId/messages",
    { schema: { hide: true, params: ChannelParams } },
    async (request, reply) => {
      const { channelId } = request.params;
      if (!chat.isDemoChannel(channelId)) return notFound(reply, `${channelId} is not a demo channel`);
      return { channelId, messages: await chat.messages(channelId) };
    },
  );
}

function notFound(reply: FastifyReply, message: string) {
  return reply.code(404).send(errorReply(404, "not_found", message).body);
}
