// C's write-behind lag, sampled every 250 ms: the age of the oldest change not yet in PostgreSQL.
import type { FlushLag } from "../results.js";

export interface LagSample {
  atMs: number;
  ageMs: number;
  dirty: number;
}

export class LagSampler {
  readonly samples: LagSample[] = [];
  private timer: NodeJS.Timeout | undefined;
  private inFlight = false;
  failures = 0;

  constructor(
    private readonly read: () => Promise<{ oldestDirtyAgeMs: number; dirty: number }>,
    private readonly startMs: number,
    private readonly intervalMs = 250,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      // A slow reading must not pile up behind itself and become load of its own.
      if (this.inFlight) return;
      this.inFlight = true;
      const atMs = performance.now() - this.startMs;
      this.read()
        .then((status) => this.samples.push({ atMs, ageMs: status.oldestDirtyAgeMs, dirty: status.dirty }))
        .catch(() => {
          this.failures++;
        })
        .finally(() => {
          this.inFlight = false;
        });
    }, this.intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  summary(): FlushLag {
    const ages = this.samples.map((s) => s.ageMs).sort((a, b) => a - b);
    const at = (q: number) =>
      ages[Math.min(ages.length - 1, Math.max(0, Math.ceil(q * ages.length) - 1))] ?? 0;
    return {
      samples: ages.length,
      p50Ms: at(0.5),
      p99Ms: at(0.99),
      maxMs: ages[ages.length - 1] ?? 0,
      maxDirty: this.samples.reduce((m, s) => Math.max(m, s.dirty), 0),
      endDirty: this.samples[this.samples.length - 1]?.dirty ?? 0,
    };
  }
}
