// Graceful stop on SIGTERM/SIGINT: run the shutdown steps once, exit 0 when they succeed. A second
// signal while stopping exits at once (an operator who presses Ctrl-C twice means it) — but a copy of
// the same signal within a moment is not a second signal: a SIGTERM to the whole process group
// (systemd's KillMode=control-group, `kill -- -PGID`) reaches this process directly and again through
// npm, which forwards what it receives to its child.
import type { Logger } from "pino";
import type { Engine } from "../engine.js";

/** How long a repeat of the first signal counts as a copy of it rather than a second signal. */
export const SIGNAL_COPY_WINDOW_MS = 1000;

export function stopOnSignals(
  log: Logger,
  options: { forceOnSecondSignal: boolean },
  shutdown: () => Promise<void>,
): void {
  let first: { signal: NodeJS.Signals; at: number } | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    if (first) {
      if (!options.forceOnSecondSignal) return;
      if (signal === first.signal && Date.now() - first.at < SIGNAL_COPY_WINDOW_MS) {
        log.info({ signal }, "same signal again within a moment (a copy, e.g. through npm): still stopping");
        return;
      }
      log.warn({ signal }, "second signal while stopping: exiting without waiting");
      process.exit(1);
    }
    first = { signal, at: Date.now() };
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
  events.on("postRetracted", (channelId, messageId) =>
    log.warn({ channelId, messageId }, "a post answered 503 had been applied by Redis; retracted"),
  );
  events.on("postUnresolved", (channelId, messageId, why) =>
    log.error(
      { channelId, messageId, why },
      "a post answered 503 may have been applied: could not retract it",
    ),
  );
}
