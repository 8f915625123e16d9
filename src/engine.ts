// Composition root: wires the Redis store, the PostgreSQL store, the service and the worker.
import { EventEmitter } from "node:events";
import type { ReadStateConfig } from "./config.js";
import type { EngineEvents, ReadState, Readiness } from "./core/types.js";

/** The engine: every operation of ReadState plus what an operator needs to watch it. */
export interface Engine extends ReadState {
  readonly config: ReadStateConfig;
  /** Emits "flush", "flushError", "redisError", "postgresError". */
  readonly events: EventEmitter<EngineEvents>;
  readiness(): Promise<Readiness>;
}

export async function createReadState(_options: Partial<ReadStateConfig> = {}): Promise<Engine> {
  throw new Error("not implemented yet");
}
