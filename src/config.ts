// One config resolver, one order: explicit option (flag), then environment, then default.
// Validated at start with messages a person can act on.

export interface ReadStateConfig {
  /** `redis://host:port`, or a comma-separated list of Redis Cluster nodes. */
  redisUrl: string;
  databaseUrl: string;
  /** PostgreSQL schema holding the tables; created by the migrations. */
  schema: string;
  /** Prefix of every Redis key, so deployments and test runs never collide. */
  keyPrefix: string;
  flushIntervalMs: number;
  /** Run the write-behind worker in this process (default true). */
  worker: boolean;
  /**
   * Run the worker's periodic passes on a thread of their own (sync/thread.ts), so a busy HTTP
   * server in the same process cannot starve them. `serve` turns it on; the library default is off.
   */
  workerThread: boolean;
  /** Apply the PostgreSQL migrations at start (default true). */
  migrate: boolean;
  /** How long a clean (flushed) channel stays cached in Redis. Dirty state never expires. */
  cacheTtlMs: number;
  /** Upper bound of rows one flush batch writes in one transaction. */
  flushBatchRows: number;
  /**
   * Writes are refused (503, Retry-After) while the oldest unflushed change is older than this and
   * PostgreSQL keeps taking flushes: the worker is behind, and API.md's 10 s window is at stake.
   */
  backpressureAgeMs: number;
  /**
   * How long a Redis command may take before the caller gets 503 `unavailable`. A write script only
   * applies if it starts well within it (see src/redis/clock.ts), so a 503 means nothing was applied.
   */
  redisTimeoutMs: number;
  /**
   * Live event subscriptions (SSE streams) one instance holds at most; past it a new one is answered
   * 503 `unavailable` with Retry-After, so a load balancer sends it elsewhere.
   */
  maxStreams: number;
}

export interface ServerConfig extends ReadStateConfig {
  host: string;
  port: number;
  apiToken: string | undefined;
  /**
   * Signs the user tokens of /events (the same on every instance). Unset: derived from apiToken
   * (http/tokens.ts); never a random key per process, which another instance could not check.
   */
  tokenSecret: string | undefined;
  /** Lifetime of a user token, in seconds. */
  userTokenTtlS: number;
}

export const DEFAULTS: ServerConfig = {
  redisUrl: "redis://127.0.0.1:6379",
  databaseUrl: "postgres://postgres@127.0.0.1:5432/postgres",
  schema: "readstate",
  keyPrefix: "rs",
  flushIntervalMs: 5000,
  worker: true,
  workerThread: false,
  migrate: true,
  cacheTtlMs: 24 * 3600 * 1000,
  flushBatchRows: 5000,
  // 2 s short of the contract's 10 s: the monitor's poll, a pass's first batch and a loaded event
  // loop fit in that margin (docs/RELIABILITY.md, scenario 11, reports it under saturation).
  backpressureAgeMs: 8000,
  redisTimeoutMs: 2000,
  maxStreams: 10_000,
  host: "127.0.0.1",
  port: 8080,
  apiToken: undefined,
  tokenSecret: undefined,
  userTokenTtlS: 3600,
};

/** Environment variable behind each option (API.md, "Configuration"; from cacheTtlMs on, extensions). */
export const ENV_NAMES = {
  redisUrl: "REDIS_URL",
  databaseUrl: "DATABASE_URL",
  schema: "READSTATE_PG_SCHEMA",
  keyPrefix: "READSTATE_REDIS_PREFIX",
  flushIntervalMs: "READSTATE_FLUSH_INTERVAL_MS",
  apiToken: "READSTATE_API_TOKEN",
  host: "HOST",
  port: "PORT",
  cacheTtlMs: "READSTATE_CACHE_TTL_MS",
  flushBatchRows: "READSTATE_FLUSH_BATCH_ROWS",
  backpressureAgeMs: "READSTATE_BACKPRESSURE_AGE_MS",
  redisTimeoutMs: "READSTATE_REDIS_TIMEOUT_MS",
  maxStreams: "READSTATE_MAX_STREAMS",
  tokenSecret: "READSTATE_TOKEN_SECRET",
  userTokenTtlS: "READSTATE_USER_TOKEN_TTL_S",
} as const satisfies Partial<Record<keyof ServerConfig, string>>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Below this, ordinary latency spikes (a fork for AOF rewrite, a slow network) would answer 503. */
const MIN_REDIS_TIMEOUT_MS = 100;

const SCHEMA_RE = /^[a-z_][a-z0-9_]{0,62}$/;
const PREFIX_RE = /^[A-Za-z0-9._:-]{1,64}$/;

