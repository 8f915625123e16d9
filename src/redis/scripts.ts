// Registers each Lua script once per connection (ioredis defineCommand: EVALSHA, falling back to
// EVAL after a Redis restart). _lib.lua is prepended to every script.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Cluster, Redis } from "ioredis";

const SCRIPTS_DIR = join(dirname(fileURLToPath(import.meta.url)), "scripts");

/** Script name → number of KEYS (-1: given with each call). */
const SCRIPTS = {
  join: 12,
  leave: 12,
  post: 12,
  mark_read: 12,
  mark_unread: 12,
  member_state: 11,
  member_states: -1,
  channel_info: 11,
  receipts: 11,
  delete_channel: 12,
  load_channel: 19,
  claim: -1,
  clear: -1,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

type ScriptReply = unknown;
/** Registered scripts, called as `client.rs_<name>(...keys, ...args)` (or with the key count first). */
export type ScriptClient = {
  [K in ScriptName as `rs_${K}`]: (...args: (string | number)[]) => Promise<ScriptReply>;
};

export function defineScripts(client: Redis | Cluster): void {
  const lib = readFileSync(join(SCRIPTS_DIR, "_lib.lua"), "utf8");
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    const body = readFileSync(join(SCRIPTS_DIR, `${name}.lua`), "utf8");
    client.defineCommand(`rs_${name}`, {
      lua: `${lib}\n${body}`,
      ...(keys >= 0 ? { numberOfKeys: keys } : {}),
    });
  }
}
