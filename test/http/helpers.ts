// Shared by the HTTP tests: an app over a real engine on its own prefix and schema, and terse inject().
import { expect } from "vitest";
import type { Engine } from "../../src/engine.js";
import { type BuildOptions, build, type ReadStateApp } from "../../src/http/app.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";

export interface HttpFixture {
  space: TestSpace;
  engine: Engine;
  app: ReadStateApp;
  close(): Promise<void>;
}

export async function httpFixture(
  name: string,
  options: Omit<BuildOptions, "engine"> = {},
): Promise<HttpFixture> {
  const space = testSpace(name);
  const engine = await engineFor(space);
  const app = build({ engine, ...options });
  await app.ready();
  return {
    space,
    engine,
    app,
    async close() {
      await app.close();
      await engine.close();
      await cleanup(space);
    },
  };
}

export interface Answer {
  status: number;
  // biome-ignore lint/suspicious/noExplicitAny: tests read response fields freely; shapes are asserted with toEqual
  body: any;
  headers: Record<string, unknown>;
}

/** One request through inject(); a plain object payload is sent as JSON. */
export async function call(
  app: ReadStateApp,
  method: "GET" | "PUT" | "POST" | "PATCH" | "DELETE",
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await app.inject({
    method,
    url,
    headers,
    ...(payload === undefined ? {} : { payload: payload as string }),
  });
  const text = response.body;
  const isJson = String(response.headers["content-type"] ?? "").includes("json");
  return {
    status: response.statusCode,
    body: isJson && text ? JSON.parse(text) : text,
    headers: response.headers,
  };
}

/** An error answer in the contract's shape: `{ "error": { "code", "message" } }` with this status. */
export function expectError(answer: { status: number; body: unknown }, status: number, code: string): void {
  expect(answer.status).toBe(status);
  expect(answer.body).toEqual({ error: { code, message: expect.any(String) } });
}