/** Checks a library config and fills in defaults. */
export function resolveConfig(options: Partial<ReadStateConfig> = {}): ReadStateConfig {
  const config: ReadStateConfig = {
    redisUrl: options.redisUrl ?? DEFAULTS.redisUrl,
    databaseUrl: options.databaseUrl ?? DEFAULTS.databaseUrl,
    schema: options.schema ?? DEFAULTS.schema,
    keyPrefix: options.keyPrefix ?? DEFAULTS.keyPrefix,
    flushIntervalMs: options.flushIntervalMs ?? DEFAULTS.flushIntervalMs,
    worker: options.worker ?? DEFAULTS.worker,
    workerThread: options.workerThread ?? DEFAULTS.workerThread,
    migrate: options.migrate ?? DEFAULTS.migrate,
    cacheTtlMs: options.cacheTtlMs ?? DEFAULTS.cacheTtlMs,
    flushBatchRows: options.flushBatchRows ?? DEFAULTS.flushBatchRows,
    backpressureAgeMs: options.backpressureAgeMs ?? DEFAULTS.backpressureAgeMs,
    redisTimeoutMs: options.redisTimeoutMs ?? DEFAULTS.redisTimeoutMs,
    maxStreams: options.maxStreams ?? DEFAULTS.maxStreams,
  };
  if (!SCHEMA_RE.test(config.schema)) {
    throw new ConfigError(
      `schema "${config.schema}" is not usable: use lower-case letters, digits and _ (max 63), e.g. readstate`,
    );
  }
  if (!PREFIX_RE.test(config.keyPrefix)) {
    throw new ConfigError(
      `key prefix "${config.keyPrefix}" is not usable: use 1-64 of A-Z a-z 0-9 . _ : - (no braces, they are hash tags)`,
    );
  }
  positiveInt("flushIntervalMs", config.flushIntervalMs);
  positiveInt("cacheTtlMs", config.cacheTtlMs);
  positiveInt("flushBatchRows", config.flushBatchRows);
  positiveInt("backpressureAgeMs", config.backpressureAgeMs);
  positiveInt("redisTimeoutMs", config.redisTimeoutMs);
  positiveInt("maxStreams", config.maxStreams);
  if (config.redisTimeoutMs < MIN_REDIS_TIMEOUT_MS) {
    throw new ConfigError(
      `redisTimeoutMs ${config.redisTimeoutMs} is too short to tell a slow Redis from a hung one: use ${MIN_REDIS_TIMEOUT_MS} or more (default ${DEFAULTS.redisTimeoutMs})`,
    );
  }
  return config;
}

/** Reads the server config from flags (already parsed), then the environment, then defaults. */
export function resolveServerConfig(
  flags: Partial<Record<keyof ServerConfig, string | boolean | undefined>> = {},
  env: NodeJS.ProcessEnv = process.env,
): ServerConfig {
  const pick = (key: keyof typeof ENV_NAMES): string | undefined => {
    const flag = flags[key];
    if (typeof flag === "string") return flag;
    const value = env[ENV_NAMES[key]];
    return value === undefined || value === "" ? undefined : value;
  };
  const int = (key: keyof typeof ENV_NAMES, fallback: number): number => {
    const raw = pick(key);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value)) {
      throw new ConfigError(`${ENV_NAMES[key]}=${raw} is not a whole number`);
    }
    return value;
  };
  const base = resolveConfig({
    redisUrl: pick("redisUrl"),
    databaseUrl: pick("databaseUrl"),
    schema: pick("schema"),
    keyPrefix: pick("keyPrefix"),
    flushIntervalMs: int("flushIntervalMs", DEFAULTS.flushIntervalMs),
    cacheTtlMs: int("cacheTtlMs", DEFAULTS.cacheTtlMs),
    flushBatchRows: int("flushBatchRows", DEFAULTS.flushBatchRows),
    backpressureAgeMs: int("backpressureAgeMs", DEFAULTS.backpressureAgeMs),
    redisTimeoutMs: int("redisTimeoutMs", DEFAULTS.redisTimeoutMs),
    maxStreams: int("maxStreams", DEFAULTS.maxStreams),
    worker: typeof flags.worker === "boolean" ? flags.worker : undefined,
    migrate: typeof flags.migrate === "boolean" ? flags.migrate : undefined,
  });
  const port = int("port", DEFAULTS.port);
  if (port < 0 || port > 65535) throw new ConfigError(`PORT=${port} is outside 0-65535`);
  const userTokenTtlS = int("userTokenTtlS", DEFAULTS.userTokenTtlS);
  positiveInt(ENV_NAMES.userTokenTtlS, userTokenTtlS);
  return {
    ...base,
    host: pick("host") ?? DEFAULTS.host,
    port,
    apiToken: pick("apiToken"),
    tokenSecret: pick("tokenSecret"),
    userTokenTtlS,
  };
}

function positiveInt(name: string, value: number): void {
  if (!Number.isInteger(value) || value <= 0) {
    throw new ConfigError(`${name} must be a positive whole number, got ${value}`);
  }
}
