// What the browser tests share: Debian's Chromium driven by playwright-core (no browser download: this
// machine's network would refuse it), `readstate serve` as a real process on its own prefix and schema,
// and screenshots kept as test artifacts under test-results/browser/.
import { existsSync, mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { launchReady, type ServiceEnv, type ServiceProcess } from "../faults/support/service.js";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export const ARTIFACTS = `${ROOT}test-results/browser`;
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

/** How long a badge may take in a browser test (the 1 s bound is the events test's, headless). */
export const BADGE_TIMEOUT_MS = 5000;

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no Chromium at ${CHROMIUM}: install Debian's with \`apt-get install -y chromium\` (.ci/run does)`,
    );
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    // Root in CI needs --no-sandbox; the rest keeps Chromium from calling out of a closed network.
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--no-first-run",
    ],
  });
}

/** A fresh context: its own storage, as a second device or another person's browser would have. */
export async function device(browser: Browser, width = 1400, height = 860): Promise<BrowserContext> {
  return browser.newContext({ viewport: { width, height } });
}

/** Saves a screenshot under test-results/browser/ and returns its path. */
export async function screenshot(
  page: Page,
  name: string,
  path = `${ARTIFACTS}/${name}.png`,
): Promise<string> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path });
  return path;
}

/** Set UPDATE_DOCS_SCREENSHOTS=1 to refresh docs/dashboard.png and docs/demo.png from a run. */
export const UPDATE_DOCS = process.env.UPDATE_DOCS_SCREENSHOTS === "1";

/** Page errors and failed requests of a page, to print when a test fails. */
export function recordProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on("pageerror", (err) => problems.push(`page error: ${err.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") problems.push(`console: ${message.text()}`);
  });
  return problems;
}

export async function serve(env: ServiceEnv, args: string[] = []): Promise<ServiceProcess> {
  return launchReady("serve", { ...env, extra: { READSTATE_LOG_LEVEL: "warn", ...env.extra } }, args);
}

/** Milliseconds since `start`, for the log lines that report what a test measured. */
export function since(start: number): number {
  return Math.round(performance.now() - start);
}
