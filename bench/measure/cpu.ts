// Where the time goes: CPU seconds of each component over a measured window.
import type { CpuUse } from "../results.js";
import { cpuBetween, postgresCpuByPid, processCpuSeconds } from "./postgres-stats.js";
import type { RedisProbe } from "./redis-stats.js";

interface CpuReading {
  atMs: number;
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
    return use;
  }

  private async read(): Promise<CpuReading> {
    const usage = process.cpuUsage();
    const [redis, postgres, server] = await Promise.all([
      this.redis.cpuSeconds().catch(() => Number.NaN),
      postgresCpuByPid(),
      this.serverPid === undefined ? Promise.resolve(0) : processCpuSeconds(this.serverPid),
    ]);
    return {
      atMs: performance.now(),
      bench: (usage.user + usage.system) / 1e6,
      redis,
      postgres,
      server,
    };
  }
}
