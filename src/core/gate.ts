// Admission of writes. The service asks the gate before it changes anything, so a refused write
// leaves no trace; what decides (the write-behind backlog in Redis) lives outside the core
// (src/sync/backpressure.ts).
import { ReadStateError } from "./errors.js";

export interface WriteGate {
  /** Throws WritesRefused when writes are being shed; returns otherwise. */
  admitWrite(): void;
}

/** The gate of an engine without backpressure: every write is admitted. */
export const OPEN_GATE: WriteGate = { admitWrite() {} };

/** 503 `unavailable` with Retry-After: the service pushes back, nothing was applied. */
export class WritesRefused extends ReadStateError {
  constructor(message: string, retryAfterSeconds: number) {
    super("unavailable", message, { retryAfterSeconds });
    this.name = "WritesRefused";
  }
}

export function isWritesRefused(err: unknown): err is WritesRefused {
  return err instanceof WritesRefused;
}
