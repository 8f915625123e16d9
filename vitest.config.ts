import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // Every test file talks to the real Redis and PostgreSQL, each under its own prefix and schema.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
