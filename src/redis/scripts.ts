// Registers each Lua script once per connection (ioredis defineCommand: EVALSHA, falling back to
// EVAL after a Redis restart).
//
// _lib.lua is prepended to every script. An operation's file (join.lua, …) defines OPS.<name>; its
// script is the library, that file and a call of it. apply.lua runs many operations in one call,
// so it carries every operation's file.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster, Redis } from "ioredis";

const SCRIPTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "scripts");

/** Operations: name → number of KEYS (writes take the partition's dirty index as the 12th). */
export const OPERATIONS = {
  join: 12,
  leave: 12,
  post: 12,
  mark_read: 12,
  mark_unread: 12,
  member_state: 11,
  channel_info: 11,
  receipts: 11,
  delete_channel: 12,
} as const;

export type OperationName = keyof typeof OPERATIONS;

/** Scripts that are not single operations: name → number of KEYS (-1: given with each call). */
const SCRIPTS = {
  apply: -1,
  member_states: -1,
  load_begin: 2,
  load_channel: 20,
  load_abort: 1,
  merge_user_channels: 1,
  claim: -1,
  clear: -1,
} as const;

export type ScriptName = OperationName | keyof typeof SCRIPTS;

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
  const operations = Object.keys(OPERATIONS).map(read).join("\n");
  for (const [name, keys] of Object.entries(OPERATIONS)) {
    client.defineCommand(`rs_${name}`, {
      lua: `${lib}\n${read(name)}\nreturn run_single(OPS.${name})\n`,
      numberOfKeys: keys,
    });
  }
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    const body = name === "apply" ? `${operations}\n${read(name)}` : read(name);
    client.defineCommand(`rs_${name}`, {
      lua: `${lib}\n${body}`,
      ...(keys >= 0 ? { numberOfKeys: keys } : {}),
    });
  }
}
