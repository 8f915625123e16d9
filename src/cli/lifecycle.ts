// Graceful stop on SIGTERM/SIGINT: run the shutdown steps once, exit 0 when they succeed. A second
// signal while stopping exits at once (an operator who presses Ctrl-C twice means it).
import type { Logger } from "pino";
import type { Engine } from "../engine.js";

export function stopOnSignals(
  log: Logger,
  options: { forceOnSecondSignal: boolean },
  shutdown: () => Promise<void>,
): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      if (!options.forceOnSecondSignal) return;
      log.warn({ signal }, "second signal while stopping: exiting without waiting");
      process.exit(1);
    }
    stopping = true;
    log.info({ signal }, "stopping: finishing in-flight requests, then flushing to PostgreSQL");
    shutdown().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "stopping failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

/** Logs what the engine reports; the worker's retries are warnings, not failures. */
export function logEngineEvents(log: Logger, events: Engine["events"]): void {
  events.on("flush", (report) => log.debug({ flush: report }, "flushed"));
  events.on("flushError", (err) => log.warn({ err }, "flush failed; retrying with backoff"));
  events.on("redisError", (err) => log.warn({ err }, "redis error"));
  events.on("postgresError", (err) => log.warn({ err }, "postgres error"));
}
