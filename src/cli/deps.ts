// Messages a person can act on when Redis or PostgreSQL is missing or misconfigured: which one, the URL
// tried (without its password), what went wrong, and the fix. Shared by serve, worker, migrate, doctor.

export type Dependency = "PostgreSQL" | "Redis";

/** A dependency could not be used; the message is complete (main prints it after "readstate <command>: "). */
export class DependencyError extends Error {
  override name = "DependencyError";
  constructor(
    readonly dependency: Dependency,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Passwords stay out of every message. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString().replace(/\/$/, "");
  } catch {
    return url.replace(/:\/\/([^:@/]*):[^@/]*@/, "://$1:***@");
  }
}

interface ErrorLike {
  message?: string;
  code?: string;
  errors?: unknown[];
  cause?: unknown;
}

/** The error's own words; Node's AggregateError (IPv4 and IPv6 both refused) has an empty message. */
export function reason(err: unknown): string {
  const e = (err ?? {}) as ErrorLike;
  if (!e.message && Array.isArray(e.errors) && e.errors.length > 0) return reason(e.errors[0]);
  return e.message || e.code || String(err);
}

function codeOf(err: unknown): string | undefined {
  const e = (err ?? {}) as ErrorLike;
  if (e.code) return e.code;
  if (Array.isArray(e.errors) && e.errors.length > 0) return codeOf(e.errors[0]);
  return undefined;
}

const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ECONNRESET",
  "EPIPE",
]);
const UNRESOLVED = new Set(["ENOTFOUND", "EAI_AGAIN"]);

const VARIABLE: Record<Dependency, string> = { PostgreSQL: "DATABASE_URL", Redis: "REDIS_URL" };

/** What `npm start` would have done, told only where it applies (serve: the command npm start runs). */
function localHint(dependency: Dependency, command: string): string {
  if (command !== "serve") return "";
  return dependency === "PostgreSQL"
    ? "; `npm start` starts an embedded one when nothing runs there"
    : "; `npm start` starts redis-server from the PATH when nothing runs there";
}

/** The one-line message and fix for a failure to use `dependency` at `url`. */
export function explain(command: string, dependency: Dependency, url: string, err: unknown): string {
  const { problem, fix } = explainParts(command, dependency, url, err);
  return `${problem}. ${fix}.`;
}

/** The problem (which dependency, the URL, what went wrong) and the fix, apart (doctor shows both). */
export function explainParts(
  command: string,
  dependency: Dependency,
  url: string,
  err: unknown,
): { problem: string; fix: string } {
  const where = `${dependency} at ${redactUrl(url)}`;
  const why = reason(err);
  const code = codeOf(err) ?? "";
  const variable = VARIABLE[dependency];
  const text = why.toLowerCase();
  if (
    UNREACHABLE.has(code) ||
    text.includes("timeout") ||
    text.includes("timed out") ||
    text.includes("connection is closed")
  ) {
    return {
      problem: `cannot reach ${where} (${why})`,
      fix: `Start ${dependency} or set ${variable}${localHint(dependency, command)}`,
    };
  }
  if (UNRESOLVED.has(code)) {
    return {
      problem: `cannot resolve the host of ${where} (${why})`,
      fix: `Check the host name in ${variable}`,
    };
  }
  if (code === "28P01" || code === "28000" || /noauth|wrongpass|invalid password|authentication/.test(text)) {
    return {
      problem: `${where} refused the login (${why})`,
      fix: `Check the user and password in ${variable}${dependency === "Redis" ? " (redis://user:password@host:port)" : ""}`,
    };
  }
  if (code === "3D000") {
    const database = safePath(url);
    return {
      problem: `${where}: the database does not exist (${why})`,
      fix: `Create it (createdb ${database}) or name an existing one in ${variable}`,
    };
  }
  if (code === "42501") {
    return {
      problem: `${where}: permission denied (${why})`,
      fix: `Let the user of ${variable} create the schema (GRANT CREATE ON DATABASE), or run \`readstate migrate\` as its owner first`,
    };
  }
  return {
    problem: `${where}: ${why.replace(/\.$/, "")}`,
    fix: "`readstate doctor` checks the settings readstate needs, each with its fix",
  };
}

function safePath(url: string): string {
  try {
    return new URL(url).pathname.replace(/^\//, "") || "postgres";
  } catch {
    return "<name>";
  }
}

/**
 * Which dependency an error from starting the engine came from: Redis's are reported as
 * "cannot reach Redis …" (or carry Redis's reply), PostgreSQL's carry a SQLSTATE or a socket error.
 */
export function dependencyOf(err: unknown): Dependency | undefined {
  const e = (err ?? {}) as ErrorLike;
  const message = e.message ?? "";
  if (/^cannot reach Redis/.test(message) || /maxmemory-policy/.test(message)) return "Redis";
  if (/^(NOAUTH|WRONGPASS|NOPERM)/.test(message)) return "Redis";
  const code = codeOf(err) ?? "";
  if (/^[0-9A-Z]{5}$/.test(code) || UNREACHABLE.has(code) || UNRESOLVED.has(code)) return "PostgreSQL";
  if ((err as { severity?: string })?.severity !== undefined) return "PostgreSQL";
  return undefined;
}

/**
 * Turns a failure to start the engine into a DependencyError with the fix, or returns it unchanged
 * when it is not about reaching or using Redis or PostgreSQL.
 */
export function explainStartError(
  command: string,
  err: unknown,
  urls: { redisUrl: string; databaseUrl: string },
): unknown {
  const dependency = dependencyOf(err);
  if (!dependency) return err;
  // The eviction-policy refusal already says what to do.
  if (/maxmemory-policy/.test((err as ErrorLike).message ?? "")) return err;
  const cause = dependency === "Redis" ? ((err as ErrorLike).cause ?? err) : err;
  const url = dependency === "Redis" ? urls.redisUrl : urls.databaseUrl;
  return new DependencyError(dependency, explain(command, dependency, url, cause), { cause: err });
}
