// `readstate doctor`: checks the deployment against what readstate needs, each check with a verdict
// and the fix. Exits 1 when a check fails; warnings (durability advice) do not fail it.
import { Redis } from "ioredis";
import { resolveServerConfig } from "../config.js";
import { schemaStatus } from "../postgres/migrate.js";
import { createPool } from "../postgres/store.js";
import { evictionRisk } from "../redis/connection.js";
import { explainParts, redactUrl } from "./deps.js";
import {
  CONNECTION_FLAGS,
  configFlags,
  type FlagSpecs,
  HELP_FLAG,
  parseFlags,
  renderHelp,
} from "./options.js";

type Verdict = "ok" | "warn" | "fail";

export interface Check {
  check: string;
  verdict: Verdict;
  detail: string;
  fix?: string;
}

/** PostgreSQL 13 is the oldest release its community still supported when readstate was written. */
const MIN_POSTGRES_VERSION_NUM = 130000;

const FLAGS: FlagSpecs = {
  ...CONNECTION_FLAGS,
  json: { type: "boolean", description: "print the checks as JSON" },
  ...HELP_FLAG,
};

export const doctor = {
  name: "doctor",
  summary: "check Redis and PostgreSQL settings, each with a verdict and the fix",
  help: renderHelp(
    "readstate doctor [options]",
    "Checks: Redis reachable; maxmemory-policy (noeviction only: allkeys-* would evict unflushed state,\n" +
      "volatile-* single keys of a channel); AOF (appendonly yes, appendfsync everysec advised); PostgreSQL reachable and its version;\n" +
      "the schema migrated. Exits 1 if any check fails.",
    FLAGS,
  ),
  async run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    const values = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(doctor.help);
      return 0;
    }
    const config = resolveServerConfig(configFlags(values, FLAGS), env);
    const nodes = config.redisUrl
      .split(",")
      .map((node) => node.trim())
      .filter(Boolean);
    const checks: Check[] = [];
    for (const node of nodes)
      checks.push(...(await checkRedis(node.includes("://") ? node : `redis://${node}`)));
    checks.push(...(await checkPostgres(config.databaseUrl, config.schema)));

    if (values.json) process.stdout.write(`${JSON.stringify({ checks }, null, 2)}\n`);
    else process.stdout.write(formatChecks(checks));
    return checks.some((check) => check.verdict === "fail") ? 1 : 0;
  },
};

export async function checkRedis(url: string): Promise<Check[]> {
  const where = redactUrl(url);
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 3000,
    commandTimeout: 3000, // a hung Redis fails the check instead of hanging doctor
    retryStrategy: () => null,
  });
  let socketError: Error | undefined;
  redis.on("error", (err: Error) => {
    socketError ??= err; // reported through the failed connect below
  });
  try {
    await redis.connect().catch((err: unknown) => {
      throw socketError ?? err;
    });
    const info = await redis.info("server");
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "unknown";
    const checks: Check[] = [
      { check: "redis", verdict: "ok", detail: `reachable at ${where} (Redis ${version})` },
    ];
    const config = async (name: string) => ((await redis.config("GET", name)) as string[])[1] ?? "";
    checks.push(evictionVerdict(where, await config("maxmemory-policy")));
    checks.push(aofVerdict(where, await config("appendonly"), await config("appendfsync")));
    return checks;
  } catch (err) {
    return [
      {
        check: "redis",
        verdict: "fail",
        detail: explainParts("doctor", "Redis", url, err).problem,
        fix: `${explainParts("doctor", "Redis", url, err).fix} (CONFIG must be allowed for these checks)`,
      },
    ];
  } finally {
    redis.disconnect();
  }
}

