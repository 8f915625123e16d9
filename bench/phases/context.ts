// What every phase of a run shares: options, the topology, the probes and the progress bar.
import type { PostgresProbe } from "../measure/postgres-stats.js";
import type { RedisProbe } from "../measure/redis-stats.js";
import type { BenchOptions } from "../options.js";
import type { Progress } from "../progress.js";
import type { Topology } from "../topology.js";

export interface RunContext {
  options: BenchOptions;
  topology: Topology;
  runId: string;
  progress: Progress;
  postgres: PostgresProbe;
  redis: RedisProbe;
  /** Cleanups still owed (schemas, key prefixes, child processes), run even when a phase fails. */
  cleanups: (() => Promise<void>)[];
  notes: string[];
}

/** Milliseconds of unmeasured load before each window: JIT, pools and caches warm up. */
export const WARMUP_MS = 1000;
