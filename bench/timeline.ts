// Completed operations per time slot, for the throughput-over-time chart and for burst windows.

export const SLOT_MS = 250;

export interface TimelinePoint {
  /** Seconds since the measured window began (end of the slot). */
  tSec: number;
  opsPerSec: number;
  statusUpdatesPerSec: number;
  /** False while the burst scenario pauses between bursts. */
  active: boolean;
  /** C only: age of the oldest unflushed change at the end of the slot. */
  lagMs?: number;
  dirty?: number;
}

export class Timeline {
  private readonly ops: number[] = [];
  private readonly updates: number[] = [];
  private readonly inactive = new Set<number>();

  constructor(private readonly startMs: number) {}

  record(nowMs: number, statusUpdates: number): void {
    const slot = Math.floor((nowMs - this.startMs) / SLOT_MS);
    if (slot < 0) return;
    this.ops[slot] = (this.ops[slot] ?? 0) + 1;
    this.updates[slot] = (this.updates[slot] ?? 0) + statusUpdates;
  }

  /** Adds counts a worker thread already bucketed by slot. */
  add(slot: number, ops: number, statusUpdates: number): void {
    this.ops[slot] = (this.ops[slot] ?? 0) + ops;
    this.updates[slot] = (this.updates[slot] ?? 0) + statusUpdates;
  }

  markInactive(nowMs: number): void {
    this.inactive.add(Math.floor((nowMs - this.startMs) / SLOT_MS));
  }

  /** Ops completed in the last `windowMs` before `nowMs`, per second (for the progress bar). */
  recentRate(nowMs: number, windowMs = 1000): number {
    const last = Math.floor((nowMs - this.startMs) / SLOT_MS) - 1;
    const slots = Math.max(1, Math.round(windowMs / SLOT_MS));
    let sum = 0;
    for (let i = last; i > last - slots && i >= 0; i--) sum += this.ops[i] ?? 0;
    return (sum * 1000) / (slots * SLOT_MS);
  }

  points(durationMs: number): TimelinePoint[] {
    const slots = Math.ceil(durationMs / SLOT_MS);
    const out: TimelinePoint[] = [];
    for (let i = 0; i < slots; i++) {
      out.push({
        tSec: ((i + 1) * SLOT_MS) / 1000,
        opsPerSec: ((this.ops[i] ?? 0) * 1000) / SLOT_MS,
        statusUpdatesPerSec: ((this.updates[i] ?? 0) * 1000) / SLOT_MS,
        active: !this.inactive.has(i),
      });
    }
    return out;
  }
}
