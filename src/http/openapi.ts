// /openapi.json from the route table: every route's TypeBox schemas, collected as routes register,
// so the document cannot drift from what the server validates and serializes.
import type { RouteOptions } from "fastify";

interface CollectedRoute {
  method: string;
  url: string;
  schema: Record<string, unknown>;
  bodyOverride: unknown;
}

type JsonObject = Record<string, unknown>;

export class OpenApiCollector {
  private readonly routes: CollectedRoute[] = [];
  private document: JsonObject | undefined;

  /** An onRoute hook: remembers each route's schema. */
  readonly onRoute = (route: RouteOptions): void => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const method of methods) {
      // Fastify adds a HEAD twin for every GET; documenting it adds nothing.
      if (method === "HEAD") continue;
      this.routes.push({
        method: method.toLowerCase(),
        url: route.url,
        schema: (route.schema ?? {}) as Record<string, unknown>,
        bodyOverride: route.config?.openapiBody,
      });
    }
    this.document = undefined;
  };

  toJSON(info: { title: string; version: string; secured: boolean }): JsonObject {
    this.document ??= this.build(info);
    return this.document;
  }

  private build(info: { title: string; version: string; secured: boolean }): JsonObject {
    const paths: Record<string, Record<string, unknown>> = {};
    for (const route of [...this.routes].sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0))) {
      const path = route.url.replace(/:([A-Za-z0-9_]+)/g, "{$1}");
      const { schema } = route;
      const operation: JsonObject = {
        summary: schema.summary,
        tags: schema.tags,
        parameters: [...parameters(schema.params, "path"), ...parameters(schema.querystring, "query")],
        responses: responses(schema.response as JsonObject | undefined),
      };
      const body = route.bodyOverride ?? schema.body;
      if (body) {
        operation.requestBody = { required: true, content: { "application/json": { schema: plain(body) } } };
      }
      if (route.url.startsWith("/v1/") && info.secured) operation.security = [{ bearer: [] }];
      paths[path] ??= {};
      (paths[path] as JsonObject)[route.method] = operation;
    }
    return {
      openapi: "3.1.0",
      info: {
        title: info.title,
        version: info.version,
        description:
          "Read state for chat products: unread counts, mentions and read receipts. " +
          'Every error is { "error": { "code", "message" } }.',
      },
      components: { securitySchemes: { bearer: { type: "http", scheme: "bearer" } } },
      paths,
    };
  }
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

function responses(response: JsonObject | undefined): JsonObject {
  const out: JsonObject = {};
  if (!response) return { 200: { description: "OK" } };
  for (const [status, schema] of Object.entries(response)) {
    // OpenAPI spells status ranges 4XX; Fastify accepts 4xx.
    const code = status.toUpperCase();
    const body = plain(schema) as JsonObject;
    if (body.type === "null") {
      out[code] = { description: (body.description as string | undefined) ?? "no content" };
    } else {
      out[code] = {
        description: (body.description as string | undefined) ?? (code.startsWith("2") ? "OK" : "error"),
        content: { "application/json": { schema: body } },
      };
    }
  }
  return out;
}

/** A TypeBox schema as plain JSON (drops its non-enumerable bookkeeping). */
function plain(schema: unknown): unknown {
  return JSON.parse(JSON.stringify(schema));
}
