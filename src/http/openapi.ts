// /openapi.json from the route table: every route's TypeBox schemas, collected as routes register,
// so the document cannot drift from what the server validates and serializes.
//
// Security is declared on every operation, and truthfully for the server that serves the document:
// /v1 operations require the bearer token when READSTATE_API_TOKEN is set (and then list 401);
// without a token they declare "bearer or nothing" ([{ bearer: [] }, {}]), since such a server
// accepts both. Declaring bearer there too keeps generated clients able to send the token, so one
// client works against a development server and a secured one. The ops routes (/healthz, /readyz,
// /metrics, /openapi.json) are always open: security []. Routes marked `hide` (the pages) are left out.
import type { RouteOptions } from "fastify";
import type { OpenApiOverrides } from "./context.js";
import { errorBody } from "./schemas.js";

interface CollectedRoute {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  overrides: OpenApiOverrides;
}

export interface DocumentInfo {
  title: string;
  version: string;
  /** The server requires `Authorization: Bearer <token>` on /v1 (READSTATE_API_TOKEN is set). */
  secured: boolean;
}

type JsonObject = Record<string, unknown>;

const TAGS = [
  { name: "members", description: "Join, leave, mute, mark read and unread, one member's state" },
  {
    name: "channels",
    description: "Post and delete messages, the channel summary, read receipts, delete a channel",
  },
  {
    name: "threads",
    description: "Follow a thread, its follower's state, mark read and unread in it, its summary",
  },
  { name: "users", description: "Everything of one user: unread totals, mark all read, followed threads" },
  { name: "batch", description: "Many operations in one request, each answered on its own" },
  { name: "admin", description: "The write-behind backlog, and flushing it" },
  { name: "ops", description: "Liveness, readiness, metrics and this document; never behind the token" },
];

const RETRY_AFTER = {
  description:
    "seconds to wait before retrying; sent when writes were refused to let the write-behind catch up",
  schema: { type: "integer", minimum: 1 },
};

export class OpenApiCollector {
  private readonly routes: CollectedRoute[] = [];
  private readonly operationIds = new Map<string, string>();
  private document: JsonObject | undefined;

  /** An onRoute hook: remembers each route's schema; a route without a unique operationId is a bug. */
  readonly onRoute = (route: RouteOptions): void => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const schema = (route.schema ?? {}) as Record<string, unknown>;
    // Pages for people (/dashboard, /demo and their files) are not operations of the API.
    if (schema.hide === true) return;
    for (const method of methods) {
      // Fastify adds a HEAD twin for every GET; documenting it adds nothing.
      if (method === "HEAD") continue;
      const name = `${method} ${route.url}`;
      const operationId = schema.operationId;
      if (typeof operationId !== "string" || operationId === "") {
        throw new Error(`route ${name} has no schema.operationId; /openapi.json needs one per operation`);
      }
      const taken = this.operationIds.get(operationId);
      if (taken !== undefined) {
        throw new Error(`routes ${taken} and ${name} share the operationId "${operationId}"`);
      }
      this.operationIds.set(operationId, name);
      this.routes.push({
        method: method.toLowerCase(),
        url: route.url,
        schema,
        overrides: route.config?.openapi ?? {},
      });
    }
    this.document = undefined;
  };

  toJSON(info: DocumentInfo): JsonObject {
    this.document ??= this.build(info);
    return this.document;
  }

  private build(info: DocumentInfo): JsonObject {
    const paths: Record<string, JsonObject> = {};
    for (const route of [...this.routes].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))) {
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      paths[path] ??= {};
      (paths[path] as JsonObject)[route.method] = operation(route, info);
    }
    return {
      openapi: "3.1.0",
      info: {
        title: info.title,
        version: info.version,
        description:
          "Read state for chat products: unread counts, mentions, read receipts and threads. " +
          'Every error is { "error": { "code", "message" } }; docs/API.md in the repository is the ' +
          "contract in prose.",
        license: { name: "MIT", identifier: "MIT" },
      },
      servers: [
        { url: "/", description: "the instance that serves this document" },
        { url: "http://127.0.0.1:8080", description: "the default address of `npm start` (HOST, PORT)" },
      ],
      tags: TAGS,
      components: {
        securitySchemes: {
          userToken: {
            type: "apiKey",
            in: "query",
            name: "access_token",
            description:
              "A user token from POST /v1/users/{userId}/tokens (signed, expiring, for that user's " +
              "events only), for EventSource, which cannot send headers; it also works as Authorization: " +
              "Bearer. Only GET /v1/users/{userId}/events takes it.",
          },
          bearer: {
            type: "http",
            scheme: "bearer",
            description: info.secured
              ? "This server was started with READSTATE_API_TOKEN: every /v1 call needs " +
                "Authorization: Bearer <that token>."
              : "This server runs without READSTATE_API_TOKEN, so /v1 calls need no token (one sent is " +
                "ignored). A server started with it requires Authorization: Bearer <token> on every /v1 call.",
          },
        },
      },
      paths,
    };
  }
}

