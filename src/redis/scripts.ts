// Registers each Lua script once per connection (ioredis defineCommand: EVALSHA, falling back to
// EVAL after a Redis restart).
//
// _lib.lua is prepended to every script (and _threads.lua to those that touch threads). An
// operation's file (join.lua, …) defines OPS.<name>; its
// script is the library, that file and a call of it. apply.lua runs many operations in one call,
// so it carries every operation's file.
//
// Every script starts with a Redis 7 shebang, which must be its first line, before the library.
// The flags decide what happens when Redis is at maxmemory (noeviction, the only accepted policy):
// - none (the writes): Redis refuses the whole call before it starts (OOM error): nothing applied.
//   Without a shebang Redis would run the script and refuse only its first write that may grow
//   memory, and only if nothing was written yet (later writes are let through, so a script is never
//   stopped half-way); the flag makes the refusal explicit and whole.
// - no-writes (the reads): they still answer at maxmemory.
// - allow-oom (the worker's claim and clear, and its stats): they write a few small fields (lease,
//   claim time) or delete, and the backlog must keep draining to PostgreSQL while Redis is full.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster, Redis } from "ioredis";

const SCRIPTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "scripts");

/** Operations: name → number of KEYS (the channel's 13; writes take the partition's dirty index as the 14th). */
export const OPERATIONS = {
  join: 14,
  leave: 14,
  post: 14,
  reply: 14,
  mark_read: 14,
  mark_unread: 14,
  mute: 14,
  delete_message: 14,
  delete_channel: 14,
  follow: 14,
  unfollow: 14,
  thread_read: 14,
  thread_unread: 14,
  member_state: 13,
  channel_info: 13,
  receipts: 13,
  thread_state: 13,
  thread_info: 13,
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
  load_channel: 25,
  load_abort: 1,
  merge_user_channels: 1,
  claim: -1,
  clear: -1,
  record_flush: 1,
  /** Undoes a post answered 503 that Redis may have applied (store.ts); 14 keys as a write's. */
  retract_post: 14,
} as const;

/** The shebang flags of the scripts that have any (see the top of this file). */
const FLAGS: Partial<Record<ScriptName, string>> = {
  apply_reads: "no-writes",
  member_states: "no-writes",
  claim: "allow-oom",
  clear: "allow-oom",
  record_flush: "allow-oom",
  load_abort: "allow-oom",
  ...Object.fromEntries([...READ_ONLY_OPERATIONS].map((name) => [name, "no-writes"])),
};

export type ScriptName = OperationName | keyof typeof SCRIPTS;

/**
 * Scripts that also get _threads.lua: a script runs its whole library on every call (defining each
 * function anew), and the hot channel operations skip the thread helpers.
 */
const THREAD_SCRIPTS: ReadonlySet<ScriptName> = new Set([
  "reply",
  "leave",
  "follow",
  "unfollow",
  "thread_read",
  "thread_unread",
  "thread_state",
  "thread_info",
  "receipts",
  "apply",
  "apply_reads",
  "member_states",
  "claim",
]);

/** Commands of the scripts called with their key count first. */
export const DYNAMIC_KEY_SCRIPTS = Object.entries(SCRIPTS)
  .filter(([, keys]) => keys < 0)
  .map(([name]) => `rs_${name}`);

type ScriptReply = unknown;
/** Registered scripts, called as `client.rs_<name>(...keys, ...args)` (or with the key count first). */
export type ScriptClient = {
  [K in ScriptName as `rs_${K}`]: (...args: (string | number)[]) => Promise<ScriptReply>;
};

export function defineScripts(client: Redis | Cluster): void {
  const read = (name: string) => readFileSync(join(SCRIPTS_DIR, `${name}.lua`), "utf8");
  const lib = read("_lib");
  const threads = read("_threads");
  const operations = Object.keys(OPERATIONS).map(read).join("\n");
  const head = (name: ScriptName) => {
    const flags = FLAGS[name];
    return `${flags ? `#!lua flags=${flags}` : "#!lua"}\n${lib}${THREAD_SCRIPTS.has(name) ? `\n${threads}` : ""}`;
  };
  for (const [name, keys] of Object.entries(OPERATIONS)) {
    client.defineCommand(`rs_${name}`, {
      lua: `${head(name as OperationName)}\n${read(name)}\nreturn run_single(OPS.${name})\n`,
      numberOfKeys: keys,
    });
  }
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    const file = name === "apply_reads" ? "apply" : name;
    const body =
      file === "apply"
        ? `${operations}\n${read(file)}`
        : file === "retract_post"
          ? `${read("delete_message")}\n${read(file)}\nreturn run_single(OPS.retract_post)\n`
          : read(file);
    client.defineCommand(`rs_${name}`, {
      lua: `${head(name as ScriptName)}\n${body}`,
      ...(keys >= 0 ? { numberOfKeys: keys } : {}),
    });
  }
}
