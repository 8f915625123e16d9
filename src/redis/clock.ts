// Redis's clock as seen from this process, and the deadline of a write script in it.
//
// A request waits at most the command timeout for Redis. A write script that Redis runs later than
// that (Redis was stopped, or busy) must not apply: the caller already answered 503 "nothing was
// applied". So every operation script carries a deadline in Redis time and applies nothing past it
// (_lib.lua, RS_DEADLINE). The deadline is earlier than the client's timeout by a margin that covers
// the reply's way back and the error of the clock estimate.
//
// Redis's clock may differ from this host's, so it is measured, never assumed: the offset comes from
// TIME round trips (the fastest of a few; its error is at most half that round trip), taken at
// connect, after every reconnect and then periodically, so a clock step on either side is corrected
// within one period. The host side is a monotonic clock, so a step of the host's wall clock does not
// move deadlines. On Redis Cluster one offset serves every node: their clocks are assumed to agree
// (NTP) within the margin.
import { performance } from "node:perf_hooks";

/** What the clock needs of a connection: Redis's TIME. */
export interface TimeSource {
  time(): Promise<(number | string)[]>;
}

/** How often the offset is measured again. */
export const CLOCK_SYNC_INTERVAL_MS = 10_000;
/** TIME round trips per measurement; the fastest one counts. */
const SAMPLES = 3;
/** The largest margin kept between a script's deadline and the client's timeout. */
const MAX_MARGIN_MS = 500;

/** Milliseconds on a clock that never steps (the process's monotonic clock, anchored at its start). */
export function monotonicNow(): number {
  return performance.timeOrigin + performance.now();
}

/** How long after it was sent a script may still start and apply: the timeout minus the margin. */
export function scriptBudgetMs(timeoutMs: number): number {
  return timeoutMs - Math.min(MAX_MARGIN_MS, Math.floor(timeoutMs / 4));
}

export class RedisClock {
  private offsetMs: number | undefined;
  private roundTripMs = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly redis: TimeSource,
    private readonly hostNow: () => number = monotonicNow,
  ) {}

  /** Measures the offset; keeps the previous one if Redis does not answer. */
  async sync(): Promise<void> {
    let best: { roundTrip: number; offset: number } | undefined;
    for (let i = 0; i < SAMPLES; i++) {
      const sent = this.hostNow();
      const [seconds, micros] = await this.redis.time();
      const received = this.hostNow();
      const redisMs = Number(seconds) * 1000 + Number(micros) / 1000;
      const roundTrip = received - sent;
      if (!best || roundTrip < best.roundTrip) best = { roundTrip, offset: redisMs - (sent + received) / 2 };
    }
    if (best) {
      this.offsetMs = best.offset;
      this.roundTripMs = best.roundTrip;
    }
  }

  /** Measures again every CLOCK_SYNC_INTERVAL_MS until stop(); failures keep the last offset. */
  start(intervalMs = CLOCK_SYNC_INTERVAL_MS): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sync().catch(() => {}), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Redis's time now, in ms, as estimated. */
  now(): number {
    if (this.offsetMs === undefined)
      throw new Error("the Redis clock was never measured (call sync() first)");
    return this.hostNow() + this.offsetMs;
  }

  /** The estimate's offset (Redis minus host, ms) and the round trip it came from. */
  get estimate(): { offsetMs: number; roundTripMs: number } | undefined {
    return this.offsetMs === undefined
      ? undefined
      : { offsetMs: this.offsetMs, roundTripMs: this.roundTripMs };
  }
}

/** The deadline, in Redis time (whole ms, as the scripts compare it), of a script sent now. */
export function scriptDeadline(clock: RedisClock, timeoutMs: number): number {
  return Math.floor(clock.now() + scriptBudgetMs(timeoutMs));
}
