// docs/API.md and the served API stay in step: every operation of /openapi.json is documented, every
// route the document names is served, every error code and setting is there, and nothing in the
// repository points outside it.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ENV_NAMES } from "../../src/config.js";
import { ERROR_STATUS } from "../../src/core/errors.js";
import { call, type HttpFixture, httpFixture } from "./helpers.js";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const API_MD = readFileSync(`${ROOT}docs/API.md`, "utf8");

/** Settings the contract names that no code reads yet; the document must say they are planned. */
const PLANNED_SETTINGS: string[] = [];
/** Settings read by `npm start`'s zero-configuration mode (src/cli/local.ts), not by the config. */
const START_SETTINGS = ["READSTATE_DATA_DIR"];

/** Every `METHOD /path` code span of the document, the query string dropped: "GET /v1/channels/{channelId}". */
function documentedRoutes(markdown: string): Set<string> {
  const routes = new Set<string>();
  for (const match of markdown.matchAll(
    /`(GET|PUT|POST|PATCH|DELETE|HEAD|OPTIONS) (\/[^`\s?]*)(\?[^`]*)?`/g,
  )) {
    routes.add(`${match[1]} ${match[2]}`);
  }
  return routes;
}

let fx: HttpFixture;
let served: Set<string>;

beforeAll(async () => {
  fx = await httpFixture("http-docs");
  const document = (await call(fx.app, "GET", "/openapi.json")).body;
  served = new Set(
    Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) =>
      Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`),
    ),
  );
});
afterAll(async () => {
  await fx?.close();
});

describe("docs/API.md", () => {
  it("documents every operation of /openapi.json", () => {
    const documented = documentedRoutes(API_MD);
    expect([...served].filter((route) => !documented.has(route))).toEqual([]);
  });

  it("names only routes the app serves", () => {
    const documented = [...documentedRoutes(API_MD)];
    expect(documented.length).toBeGreaterThan(20);
    expect(documented.filter((route) => !served.has(route))).toEqual([]);
    // The router itself, not only the document generator, knows each of them.
    for (const route of documented) {
      const [method, path] = route.split(" ") as [string, string];
      const url = path.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
      expect(fx.app.hasRoute({ method: method as "GET", url }), route).toBe(true);
    }
  });

  it("lists every error code with its status", () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(API_MD, code).toMatch(new RegExp(`\\| ${status} \\| \`${code}\` \\|`));
    }
  });

  it("lists the contract's settings, and only settings the code reads or marks as planned", () => {
    const table = API_MD.slice(API_MD.indexOf("## Configuration"));
    // The first cell of each table row ("| `HOST`, `PORT` | …"), and the "Planned" line.
    const cells = [...table.matchAll(/^\| ([^|]+) \|/gm), ...table.matchAll(/^(Planned[^\n]*)/gm)].map(
      (match) => match[1] as string,
    );
    const named = new Set(
      cells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)].map((match) => match[1] as string)),
    );
    const local = readFileSync(new URL("../../src/cli/local.ts", import.meta.url), "utf8");
    const read = new Set<string>([
      ...Object.values(ENV_NAMES),
      ...START_SETTINGS.filter((name) => local.includes(`env.${name}`)),
    ]);
    for (const variable of named) {
      if (PLANNED_SETTINGS.includes(variable)) continue;
      expect(read.has(variable), variable).toBe(true);
    }
    for (const key of [
      "redisUrl",
      "databaseUrl",
      "schema",
      "keyPrefix",
      "flushIntervalMs",
      "apiToken",
      "host",
      "port",
    ] as const) {
      expect(named.has(ENV_NAMES[key]), ENV_NAMES[key]).toBe(true);
    }
    for (const variable of PLANNED_SETTINGS) {
      if (named.has(variable)) expect(table).toMatch(new RegExp(`Planned[^\\n]*\`${variable}\``));
    }
  });

  it("nothing in the repository points outside it to the contract's source", () => {
    // Built from parts so that this file does not match itself.
    const outside = ["..", "shared", ""].join("/");
    const grep = spawnSync("git", ["grep", "-n", "-F", outside, "--", ".", ":!node_modules"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    if (grep.error) throw grep.error;
    // git grep: 0 = found, 1 = nothing found, anything else = it could not search.
    expect(grep.stdout).toBe("");
    expect(grep.status).toBe(1);
  });
});
