// What the numbers were measured on: a figure means little without its machine.
import os from "node:os";
import type { PostgresProbe } from "./measure/postgres-stats.js";
import type { RedisProbe } from "./measure/redis-stats.js";
import type { MachineInfo } from "./results.js";

export async function describeMachine(redis: RedisProbe, postgres: PostgresProbe): Promise<MachineInfo> {
  const cpus = os.cpus();
  return {
    cpus: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    redis: await redis.version().catch(() => "unreachable"),
    postgres: await postgres.version().catch(() => "unreachable"),
    postgresSettings: await postgres.settings().catch(() => ({})),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}
