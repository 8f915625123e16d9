// Registers pattern D's scripts once per connection (ioredis defineCommand: EVALSHA, falling back to
// EVAL), each with _lib.lua in front. Script errors come back as the codes below.
import { readFileSync } from "node:fs";
import type { Redis } from "ioredis";
import { ReadStateError } from "../../../src/core/errors.js";
import { CHANNEL_KEY_COUNT } from "./keys.js";

/** Script → number of KEYS (-1: given with each call). */
const SCRIPTS = {
  post: CHANNEL_KEY_COUNT + 1,
  mark_read: CHANNEL_KEY_COUNT + 1,
  join: CHANNEL_KEY_COUNT + 2,
  leave: CHANNEL_KEY_COUNT + 2,
  member_states: -1,
  claim: CHANNEL_KEY_COUNT,
} as const;

/** Reads still answer when Redis is at maxmemory; the flush must drain then too. */
const FLAGS: Partial<Record<keyof typeof SCRIPTS, string>> = {
  member_states: "no-writes",
  claim: "allow-oom",
};

export type AdrScriptClient = {
  [K in keyof typeof SCRIPTS as `adr_${K}`]: (...args: (string | number)[]) => Promise<unknown>;
};

export function defineAdrScripts(client: Redis): Redis & AdrScriptClient {
  const read = (name: string) => readFileSync(new URL(`./scripts/${name}.lua`, import.meta.url), "utf8");
  const lib = read("_lib");
  for (const [name, keys] of Object.entries(SCRIPTS)) {
    const flags = FLAGS[name as keyof typeof SCRIPTS];
    client.defineCommand(`adr_${name}`, {
      lua: `${flags ? `#!lua flags=${flags}` : "#!lua"}\n${lib}\n${read(name)}`,
      ...(keys >= 0 ? { numberOfKeys: keys } : {}),
    });
  }
  return client as Redis & AdrScriptClient;
}

/** D cannot answer this with counters alone (see mark_read.lua); readstate and A can. */
export class UnsupportedByCounters extends Error {
  override name = "UnsupportedByCounters";
  readonly code = "unsupported_by_counters";
}

/** Script error replies → the contract's errors, as readstate and A raise them. */
export function translateScriptError(
  err: unknown,
  channelId: string,
  userId: string,
  messageId = "",
): unknown {
  const message = err instanceof Error ? err.message : "";
  if (message.includes("RS_NOT_A_MEMBER")) {
    return new ReadStateError("not_a_member", `${userId} is not a member of ${channelId}`);
  }
  if (message.includes("RS_UNKNOWN_MESSAGE")) {
    return new ReadStateError("unknown_message", `message ${messageId} was never posted in ${channelId}`);
  }
  if (message.includes("RS_UNSUPPORTED")) {
    return new UnsupportedByCounters(
      `pattern D keeps counters only: cannot read ${channelId} up to an older message (${messageId})`,
    );
  }
  return err;
}
