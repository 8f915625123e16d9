// Collecting live events (engine.subscribe, or a parsed SSE stream) and waiting for the ones a test
// expects.
import { performance } from "node:perf_hooks";
import type { LiveEvent } from "../../src/core/types.js";

export interface Received {
  event: LiveEvent;
  /** performance.now() when it arrived. */
  at: number;
}

export class EventLog {
  readonly received: Received[] = [];
  private readonly waiters = new Set<() => void>();

  readonly onEvent = (event: LiveEvent): void => {
    this.received.push({ event, at: performance.now() });
    for (const wake of this.waiters) wake();
  };

  /** The events so far, as [name, data]. */
  get events(): LiveEvent[] {
    return this.received.map((r) => r.event);
  }

  /** The first event from index `from` on that matches; fails after `timeoutMs`. */
  async waitFor(
    match: (event: LiveEvent) => boolean,
    {
      from = 0,
      timeoutMs = 3000,
      what = "an event",
    }: { from?: number; timeoutMs?: number; what?: string } = {},
  ): Promise<Received> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.received.slice(from).find((r) => match(r.event));
      if (found) return found;
      const left = deadline - performance.now();
      if (left <= 0) {
        throw new Error(
          `no ${what} within ${timeoutMs} ms; received: ${JSON.stringify(this.events.slice(from), null, 1)}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          this.waiters.delete(wake);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(wake, left);
        this.waiters.add(wake);
      });
    }
  }

  /** Waits until no event arrived for `quietMs`. */
  async settle(quietMs = 400): Promise<void> {
    for (;;) {
      const count = this.received.length;
      await new Promise((resolve) => setTimeout(resolve, quietMs));
      if (this.received.length === count) return;
    }
  }
}

/** A member event's data for the channel, as a loose record. */
export function isMember(channelId: string, also: Record<string, unknown> = {}) {
  return (event: LiveEvent): boolean =>
    event.event === "member" &&
    event.data.channelId === channelId &&
    Object.entries(also).every(
      ([key, value]) => (event.data as unknown as Record<string, unknown>)[key] === value,
    );
}

export function isThread(channelId: string, threadId: string, also: Record<string, unknown> = {}) {
  return (event: LiveEvent): boolean =>
    event.event === "thread" &&
    event.data.channelId === channelId &&
    (event.data as { threadId: string }).threadId === threadId &&
    Object.entries(also).every(
      ([key, value]) => (event.data as unknown as Record<string, unknown>)[key] === value,
    );
}
