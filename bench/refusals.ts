// Writes the service refused: HTTP 503 `unavailable` (in process, a thrown ReadStateError with code
// `unavailable`), which readstate answers when its write-behind falls too far behind. A refusal is
// neither an acknowledged operation nor an error: it is counted apart, so ops/s and latency stay
// those of acknowledged operations, and a phase that only kept its flush lag by refusing shows it.
import { isReadStateError } from "../src/core/errors.js";
import { Histogram, type HistogramData } from "./histogram.js";
import type { Refusals } from "./results.js";

/** The operations that write (the ones write-behind must persist); reads are not in the share. */
const WRITE_KINDS: ReadonlySet<string> = new Set(["post", "markRead", "markUnread"]);

/** Above this share of refused writes a phase misses the lag target, whatever its lag. */
export const MAX_REFUSED_WRITE_SHARE = 0.01;

export function isWrite(kind: string): boolean {
  return WRITE_KINDS.has(kind);
}

export function isRefusal(err: unknown): boolean {
  return isReadStateError(err) && err.code === "unavailable";
}

/** A RefusalCount as it crosses a worker-thread boundary (structured clone). */
export interface RefusalData {
  byKind: Record<string, number>;
  writesAttempted: number;
  writesRefused: number;
  latency: HistogramData;
}

export class RefusalCount {
  readonly byKind: Record<string, number> = {};
  writesAttempted = 0;
  writesRefused = 0;
  /** Time to the refusal (per request over HTTP, so per batch under /v1/batch). */
  readonly latency = new Histogram();

  /** An operation of the measured window, whatever its outcome: the share's denominator. */
  attempted(kind: string, count = 1): void {
    if (isWrite(kind)) this.writesAttempted += count;
  }

  refused(kind: string, count = 1): void {
    this.byKind[kind] = (this.byKind[kind] ?? 0) + count;
    if (isWrite(kind)) this.writesRefused += count;
  }

  merge(other: RefusalData): void {
    for (const [kind, n] of Object.entries(other.byKind)) this.byKind[kind] = (this.byKind[kind] ?? 0) + n;
    this.writesAttempted += other.writesAttempted;
    this.writesRefused += other.writesRefused;
    this.latency.merge(other.latency);
  }

  toData(): RefusalData {
    return {
      byKind: this.byKind,
      writesAttempted: this.writesAttempted,
      writesRefused: this.writesRefused,
      latency: this.latency.toData(),
    };
  }

  summary(): Refusals {
    return {
      total: Object.values(this.byKind).reduce((a, b) => a + b, 0),
      byKind: { ...this.byKind },
      writesAttempted: this.writesAttempted,
      writesRefused: this.writesRefused,
      writeShare: this.writesAttempted === 0 ? 0 : this.writesRefused / this.writesAttempted,
      latency: this.latency.summary(),
    };
  }
}
