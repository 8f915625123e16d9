// /openapi.json is usable by tools: Redocly's linter with its recommended rules finds no error in the
// document a built app serves (with and without a token), and every operation declares its errors.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_STATUS } from "../../src/core/errors.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { call, type HttpFixture, httpFixture } from "./helpers.js";

// biome-ignore lint/suspicious/noExplicitAny: the document is JSON; each test reads the parts it checks
type Json = any;

interface Problem {
  ruleId: string;
  severity: "error" | "warn";
  message: string;
  pointer: string;
}

const REDOCLY = createRequire(import.meta.url).resolve("@redocly/cli/bin/cli.js");
const scratch = mkdtempSync(join(tmpdir(), "readstate-openapi-"));

/** Runs `redocly lint --extends=recommended` on the document; every problem it reports. */
function lint(document: Json, name: string): Problem[] {
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(document, null, 2));
  const run = spawnSync(
    process.execPath,
    [REDOCLY, "lint", file, "--extends=recommended", "--format=json", "--max-problems=1000"],
    {
      encoding: "utf8",
      // No telemetry or update check from a test run; CI may have no way out anyway.
      env: { ...process.env, REDOCLY_TELEMETRY: "off", REDOCLY_SUPPRESS_UPDATE_NOTICE: "true" },
      timeout: 60_000,
    },
  );
  if (run.error) throw run.error;
  let report: Json;
  try {
    report = JSON.parse(run.stdout);
  } catch {
    throw new Error(`redocly lint printed no JSON report (exit ${run.status}): ${run.stdout}\n${run.stderr}`);
  }
  const problems: Problem[] = report.problems.map((problem: Json) => ({
    ruleId: problem.ruleId,
    severity: problem.severity,
    message: problem.message,
    pointer: problem.location?.[0]?.pointer ?? "",
  }));
  // The JSON report and the exit code must agree, or the reading above is wrong.
  expect(run.status === 0).toBe(problems.every((p) => p.severity !== "error"));
  return problems;
}

/** "#/paths/~1v1~1batch/post/responses" → the operationId of that operation. */
function operationAt(document: Json, pointer: string): string {
  const [, , path, method] = pointer.split("/");
  const decoded = (path ?? "").replace(/~1/g, "/").replace(/~0/g, "~");
  return document.paths[decoded]?.[method ?? ""]?.operationId ?? pointer;
}

function operations(document: Json): { method: string; path: string; op: Json }[] {
  return Object.entries(document.paths as Record<string, Record<string, Json>>).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method, path, op })),
  );
}

/**
 * Operations that cannot answer any 4xx: the probes and this document, and the admin calls (which
 * validate nothing) when no token is configured. The recommended rules warn that an operation
 * should have a 4XX response; inventing one would make the document lie.
 */
const WITHOUT_CLIENT_ERRORS = ["getHealth", "getReadiness", "getMetrics", "getOpenApiDocument"];
const ADMIN = ["flushToPostgres", "getSyncStatus"];

let fx: HttpFixture;
let secured: ReadStateApp;
let open: Json;
let closed: Json;

