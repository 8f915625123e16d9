// Where the time goes: CPU seconds of each component over a measured window.
import { readFile } from "node:fs/promises";
import type { CpuUse } from "../results.js";
import { cpuBetween, postgresCpuByPid, processCpuSeconds } from "./postgres-stats.js";
import type { RedisProbe } from "./redis-stats.js";

interface CpuReading {
  atMs: number;
  /** Busy CPU seconds of the whole machine (all processes), from /proc/stat. */
  system: number;
  bench: number;
  redis: number;
  postgres: Map<string, number>;
  server: number;
}

export class CpuMeter {
  private start: CpuReading | undefined;

  constructor(
    private readonly redis: RedisProbe,
    private readonly serverPid?: number,
  ) {}

  async begin(): Promise<void> {
    this.start = await this.read();
  }

  async end(): Promise<CpuUse> {
    const end = await this.read();
    const start = this.start ?? end;
    const wall = Math.max(1e-3, (end.atMs - start.atMs) / 1000);
    const use: CpuUse = {
      benchProcessCores: (end.bench - start.bench) / wall,
      redisCores: (end.redis - start.redis) / wall,
      postgresCores: cpuBetween(start.postgres, end.postgres) / wall,
    };
    if (this.serverPid !== undefined) use.serverCores = (end.server - start.server) / wall;
    const ours = use.benchProcessCores + use.redisCores + use.postgresCores + (use.serverCores ?? 0);
    // Anything else on the machine (other test runs, the OS) competes for the same two cores.
    use.otherCores = Math.max(0, (end.system - start.system) / wall - ours);
    return use;
  }

  private async read(): Promise<CpuReading> {
    const usage = process.cpuUsage();
    const [system, redis, postgres, server] = await Promise.all([
      systemBusySeconds(),
      this.redis.cpuSeconds().catch(() => Number.NaN),
      postgresCpuByPid(),
      this.serverPid === undefined ? Promise.resolve(0) : processCpuSeconds(this.serverPid),
    ]);
    return {
      atMs: performance.now(),
      system,
      bench: (usage.user + usage.system) / 1e6,
      redis,
      postgres,
      server,
    };
  }
}

async function systemBusySeconds(): Promise<number> {
  try {
    const line = (await readFile("/proc/stat", "utf8")).split("\n")[0] ?? "";
    // cpu user nice system idle iowait irq softirq steal …: busy = all but idle and iowait.
    const fields = line.trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
    return (total - idle) / 100;
  } catch {
    return Number.NaN;
  }
}
