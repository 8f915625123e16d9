import { defineConfig } from "vitest/config";

// The browser suite (issue 10): Debian's chromium driven by playwright-core against `readstate serve`
// processes. One file at a time: each starts Chromium and a server (and one a private PostgreSQL), and
// a badge's measured delivery time must not compete with another file for the two CPUs.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.browser.ts"],
    testTimeout: 180_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
  },
});
