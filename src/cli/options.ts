// Flags shared by the commands, parsed with node:util parseArgs. Each config flag names the option it
// sets; resolveServerConfig applies one order everywhere: flag, then environment, then default.
import { type ParseArgsConfig, parseArgs } from "node:util";
import { ENV_NAMES, type ServerConfig } from "../config.js";

export interface FlagSpec {
  type: "string" | "boolean";
  description: string;
  /** The config option this flag sets; its environment variable is listed in --help. */
  config?: keyof typeof ENV_NAMES;
  /** An environment variable read by the CLI itself (not part of the engine config). */
  env?: string;
  placeholder?: string;
}

export type FlagSpecs = Record<string, FlagSpec>;

export const CONNECTION_FLAGS = {
  "redis-url": {
    type: "string",
    config: "redisUrl",
    placeholder: "url",
    description: "Redis, or a comma-separated list of Redis Cluster nodes",
  },
  "database-url": { type: "string", config: "databaseUrl", placeholder: "url", description: "PostgreSQL" },
  schema: {
    type: "string",
    config: "schema",
    placeholder: "name",
    description: "PostgreSQL schema of the tables",
  },
  prefix: {
    type: "string",
    config: "keyPrefix",
    placeholder: "prefix",
    description: "prefix of every Redis key",
  },
  "redis-timeout-ms": {
    type: "string",
    config: "redisTimeoutMs",
    placeholder: "ms",
    description: "how long a Redis command may take before the request answers 503 (nothing applied)",
  },
} as const satisfies FlagSpecs;

export const LOG_FLAGS: FlagSpecs = {
  "log-level": {
    type: "string",
    env: "READSTATE_LOG_LEVEL",
    placeholder: "level",
    description: "fatal, error, warn, info (default), debug, trace or silent",
  },
};

export const WORKER_FLAGS: FlagSpecs = {
  "flush-interval-ms": {
    type: "string",
    config: "flushIntervalMs",
    placeholder: "ms",
    description: "how often the write-behind worker flushes",
  },
  "flush-batch-rows": {
    type: "string",
    config: "flushBatchRows",
    placeholder: "rows",
    description: "upper bound of rows per flush transaction",
  },
  "backpressure-age-ms": {
    type: "string",
    config: "backpressureAgeMs",
    placeholder: "ms",
    description:
      "refuse writes (503) while the oldest unflushed change is older than this and flushes succeed",
  },
  "cache-ttl-ms": {
    type: "string",
    config: "cacheTtlMs",
    placeholder: "ms",
    description: "how long a flushed channel stays cached in Redis",
  },
  "no-migrate": { type: "boolean", description: "do not apply PostgreSQL migrations at start" },
};

export const HELP_FLAG: FlagSpecs = { help: { type: "boolean", description: "show this help" } };

export class UsageError extends Error {
  override name = "UsageError";
}

export type FlagValues = Record<string, string | boolean | undefined>;

export function parseFlags(argv: string[], specs: FlagSpecs): FlagValues {
  const options: ParseArgsConfig["options"] = {};
  for (const [name, spec] of Object.entries(specs)) options[name] = { type: spec.type };
  try {
    return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as FlagValues;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** The flags that set config options, keyed as resolveServerConfig expects them. */
export function configFlags(
  values: FlagValues,
  specs: FlagSpecs,
): Partial<Record<keyof ServerConfig, string>> {
  const flags: Partial<Record<keyof ServerConfig, string>> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const value = values[name];
    if (spec.config && typeof value === "string") flags[spec.config] = value;
  }
  return flags;
}

export function renderHelp(usage: string, summary: string, specs: FlagSpecs, notes = ""): string {
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `--${name}${spec.type === "string" ? ` <${spec.placeholder ?? "value"}>` : ""}`;
    const env = spec.config ? ENV_NAMES[spec.config] : spec.env;
    return { flag, text: env ? `${spec.description} [env ${env}]` : spec.description };
  });
  const width = Math.max(...rows.map((row) => row.flag.length)) + 2;
  const lines = rows.map((row) => `  ${row.flag.padEnd(width)}${row.text}`);
  return `Usage: ${usage}\n\n${summary}\n\nOptions:\n${lines.join("\n")}\n${notes ? `\n${notes}\n` : ""}`;
}
