// PostgreSQL CPU spent for one implementation: user + system time (/proc/<pid>/stat) of the backends
// connected to the run's own database (its clients and any autovacuum worker there), sampled every
// 250 ms so a backend that exits mid-window keeps what it had used by its last sample. Shared
// processes (WAL writer, checkpointer, background writer) also work for other databases on the
// server, so they are left out: this is the implementation's own share, a lower bound of its cost.
import type { PostgresProbe } from "./postgres-stats.js";
import { processCpuSeconds } from "./postgres-stats.js";

const SAMPLE_MS = 250;

export class PostgresCpuSampler {
  /** CPU seconds of each pid at its first sample (0 for backends that started after begin()). */
  private readonly first = new Map<number, number>();
  private readonly last = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;
  private sampling: Promise<void> = Promise.resolve();
  private begun = false;

  constructor(private readonly probe: PostgresProbe) {}

  async begin(): Promise<void> {
    await this.sample();
    this.begun = true;
    this.timer = setInterval(() => {
      this.sampling = this.sampling.then(() => this.sample()).catch(() => {});
    }, SAMPLE_MS);
  }

  /** CPU seconds the run database's backends used since begin(). Call before they disconnect. */
  async end(): Promise<number> {
    clearInterval(this.timer);
    await this.sampling;
    await this.sample();
    let seconds = 0;
    for (const [pid, value] of this.last) seconds += value - (this.first.get(pid) ?? 0);
    return seconds;
  }

  private async sample(): Promise<void> {
    const pids = await this.probe.runBackendPids();
    const readings = await Promise.all(pids.map(async (pid) => [pid, await processCpuSeconds(pid)] as const));
    for (const [pid, seconds] of readings) {
      if (Number.isNaN(seconds)) continue;
      if (!this.first.has(pid)) this.first.set(pid, this.begun ? 0 : seconds);
      this.last.set(pid, seconds);
    }
  }
}