function operation(route: CollectedRoute, info: DocumentInfo): JsonObject {
  const { schema, overrides } = route;
  const isV1 = route.url.startsWith("/v1/");
  const out: JsonObject = {
    operationId: schema.operationId,
    summary: schema.summary,
    ...(schema.description ? { description: schema.description } : {}),
    tags: schema.tags,
    parameters: [...parameters(schema.params, "path"), ...parameters(schema.querystring, "query")],
  };
  const body = overrides.body ?? schema.body;
  if (body) {
    // A body the route accepts as null (none sent) is documented as the object it may be.
    const documented = overrides.body === undefined ? withoutNull(plain(body)) : plain(body);
    out.requestBody = {
      required: overrides.bodyRequired ?? true,
      content: { "application/json": { schema: documented } },
    };
  }
  const answers = responses(
    schema.response as JsonObject | undefined,
    schema.produces as string[] | undefined,
  );
  if (overrides.ok !== undefined && answers["200"]) {
    (answers["200"] as JsonObject).content = { "application/json": { schema: plain(overrides.ok) } };
  }
  if (isV1) {
    const unavailable = answers["503"] as JsonObject | undefined;
    if (unavailable) unavailable.headers = { "Retry-After": RETRY_AFTER };
    if (info.secured) {
      answers["401"] = {
        description:
          "unauthorized: no Authorization: Bearer <token> header, or not the token the server was started with",
        headers: { "WWW-Authenticate": { description: "Bearer", schema: { type: "string" } } },
        content: {
          "application/json": { schema: plain(errorBody(["unauthorized"], "unauthorized")) },
        },
      };
    }
    const alternatives: JsonObject[] = overrides.userToken
      ? [{ bearer: [] }, { userToken: [] }]
      : [{ bearer: [] }];
    out.security = info.secured ? alternatives : [...alternatives, {}];
  } else {
    out.security = [];
  }
  out.responses = Object.fromEntries(
    Object.entries(answers).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  );
  return out;
}

function parameters(schema: unknown, where: "path" | "query"): JsonObject[] {
  if (!schema || typeof schema !== "object") return [];
  const { properties = {}, required = [] } = schema as { properties?: JsonObject; required?: string[] };
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = plain(property) as JsonObject;
    return {
      name,
      in: where,
      required: where === "path" || required.includes(name),
      ...(description ? { description } : {}),
      schema: rest,
    };
  });
}

/** `produces` names the media type of the success answers; errors are always JSON. */
function responses(response: JsonObject | undefined, produces: string[] | undefined): JsonObject {
  const out: JsonObject = {};
  const mediaType = produces?.[0] ?? "application/json";
  if (!response)
    return { 200: { description: "OK", content: { [mediaType]: { schema: { type: "string" } } } } };
  for (const [status, schema] of Object.entries(response)) {
    const code = status.toUpperCase();
    const body = plain(schema) as JsonObject;
    if (body.type === "null") {
      out[code] = { description: (body.description as string | undefined) ?? "no content" };
    } else {
      const success = code.startsWith("2");
      out[code] = {
        description: (body.description as string | undefined) ?? (success ? "OK" : "error"),
        content: { [success ? mediaType : "application/json"]: { schema: body } },
      };
    }
  }
  return out;
}

/** `anyOf: [X, null]` → X: what a client may send, where the server also takes no body at all. */
function withoutNull(schema: unknown): unknown {
  const anyOf = (schema as { anyOf?: JsonObject[] }).anyOf;
  if (!Array.isArray(anyOf)) return schema;
  const rest = anyOf.filter((branch) => branch.type !== "null");
  return rest.length === 1 ? rest[0] : { anyOf: rest };
}

/** A TypeBox schema as plain JSON (drops its non-enumerable bookkeeping). */
function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema));
}
