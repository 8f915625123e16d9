// The process logger: JSON lines on stdout (pino), the level from --log-level or READSTATE_LOG_LEVEL.
import { type Logger, pino } from "pino";
import { UsageError } from "./options.js";

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

export function createLogger(flag: string | boolean | undefined, env: NodeJS.ProcessEnv): Logger {
  const level = (typeof flag === "string" ? flag : env.READSTATE_LOG_LEVEL) || "info";
  if (!LEVELS.has(level)) {
    throw new UsageError(`log level "${level}" is not one of ${[...LEVELS].join(", ")}`);
  }
  return pino({ level, base: { pid: process.pid, service: "readstate" } });
}
