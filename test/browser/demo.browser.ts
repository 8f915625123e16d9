// /demo in Chromium, each "device" a browser context of its own: a post in one raises the badge in
// the other, and a read on one clears it on the other, through the event stream
// (GET /v1/users/{userId}/events) and never by polling. Each test allows BADGE_TIMEOUT_MS and prints
// the time it measured from the API's answer to the badge's change.
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, expect, test } from "vitest";
import type { ServiceProcess } from "../faults/support/service.js";
import { cleanup, type TestSpace, testSpace } from "../helpers/env.js";
import {
  BADGE_TIMEOUT_MS,
  device,
  launchBrowser,
  ROOT,
  recordProblems,
  screenshot,
  serve,
  since,
  UPDATE_DOCS,
} from "./support.js";

let space: TestSpace;
let service: ServiceProcess | undefined;
let browser: Browser | undefined;
const problems: string[] = [];

beforeAll(async () => {
  space = testSpace("browser-demo");
  service = await serve({
    redisUrl: space.redisUrl,
    databaseUrl: space.databaseUrl,
    schema: space.schema,
    prefix: space.keyPrefix,
  });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await service?.terminate();
  if (space) await cleanup(space);
  if (problems.length > 0) console.log(`browser problems seen:\n${problems.join("\n")}`);
});

/** Opens /demo for the users given on a new device; resolves once every panel's stream is live. */
async function openDemo(users: string): Promise<Page> {
  if (!browser || !service) throw new Error("not started");
  const page = await (await device(browser)).newPage();
  problems.push(...recordProblems(page));
  await page.goto(`${service.url}/demo?users=${users}`);
  for (const user of users.split(",")) {
    await page
      .locator(`[data-user="${user}"] .live[data-state="open"]`)
      .waitFor({ timeout: 15_000 })
      .catch((err: Error) => {
        throw new Error(
          `${user}'s event stream (GET /v1/users/${user}/events) did not open within 15 s: ${err.message}`,
        );
      });
  }
  return page;
}

function badge(page: Page, user: string, channelId: string) {
  return page.locator(`[data-user="${user}"] button[data-channel="${channelId}"]`);
}

/** Waits until the channel's unread count in the page is `unread`, polling the DOM (not the API). */
async function badgeReads(page: Page, user: string, channelId: string, unread: number): Promise<void> {
  await page.waitForFunction(
    ({ user, channelId, unread }) =>
      document
        .querySelector(`[data-user="${user}"] button[data-channel="${channelId}"]`)
        ?.getAttribute("data-unread") === String(unread),
    { user, channelId, unread },
    { timeout: BADGE_TIMEOUT_MS, polling: 20 },
  );
}

test("a post on one device raises the badge on the other", async () => {
  const bob = await openDemo("bob");
  const alice = await openDemo("alice");
  // The seed leaves alice 4 unread in general, one of them a mention.
  await badgeReads(alice, "alice", "demo-general", 4);
  expect(await badge(alice, "alice", "demo-general").getAttribute("data-mentions")).toBe("1");

  await badge(bob, "bob", "demo-general").click();
  const composer = bob.locator('[data-user="bob"] .channel-pane .composer');
  await composer.locator("input").fill("Release notes are ready, @alice");
  const posted = bob.waitForResponse(
    (response) => response.url().endsWith("/v1/channels/demo-general/messages") && response.status() === 201,
  );
  await composer.locator("button").click();
  await posted;
  const acknowledged = performance.now();
  await badgeReads(alice, "alice", "demo-general", 5);
  const elapsed = since(acknowledged);
  console.log(`badge raised on the other device ${elapsed} ms after the post was acknowledged`);
  expect(await badge(alice, "alice", "demo-general").getAttribute("data-mentions")).toBe("2");
  await screenshot(bob, "demo-post-bob");
  await screenshot(alice, "demo-post-alice");
});

test("a read on one device clears the badge on the other", async () => {
  const phone = await openDemo("alice");
  const laptop = await openDemo("alice");
  await badgeReads(phone, "alice", "demo-random", 2);
  await badgeReads(laptop, "alice", "demo-random", 2);

  const read = phone.waitForResponse(
    (response) => response.url().endsWith("/v1/channels/demo-random/read") && response.status() === 200,
  );
  await badge(phone, "alice", "demo-random").click();
  await read;
  const acknowledged = performance.now();
  await badgeReads(laptop, "alice", "demo-random", 0);
  const elapsed = since(acknowledged);
  console.log(`badge cleared on the other device ${elapsed} ms after the read was acknowledged`);
  await expect(badge(laptop, "alice", "demo-random").locator(".badge.unread").isHidden()).resolves.toBe(true);
  await screenshot(phone, "demo-read-device1");
  await screenshot(laptop, "demo-read-device2");
});

test("the two users side by side, with a thread open (the README's picture)", async () => {
  const page = await openDemo("alice,bob");
  await badge(page, "alice", "demo-general").click();
  await page.locator('[data-user="alice"] .message[data-message="g3"] .replies').click();
  await page.locator('[data-user="alice"] .thread-pane .message').first().waitFor();
  await page.locator('[data-user="alice"] .jump').click();
  // bob answers in random with a mention: alice's badges there move while she reads general.
  await badge(page, "bob", "demo-random").click();
  const composer = page.locator('[data-user="bob"] .channel-pane .composer');
  await composer.locator("input").fill("@alice table booked for 12:30");
  await composer.locator("button").click();
  await badgeReads(page, "alice", "demo-random", 1);
  expect(await badge(page, "alice", "demo-random").getAttribute("data-mentions")).toBe("1");
  await screenshot(page, "demo-side-by-side", UPDATE_DOCS ? `${ROOT}docs/demo.png` : undefined);
});
