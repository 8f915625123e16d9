// One Redis client (or Cluster client) per engine, with the scripts registered on it.
import { Cluster, Redis } from "ioredis";
import { ReadStateError } from "../core/errors.js";
import { defineScripts, loadLibrary, type ScriptClient } from "./scripts.js";

export type RedisClient = (Redis | Cluster) & ScriptClient;

/**
 * Fail fast instead of queueing while Redis is away: an operation answers 503 `unavailable` at once
 * (nothing applied) rather than hanging, and the client reconnects in the background. A Redis that
 * hangs (stopped, or stuck in a slow command) fails each command after `timeoutMs`: it keeps the
 * connection, so only the command timeout notices it.
 */
export function connectRedis(url: string, timeoutMs?: number): RedisClient {
  const nodes = url
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean);
  const options = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    // Off: the hot path already sends one call per turn of the event loop (batcher.ts), and
    // auto-pipelining only adds its own per-command bookkeeping to it. Measured with the same FCALLs,
    // 128 in flight: 8.3 µs of Node CPU per call without it, 10.5-12.1 with it, and C in process
    // ran 3-10% faster.
    enableAutoPipelining: false,
    lazyConnect: true,
    retryStrategy: (attempt: number) => Math.min(50 * 2 ** attempt, 2000),
    ...(timeoutMs === undefined ? {} : { commandTimeout: timeoutMs }),
  };
  const client =
    nodes.length > 1
      ? new Cluster(
          nodes
            .map((node) => new URL(node.includes("://") ? node : `redis://${node}`))
            .map((u) => ({
              host: u.hostname,
              port: Number(u.port || 6379),
            })),
          {
            enableOfflineQueue: false,
            enableAutoPipelining: true,
            // Auto-pipelining routes a command by its first string argument; FCALL's is the function
            // name, so it would go to the wrong node. Function calls go alone, routed by their keys.
            autoPipeliningIgnoredCommands: ["fcall", "fcall_ro"],
            lazyConnect: true,
            redisOptions: options,
          },
        )
      : new Redis(nodes[0] ?? "redis://127.0.0.1:6379", options);
  defineScripts(client);
  return client as RedisClient;
}

/** Connects, or explains what to fix. */
export async function openRedis(client: RedisClient, url: string): Promise<void> {
  // connect() rejects with "Connection is closed."; the socket's own error (ECONNREFUSED, ...) came first.
  let socketError: Error | undefined;
  const onError = (err: Error) => {
    socketError ??= err;
  };
  client.on("error", onError);
  try {
    await client.connect();
    // Loaded again by the first call that finds it missing (Redis restarted empty); now spares that.
    await loadLibrary(client);
  } catch (err) {
    const cause = socketError ?? (err as Error);
    throw new ReadStateError(
      "unavailable",
      `cannot reach Redis at ${withoutPassword(url)}: ${cause.message}`,
      {
        cause,
      },
    );
  } finally {
    client.off("error", onError);
  }
}

function withoutPassword(url: string): string {
  return url.replace(/:\/\/([^:@/,]*):[^@/,]*@/g, "://$1:***@");
}

/**
 * Only `noeviction` is safe. `allkeys-*` may evict state not yet written to PostgreSQL; `volatile-*`
 * evicts single keys of a clean channel (say its message index but not its cursors), and the channel
 * then answers from half its state. Cluster: every master is asked. Returns the policies seen, or
 * throws with the fix.
 */
export async function checkEvictionPolicy(client: RedisClient): Promise<string[]> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client as Redis];
  const policies: string[] = [];
  for (const node of nodes) {
    const reply = (await node.config("GET", "maxmemory-policy")) as string[];
    const policy = reply[1] ?? "unknown";
    if (policy !== "noeviction") throw new Error(evictionRefusal(policy));
    policies.push(policy);
  }
  return policies;
}

/** What a policy other than noeviction would do to readstate's state (also `readstate doctor`'s verdict). */
export function evictionRisk(policy: string): string {
  return policy.startsWith("volatile-")
    ? "Redis would evict single keys of a channel (e.g. its message index but not its read cursors), " +
        "and the channel would then answer from half its state"
    : "Redis could evict state not yet written to PostgreSQL, which loses it";
}

function evictionRefusal(policy: string): string {
  return (
    `Redis maxmemory-policy is ${policy}: ${evictionRisk(policy)}. Set it to noeviction ` +
    "(CONFIG SET maxmemory-policy noeviction, and maxmemory-policy noeviction in redis.conf); " +
    "when Redis is full, readstate then refuses writes with 503 and loses nothing."
  );
}

/** Redis's memory against its maxmemory; on Cluster summed over the masters, full when any one is. */
export interface RedisMemory {
  usedBytes: number;
  /** 0: no limit. */
  maxBytes: number;
  /** Redis refuses writes (noeviction): used memory, less what eviction does not count, is over maxmemory. */
  full: boolean;
}

export async function redisMemory(client: RedisClient): Promise<RedisMemory> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client as Redis];
  const memory: RedisMemory = { usedBytes: 0, maxBytes: 0, full: false };
  for (const node of nodes) {
    const info = await node.info("memory");
    const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(info)?.[1] ?? 0);
    const used = field("used_memory");
    const max = field("maxmemory");
    memory.usedBytes += used;
    memory.maxBytes += max;
    // Redis's own test before a write (evict.c): AOF and replica buffers do not count.
    if (max > 0 && used - field("mem_not_counted_for_evict") > max) memory.full = true;
  }
  return memory;
}