export function evictionVerdict(where: string, policy: string): Check {
  const check = "redis maxmemory-policy";
  if (policy === "noeviction") return { check, verdict: "ok", detail: `${where}: noeviction` };
  return {
    check,
    verdict: "fail",
    detail: `${where}: ${policy || "unknown"}: ${evictionRisk(policy)}; serve and worker refuse to start`,
    fix: "CONFIG SET maxmemory-policy noeviction (and maxmemory-policy noeviction in redis.conf)",
  };
}

export function aofVerdict(where: string, appendonly: string, appendfsync: string): Check {
  const check = "redis persistence";
  if (appendonly !== "yes") {
    return {
      check,
      verdict: "warn",
      detail: `${where}: appendonly ${appendonly || "unknown"}: a Redis restart loses up to one flush interval of writes`,
      fix: "CONFIG SET appendonly yes; CONFIG SET appendfsync everysec (and the same in redis.conf)",
    };
  }
  if (appendfsync === "everysec")
    return { check, verdict: "ok", detail: `${where}: appendonly yes, appendfsync everysec` };
  if (appendfsync === "always") {
    return {
      check,
      verdict: "ok",
      detail: `${where}: appendonly yes, appendfsync always (safest, slowest: every write waits for fsync)`,
    };
  }
  return {
    check,
    verdict: "warn",
    detail: `${where}: appendfsync ${appendfsync}: the OS decides when the AOF reaches disk`,
    fix: "CONFIG SET appendfsync everysec (and in redis.conf): at most ~1 s of writes at risk",
  };
}

async function checkPostgres(databaseUrl: string, schema: string): Promise<Check[]> {
  const where = redactUrl(databaseUrl);
  const pool = createPool(databaseUrl, 1);
  pool.on("error", () => {}); // an idle client's error must not crash the check
  try {
    const { rows } = await pool.query<{ version: string; num: string }>(
      "SELECT current_setting('server_version') AS version, current_setting('server_version_num') AS num",
    );
    const version = rows[0]?.version ?? "unknown";
    const checks: Check[] = [];
    if (Number(rows[0]?.num ?? 0) >= MIN_POSTGRES_VERSION_NUM) {
      checks.push({
        check: "postgres",
        verdict: "ok",
        detail: `reachable at ${where} (PostgreSQL ${version})`,
      });
    } else {
      checks.push({
        check: "postgres",
        verdict: "fail",
        detail: `PostgreSQL ${version} at ${where} is older than 13`,
        fix: "upgrade PostgreSQL to 13 or newer",
      });
    }
    const status = await schemaStatus(pool, schema);
    checks.push(
      status.ok
        ? { check: "postgres schema", verdict: "ok", detail: `schema "${schema}" has every migration` }
        : {
            check: "postgres schema",
            verdict: "fail",
            detail: status.reason ?? `schema "${schema}" is not ready`,
            fix: `readstate migrate --schema ${schema} (serve and worker also migrate at start)`,
          },
    );
    return checks;
  } catch (err) {
    return [
      {
        check: "postgres",
        verdict: "fail",
        detail: explainParts("doctor", "PostgreSQL", databaseUrl, err).problem,
        fix: explainParts("doctor", "PostgreSQL", databaseUrl, err).fix,
      },
    ];
  } finally {
    await pool.end().catch(() => {});
  }
}

export function formatChecks(checks: Check[]): string {
  const label: Record<Verdict, string> = { ok: "ok  ", warn: "WARN", fail: "FAIL" };
  const width = Math.max(...checks.map((check) => check.check.length)) + 2;
  const lines = checks.map((check) => {
    const line = `${label[check.verdict]}  ${check.check.padEnd(width)}${check.detail}`;
    return check.fix ? `${line}\n      ${"".padEnd(width)}fix: ${check.fix}` : line;
  });
  const failed = checks.filter((check) => check.verdict === "fail").length;
  const warned = checks.filter((check) => check.verdict === "warn").length;
  return `${lines.join("\n")}\n\n${failed} failed, ${warned} warnings, ${checks.length - failed - warned} ok\n`;
}