beforeAll(async () => {
  fx = await httpFixture("http-openapi");
  secured = build({ engine: fx.engine, apiToken: "s3cret" });
  await secured.ready();
  open = (await call(fx.app, "GET", "/openapi.json")).body;
  closed = (await call(secured, "GET", "/openapi.json")).body;
});
afterAll(async () => {
  await secured?.close();
  await fx?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("redocly lint, recommended rules", () => {
  it.each([
    ["without a token", () => open, [...WITHOUT_CLIENT_ERRORS, ...ADMIN]],
    ["with a token", () => closed, WITHOUT_CLIENT_ERRORS],
  ])("finds no error in the document served %s", (name, document, allowed4xxWarnings) => {
    const doc = document();
    const problems = lint(doc, name.replace(/\W+/g, "-"));
    expect(problems.filter((p) => p.severity === "error")).toEqual([]);
    const warnings = problems.filter((p) => p.severity === "warn");
    expect(warnings.filter((p) => p.ruleId !== "operation-4xx-response")).toEqual([]);
    expect(warnings.map((p) => operationAt(doc, p.pointer)).sort()).toEqual([...allowed4xxWarnings].sort());
  });

  it("reports errors when there are some, so the test above can fail", () => {
    const broken = structuredClone(open);
    const post = broken.paths["/v1/channels/{channelId}/messages"].post;
    post.operationId = broken.paths["/v1/channels/{channelId}"].get.operationId;
    delete broken.paths["/v1/channels/{channelId}"].get.security;
    const problems = lint(broken, "broken");
    const errors = problems.filter((p) => p.severity === "error").map((p) => p.ruleId);
    expect(errors).toEqual(expect.arrayContaining(["operation-operationId-unique", "security-defined"]));
  });
});

describe("every operation", () => {
  it("has a unique operationId, a summary and a tag", () => {
    const ids = operations(open).map(({ op }) => op.operationId);
    expect(ids.every((id) => typeof id === "string" && /^[a-z][A-Za-z]+$/.test(id))).toBe(true);
    expect(new Set(ids).size).toBe(ids.length);
    for (const { op } of operations(open)) {
      expect(op.summary).toEqual(expect.any(String));
      expect(op.tags).toHaveLength(1);
    }
  });

  it("declares security: bearer on /v1 (optional without a token), nothing on the probes", () => {
    expect(open.servers.length).toBeGreaterThan(0);
    const events = "/v1/users/{userId}/events";
    for (const [doc, v1, stream] of [
      [open, [{ bearer: [] }, {}], [{ bearer: [] }, { userToken: [] }, {}]],
      [closed, [{ bearer: [] }], [{ bearer: [] }, { userToken: [] }]],
    ] as const) {
      for (const { path, op } of operations(doc)) {
        // The event stream alone also takes a user token (?access_token=).
        expect(op.security, path).toEqual(path === events ? stream : path.startsWith("/v1/") ? v1 : []);
      }
      expect(doc.components.securitySchemes.userToken).toMatchObject({ in: "query", name: "access_token" });
    }
  });

  it("documents the event stream as text/event-stream, its errors as JSON", () => {
    const events = open.paths["/v1/users/{userId}/events"].get;
    expect(Object.keys(events.responses["200"].content)).toEqual(["text/event-stream"]);
    expect(Object.keys(events.responses["503"].content)).toEqual(["application/json"]);
    expect(events.parameters.map((p: Json) => `${p.in} ${p.name}`)).toEqual([
      "path userId",
      "query access_token",
      "query lastEventId",
    ]);
    const token = closed.paths["/v1/users/{userId}/tokens"].post;
    expect(token.security).toEqual([{ bearer: [] }]);
    expect(token.responses["200"].content["application/json"].schema.required).toEqual([
      "token",
      "expiresAt",
    ]);
  });

  it("declares each error it can answer with the error body and codes of that status", () => {
    for (const [doc, secure] of [
      [open, false],
      [closed, true],
    ] as const) {
      for (const { method, path, op } of operations(doc)) {
        const where = `${method.toUpperCase()} ${path}`;
        const statuses = Object.keys(op.responses);
        if (!path.startsWith("/v1/")) continue;
        expect(statuses, where).toEqual(expect.arrayContaining(["500", "503"]));
        expect(statuses.includes("401"), where).toBe(secure);
        const validates = op.parameters.length > 0 || op.requestBody !== undefined;
        expect(statuses.includes("400"), where).toBe(validates);
        expect(statuses.includes("413"), where).toBe(op.requestBody !== undefined);
        for (const status of statuses.filter((s) => /^[45]/.test(s))) {
          const schema = op.responses[status].content["application/json"].schema;
          expect(schema.required, where).toEqual(["error"]);
          const codes: string[] = schema.properties.error.properties.code.enum;
          expect(codes.length, `${where} ${status}`).toBeGreaterThan(0);
          for (const code of codes) {
            const expected =
              code === "internal_error" ? 500 : ERROR_STATUS[code as keyof typeof ERROR_STATUS];
            expect(expected, `${where} ${status} ${code}`).toBe(Number(status));
          }
        }
      }
    }
  });

  it("names the 404 codes the contract gives each operation", () => {
    const notFound = (path: string, method: string) =>
      (open.paths[path][method].responses["404"]?.content["application/json"].schema.properties.error
        .properties.code.enum ?? []) as string[];
    expect(notFound("/v1/channels/{channelId}/members/{userId}", "put")).toEqual([]);
    expect(notFound("/v1/channels/{channelId}/members/{userId}", "patch")).toEqual(["not_a_member"]);
    expect(notFound("/v1/channels/{channelId}/messages", "post")).toEqual(["unknown_message"]);
    expect(notFound("/v1/channels/{channelId}/messages/{messageId}", "delete")).toEqual([
      "not_found",
      "unknown_message",
    ]);
    expect(notFound("/v1/channels/{channelId}/threads/{threadId}/followers/{userId}", "put")).toEqual([
      "not_a_member",
      "unknown_message",
    ]);
    expect(notFound("/v1/channels/{channelId}/threads/{threadId}/followers/{userId}", "delete")).toEqual([
      "not_following",
    ]);
    expect(notFound("/v1/channels/{channelId}/threads/{threadId}/read", "post")).toEqual([
      "not_following",
      "unknown_message",
    ]);
    expect(notFound("/v1/channels/{channelId}/threads/{threadId}", "get")).toEqual(["not_found"]);
    expect(notFound("/v1/users/{userId}/read", "post")).toEqual([]);
  });

  it("documents the body of mark-all-read as optional and each batch result's shape", () => {
    const markAll = open.paths["/v1/users/{userId}/read"].post;
    expect(markAll.requestBody.required).toBe(false);
    expect(markAll.requestBody.content["application/json"].schema.properties.channelIds).toMatchObject({
      minItems: 1,
      maxItems: 1000,
    });
    const results = open.paths["/v1/batch"].post.responses["200"].content["application/json"].schema;
    expect(results.properties.results.items.anyOf.length).toBeGreaterThan(1);
  });
});
