import { defineConfig } from "vitest/config";

// The fault suite (issue 5): real redis-server, PostgreSQL and service processes per scenario, so
// scenarios run one at a time (two CPUs; kill -9 timings must not compete with another scenario).
export default defineConfig({
  test: {
    include: ["test/faults/**/*.fault.ts"],
    testTimeout: 240_000,
    hookTimeout: 120_000,
    pool: "forks",
    fileParallelism: false,
    globalSetup: ["test/faults/support/global.ts"],
  },
});
