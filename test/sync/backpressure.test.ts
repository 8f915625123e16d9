// The backpressure verdict from one backlog sample (src/sync/backpressure.ts). The sampling itself
// runs against real Redis and PostgreSQL in test/http/backpressure.test.ts.
import { describe, expect, it } from "vitest";
import { assess } from "../../src/sync/backpressure.js";

const NOW = 1_000_000;
const THRESHOLD = 8000;
const WINDOW = 10_000;

describe("assess", () => {
  it("sheds only past the threshold while a recent flush committed and none failed since", () => {
    const sample = {
      now: NOW,
      oldestSince: NOW - 8001,
      lastFlushAt: NOW - 500,
      lastFailureAt: null,
      load: null,
    };
    expect(assess(sample, THRESHOLD, WINDOW)).toEqual({
      shedding: true,
      oldestDirtyAgeMs: 8001,
      predictedLagMs: 8001,
      lastFlushAgeMs: 500,
      flushesSucceed: true,
    });
    expect(assess({ ...sample, oldestSince: NOW - 8000 }, THRESHOLD, WINDOW).shedding).toBe(false);
    expect(assess({ ...sample, oldestSince: null }, THRESHOLD, WINDOW).shedding).toBe(false);
  });

  it("sheds earlier when the worker's passes take longer than their changes took to pile up", () => {
    const sample = { now: NOW, oldestSince: NOW - 3000, lastFlushAt: NOW - 500, lastFailureAt: null };
    expect(assess({ ...sample, load: 0.5 }, THRESHOLD, WINDOW)).toMatchObject({
      shedding: false,
      predictedLagMs: 3000,
    });
    expect(assess({ ...sample, load: 3 }, THRESHOLD, WINDOW)).toMatchObject({
      shedding: true,
      predictedLagMs: 9000,
    });
  });

  it("keeps accepting writes while PostgreSQL does not answer", () => {
    const behind = { now: NOW, oldestSince: NOW - 60_000, load: null };
    // No flush ever committed (a fresh deployment, or PostgreSQL down since the start).
    expect(assess({ ...behind, lastFlushAt: null, lastFailureAt: null }, THRESHOLD, WINDOW).shedding).toBe(
      false,
    );
    // The last commit is older than the window (PostgreSQL hangs, or no worker runs).
    expect(
      assess({ ...behind, lastFlushAt: NOW - 10_001, lastFailureAt: null }, THRESHOLD, WINDOW).shedding,
    ).toBe(false);
    // A pass failed after the last commit (PostgreSQL refuses).
    expect(
      assess({ ...behind, lastFlushAt: NOW - 1000, lastFailureAt: NOW - 900 }, THRESHOLD, WINDOW).shedding,
    ).toBe(false);
    // A commit after the failure: PostgreSQL is back and the worker behind, so writes are refused.
    expect(
      assess({ ...behind, lastFlushAt: NOW - 100, lastFailureAt: NOW - 900 }, THRESHOLD, WINDOW).shedding,
    ).toBe(true);
  });
});
