// READSTATE_DEMO as `serve` reads it: on, off, or left to the token (unset).
import { describe, expect, it } from "vitest";
import { demoSetting } from "../../src/cli/serve.js";

describe("READSTATE_DEMO", () => {
  it("is 1/true (on), 0/false (off), or unset (the token decides)", () => {
    expect(demoSetting("1")).toBe(true);
    expect(demoSetting("true")).toBe(true);
    expect(demoSetting("0")).toBe(false);
    expect(demoSetting("false")).toBe(false);
    expect(demoSetting(undefined)).toBeUndefined();
    expect(demoSetting("")).toBeUndefined();
  });

  it("refuses anything else with a message that says what it takes", () => {
    expect(() => demoSetting("yes")).toThrow(/READSTATE_DEMO must be 1, true, 0 or false, got yes/);
  });
});
