// /dashboard in Chromium while a private PostgreSQL (never the shared one) is stopped under a steady
// trickle of posts: the backlog and the oldest dirty age rise on the page, and fall once PostgreSQL is
// back. The server has an API token, so the page must ask for it and send it with every poll.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import { PrivatePostgres } from "../faults/support/postgres.js";
import type { ServiceProcess } from "../faults/support/service.js";
import { type TestSpace, testSpace, wipeRedis } from "../helpers/env.js";
import {
  device,
  launchBrowser,
  ROOT,
  recordProblems,
  screenshot,
  serve,
  since,
  UPDATE_DOCS,
} from "./support.js";

const TOKEN = "browser-dashboard-token";
const CHANNELS = 20;

let space: TestSpace;
let postgres: PrivatePostgres | undefined;
let service: ServiceProcess | undefined;
let browser: Browser | undefined;
let problems: string[] = [];

beforeAll(async () => {
  space = testSpace("browser-dashboard");
  postgres = new PrivatePostgres();
  await postgres.init();
  service = await serve({
    redisUrl: space.redisUrl,
    databaseUrl: postgres.url,
    schema: space.schema,
    prefix: space.keyPrefix,
    flushIntervalMs: 1000,
    token: TOKEN,
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await service?.terminate();
  await postgres?.destroy();
  if (space) await wipeRedis(space);
});

async function api(method: string, path: string, body?: unknown): Promise<Response> {
  if (!service) throw new Error("not started");
  return fetch(`${service.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TOKEN}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(5000),
  });
}

/** Posts round-robin into the channels every 100 ms until stopped; each post must be accepted. */
function trickle(): { stop: () => Promise<number> } {
  let running = true;
  let sent = 0;
  const done = (async () => {
    while (running) {
      const channel = `dash-${sent % CHANNELS}`;
      const answer = await api("POST", `/v1/channels/${channel}/messages`, {
        messageId: `m${sent}`,
        senderId: "writer",
      });
      // Rule 7: while PostgreSQL is down, writes are still accepted.
      if (answer.status !== 201) throw new Error(`post answered ${answer.status}: ${await answer.text()}`);
      sent++;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return sent;
  })();
  return {
    stop: async () => {
      running = false;
      return done;
    },
  };
}

/** A tile's figure as the page shows it (data-value; NaN while it shows none). */
async function tile(page: Page, stat: string): Promise<number> {
  const value = await page.locator(`[data-stat="${stat}"]`).getAttribute("data-value");
  return value === null || value === "" ? Number.NaN : Number(value);
}

async function until(page: Page, what: string, check: () => Promise<boolean>, timeoutMs: number) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) {
      await screenshot(page, `dashboard-timeout-${what.replace(/\W+/g, "-")}`);
      throw new Error(`the dashboard did not show ${what} within ${timeoutMs} ms`);
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

test("the dashboard shows the backlog rise while PostgreSQL is stopped, and fall when it returns", async () => {
  if (!browser || !service || !postgres) throw new Error("not started");
  for (let i = 0; i < CHANNELS; i++) {
    expect((await api("PUT", `/v1/channels/dash-${i}/members/writer`)).status).toBe(200);
  }
  const page = await (await device(browser, 1400, 1000)).newPage();
  problems = recordProblems(page);
  await page.goto(`${service.url}/dashboard`);

  // The server has a token: the page asks for it once and keeps it for the tab.
  const dialog = page.locator("dialog.token-dialog");
  await dialog.waitFor({ timeout: 10_000 });
  await dialog.locator("input").fill(TOKEN);
  await dialog.locator("button").click();
  await page.locator('#status[data-state="live"]').waitFor({ timeout: 10_000 });
  expect(await page.evaluate(() => sessionStorage.getItem("readstate.apiToken"))).toBe(TOKEN);

  const writer = trickle();
  try {
    await until(page, "throughput", async () => (await tile(page, "ops")) > 0, 15_000);
    // Open streams are a number (0 until a stream is open), whether or not this build serves streams.
    expect(Number.isFinite(await tile(page, "streams"))).toBe(true);

    await postgres.stopImmediate();
    const stoppedAt = performance.now();
    await until(
      page,
      "the backlog rising",
      // The docs' picture waits until the age nears the 10 s budget line.
      async () =>
        (await tile(page, "dirty")) >= CHANNELS / 2 && (await tile(page, "age")) >= (UPDATE_DOCS ? 9 : 3),
      30_000,
    );
    const peak = { dirty: await tile(page, "dirty"), ageS: await tile(page, "age") };
    console.log(
      `dashboard: backlog ${peak.dirty} channels, oldest ${peak.ageS} s, ${since(stoppedAt)} ms after PostgreSQL stopped`,
    );
    await screenshot(page, "dashboard-postgres-down", UPDATE_DOCS ? `${ROOT}docs/dashboard.png` : undefined);
    if (UPDATE_DOCS) await screenshot(page, "dashboard-postgres-down");

    await postgres.start();
    const startedAt = performance.now();
    const sent = await writer.stop();
    expect(sent).toBeGreaterThan(0);
    await until(page, "the backlog drained", async () => (await tile(page, "dirty")) === 0, 60_000);
    console.log(`dashboard: backlog back to 0, ${since(startedAt)} ms after PostgreSQL started again`);
    expect(await tile(page, "age")).toBeLessThan(peak.ageS);
    const history: { flushRows: number }[] = (await (await api("GET", "/v1/admin/stats")).json()).history;
    expect(history.reduce((rows, point) => rows + point.flushRows, 0)).toBeGreaterThan(0);
    await screenshot(page, "dashboard-recovered");
  } finally {
    await writer.stop().catch(() => 0);
  }
  expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
});
