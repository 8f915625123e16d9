// The Lua code, loaded into Redis once as a function library (FUNCTION LOAD) and called with FCALL.
//
// _lib.lua and _threads.lua hold the shared helpers; an operation's file (join.lua, …) defines
// OPS.<name>; apply.lua runs many operations in one call. The library defines all of it once, when
// loaded; each script (an operation, apply, claim, …) is a function of it. As EVALSHA scripts they
// ran the whole library again on every call (measured in the commit that made this change).
//
// Each function's flags decide what happens when Redis is at maxmemory (noeviction, the only
// accepted policy):
// - none (the writes): Redis refuses the whole call before it starts (OOM error): nothing applied.
//   Without that refusal Redis would run it and refuse only its first write that may grow memory,
//   and only if nothing was written yet (later writes are let through, so a call is never stopped
//   half-way); the refusal is explicit and whole.
// - no-writes (the reads): they still answer at maxmemory.
// - allow-oom (the worker's claim, clear and cool, and its stats): they write a few small fields
//   (lease, claim time, a cooling entry), delete or expire, and the backlog must keep draining to
//   PostgreSQL while Redis is full.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Cluster, type Redis } from "ioredis";

const SCRIPTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "scripts");

/** Operations: name → number of KEYS (the channel's base key; writes take the partition's dirty index second). */
export const OPERATIONS = {
  join: 2,
  leave: 2,
  post: 2,
  reply: 2,
  mark_read: 2,
  mark_unread: 2,
  mute: 2,
  delete_message: 2,
  delete_channel: 2,
  follow: 2,
  unfollow: 2,
  thread_read: 2,
  thread_unread: 2,
  member_state: 1,
  channel_info: 1,
  receipts: 1,
  thread_state: 1,
  thread_info: 1,
} as const;

export type OperationName = keyof typeof OPERATIONS;

/** Operations that change nothing: their scripts still run when Redis is at maxmemory. */
export const READ_ONLY_OPERATIONS: ReadonlySet<OperationName> = new Set([
  "member_state",
  "channel_info",
  "receipts",
  "thread_state",
  "thread_info",
]);

/** Scripts that are not single operations: name → number of KEYS (-1: given with each call). */
const SCRIPTS = {
  apply: -1,
  /** apply.lua for a call of read-only operations only: it runs at maxmemory too. */
  apply_reads: -1,
  member_states: -1,
  load_begin: 2,
  load_channel: 13,
  load_abort: 1,
  merge_user_channels: 1,
  claim: -1,
  clear: -1,
  /** Expires the cache of channels clean since a flush (after a while: clear.lua, _lib.lua mark_dirty). */
  cool: -1,
  record_flush: 1,
  /** Undoes a post answered 503 that Redis may have applied (store.ts); its keys are a write's. */
  retract_post: 2,
} as const;

/** The shebang flags of the scripts that have any (see the top of this file). */
const FLAGS: Partial<Record<ScriptName, string>> = {
  apply_reads: "no-writes",
  member_states: "no-writes",
  claim: "allow-oom",
  clear: "allow-oom",
  cool: "allow-oom",
  record_flush: "allow-oom",
  load_abort: "allow-oom",
  ...Object.fromEntries([...READ_ONLY_OPERATIONS].map((name) => [name, "no-writes"])),
};

export type ScriptName = OperationName | keyof typeof SCRIPTS;

type ScriptReply = unknown;
/** Registered scripts, called as `client.rs_<name>(...keys, ...args)` (or with the key count first). */
export type ScriptClient = {
  [K in ScriptName as `rs_${K}`]: (...args: (string | number)[]) => Promise<ScriptReply>;
};

/** The function library: its text, and each script's function name and key count. */
export interface ScriptLibrary {
  name: string;
  code: string;
  functions: { script: ScriptName; fn: string; keys: number; flags: string | undefined }[];
}

