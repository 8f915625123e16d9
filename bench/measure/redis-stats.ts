// Redis as the benchmark sees it: memory, CPU, and removing one implementation's keys.
// Never FLUSHALL: the server is shared; only keys under the run's own prefix are touched.
import { Redis } from "ioredis";

export class RedisProbe {
  private readonly redis: Redis;

  constructor(redisUrl: string) {
    this.redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  }

  async info(section: string): Promise<Record<string, string>> {
    const text = await this.redis.info(section);
    const out: Record<string, string> = {};
    for (const line of text.split("\r\n")) {
      const colon = line.indexOf(":");
      if (colon > 0 && !line.startsWith("#")) out[line.slice(0, colon)] = line.slice(colon + 1);
    }
    return out;
  }

  async usedMemory(): Promise<number> {
    return Number((await this.info("memory")).used_memory ?? Number.NaN);
  }

  /** CPU seconds of the Redis server process (main thread and its helpers) since it started. */
  async cpuSeconds(): Promise<number> {
    const cpu = await this.info("cpu");
    return Number(cpu.used_cpu_user ?? Number.NaN) + Number(cpu.used_cpu_sys ?? Number.NaN);
  }

  async version(): Promise<string> {
    return (await this.info("server")).redis_version ?? "unknown";
  }

  /** SCAN + UNLINK of `<prefix>:*`; returns how many keys went. */
  async deletePrefix(prefix: string): Promise<number> {
    let cursor = "0";
    let deleted = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await this.redis.unlink(...keys);
    } while (cursor !== "0");
    return deleted;
  }

  async countPrefix(prefix: string): Promise<number> {
    let cursor = "0";
    let count = 0;
    do {
      const [next, keys] = await this.redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      count += keys.length;
    } while (cursor !== "0");
    return count;
  }

  /** Bytes of every key under the prefix (MEMORY USAGE, exact for small keys): immune to other tenants. */
  async memoryOfPrefix(prefix: string): Promise<{ bytes: number; keys: number }> {
    let cursor = "0";
    let bytes = 0;
    let keys = 0;
    do {
      const [next, batch] = await this.redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 1000);
      cursor = next;
      if (batch.length === 0) continue;
      const pipeline = this.redis.pipeline();
      for (const key of batch) pipeline.memory("USAGE", key, "SAMPLES", 0);
      for (const [err, value] of (await pipeline.exec()) ?? []) {
        if (err === null && typeof value === "number") bytes += value;
      }
      keys += batch.length;
    } while (cursor !== "0");
    return { bytes, keys };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
  }
}
