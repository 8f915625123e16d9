// `serve --processes`: a count, or auto for one HTTP process per core (the opt-in of issue 12).
import { availableParallelism } from "node:os";
import { describe, expect, it } from "vitest";
import { processCount } from "../../src/cli/serve.js";

describe("serve --processes", () => {
  it("is one process unless asked", () => {
    expect(processCount(undefined, {})).toBe(1);
  });

  it("takes a count from the flag or READSTATE_HTTP_PROCESSES, the flag first", () => {
    expect(processCount("3", { READSTATE_HTTP_PROCESSES: "5" })).toBe(3);
    expect(processCount(undefined, { READSTATE_HTTP_PROCESSES: "5" })).toBe(5);
  });

  it("auto: one per core this host offers", () => {
    expect(processCount("auto", {})).toBe(availableParallelism());
    expect(processCount(undefined, { READSTATE_HTTP_PROCESSES: "auto" })).toBe(availableParallelism());
  });

  it("refuses anything else, naming what it accepts", () => {
    for (const bad of ["0", "257", "1.5", "two", "Auto"]) {
      expect(() => processCount(bad, {})).toThrow(/whole number from 1 to 256, or auto/);
    }
  });
});