/**
 * Builds the library once per process. Its name and its functions' names carry a hash of its text:
 * two versions of readstate on one Redis (a rolling upgrade) each call their own.
 */
export function buildLibrary(): ScriptLibrary {
  const read = (name: string) => readFileSync(join(SCRIPTS_DIR, `${name}.lua`), "utf8");
  const bodies = new Map<ScriptName, string>();
  for (const name of Object.keys(OPERATIONS) as OperationName[]) {
    bodies.set(name, `return run_single(OPS.${name})`);
  }
  for (const name of Object.keys(SCRIPTS) as (keyof typeof SCRIPTS)[]) {
    const file = name === "apply_reads" ? "apply" : name;
    bodies.set(name, file === "retract_post" ? "return run_single(OPS.retract_post)" : read(file));
  }
  // Every operation's OPS entry (apply runs any of them), then retract_post's, defined once at load.
  const operations = [...Object.keys(OPERATIONS), "retract_post"].map(read).join("\n");
  const source = [read("_lib"), read("_threads"), operations].join("\n");
  const hash = createHash("sha1")
    .update(source)
    .update(JSON.stringify([...bodies]))
    .digest("hex")
    .slice(0, 12);
  const functions = [...bodies.keys()].map((script) => ({
    script,
    fn: `rs_${hash}_${script}`,
    keys: { ...OPERATIONS, ...SCRIPTS }[script],
    flags: FLAGS[script],
  }));
  const registrations = functions.map(({ script, fn, flags }) => {
    const flagList = flags ? `{ '${flags}' }` : "{}";
    // A function's state outlives the call, unlike a script's: the call's keys, arguments and clock
    // are set anew on entry (_lib.lua reads KEYS, ARGV and script_now).
    return (
      `redis.register_function{ function_name = '${fn}', flags = ${flagList}, callback = function(keys, args)\n` +
      `KEYS, ARGV, script_now = keys, args, nil\n${bodies.get(script)}\nend }`
    );
  });
  const name = `readstate_${hash}`;
  const code = [`#!lua name=${name}`, "local KEYS, ARGV", source, ...registrations].join("\n");
  return { name, code, functions };
}

let library: ScriptLibrary | undefined;

function theLibrary(): ScriptLibrary {
  library ??= buildLibrary();
  return library;
}

/**
 * Gives the client `rs_<name>` methods that FCALL the library's functions, loading the library
 * into Redis first when Redis does not have it (started empty, restarted without persistence, a
 * node added to the cluster). Its definitions then cost nothing per call: a script (EVALSHA) runs
 * the whole library again on every call.
 */
export function defineScripts(client: Redis | Cluster): void {
  const lib = theLibrary();
  let loading: Promise<void> | undefined;
  const reload = () => {
    loading ??= loadLibrary(client, lib).finally(() => {
      loading = undefined;
    });
    return loading;
  };
  const target = client as unknown as Record<string, (...args: (string | number)[]) => Promise<unknown>>;
  for (const { script, fn, keys } of lib.functions) {
    target[`rs_${script}`] = async (...args: (string | number)[]) => {
      const command = keys >= 0 ? [fn, keys, ...args] : [fn, ...args];
      try {
        return await client.fcall(...(command as [string, number, ...(string | number)[]]));
      } catch (err) {
        // Nothing ran: the function was missing. Load it and call once more.
        if (!isMissingFunction(err)) throw err;
        await reload();
        return client.fcall(...(command as [string, number, ...(string | number)[]]));
      }
    };
  }
}

/** Loads (or reloads) the library on the server, on every master of a cluster. */
export async function loadLibrary(client: Redis | Cluster, lib: ScriptLibrary = theLibrary()): Promise<void> {
  const nodes = client instanceof Cluster ? client.nodes("master") : [client];
  await Promise.all(nodes.map((node) => node.function("LOAD", "REPLACE", lib.code)));
}

function isMissingFunction(err: unknown): boolean {
  return err instanceof Error && /Function not found/i.test(err.message);
}
