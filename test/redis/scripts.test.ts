// Each Lua script called directly, on the real Redis, with keys from the key module.
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/redis/connection.js";
import { CACHED_KEY_COUNT, CHANNEL_KEY_NAMES, Keys } from "../../src/redis/keys.js";
import { OPERATIONS, READ_ONLY_OPERATIONS } from "../../src/redis/scripts.js";
import { testSpace, wipeRedis } from "../helpers/env.js";
import { commandOf, monitorWhile } from "../helpers/monitor.js";

const space = testSpace("scripts");
const keys = new Keys(space.keyPrefix);
let redis: RedisClient;

beforeAll(async () => {
  redis = connectRedis(space.redisUrl);
  await redis.connect();
});

afterAll(async () => {
  await wipeRedis(space);
  redis.disconnect();
});

type KeyName = (typeof CHANNEL_KEY_NAMES)[number];

/** One of the channel's keys by its name in keys.ts: no test depends on a key's position. */
function key(channelId: string, name: KeyName): string {
  return keys.channel(channelId)[CHANNEL_KEY_NAMES.indexOf(name)] as string;
}

/** The channel's base key plus the dirty index, as the writing scripts take them. */
function writeKeys(channelId: string): string[] {
  return [keys.channelBase(channelId), keys.dirty(keys.partitionOf(channelId))];
}

/** 16-digit seq, as the indexes store it. */
function pad(seq: number | string): string {
  return String(seq).padStart(16, "0");
}

/** The operations, called as the store calls them (no deadline). */
const ops = {
  join: (c: string, u: string) => redis.rs_join(...writeKeys(c), "", c, u) as Promise<unknown[]>,
  leave: (c: string, u: string) => redis.rs_leave(...writeKeys(c), "", c, u),
  post: (c: string, m: string, sender: string, mentionAll: "0" | "1" = "0", mentions = "") =>
    redis.rs_post(...writeKeys(c), "", c, m, sender, mentionAll, mentions) as Promise<unknown[]>,
  reply: (c: string, m: string, sender: string, thread: string, mentionAll: "0" | "1" = "0", mentions = "") =>
    redis.rs_reply(...writeKeys(c), "", c, m, sender, mentionAll, mentions, thread) as Promise<unknown[]>,
  markRead: (c: string, u: string, m = "") =>
    redis.rs_mark_read(...writeKeys(c), "", c, u, m) as Promise<unknown[]>,
  markUnread: (c: string, u: string, m: string) =>
    redis.rs_mark_unread(...writeKeys(c), "", c, u, m) as Promise<unknown[]>,
  mute: (c: string, u: string, muted: "0" | "1") =>
    redis.rs_mute(...writeKeys(c), "", c, u, muted) as Promise<unknown[]>,
  deleteMessage: (c: string, m: string) => redis.rs_delete_message(...writeKeys(c), "", c, m),
  state: (c: string, u: string) => redis.rs_member_state(keys.channelBase(c), "", c, u) as Promise<unknown[]>,
  info: (c: string) => redis.rs_channel_info(keys.channelBase(c), "", c) as Promise<unknown[]>,
  receipts: (c: string, m: string, limit = 100, after = "") =>
    redis.rs_receipts(keys.channelBase(c), "", c, m, limit, after) as Promise<unknown[]>,
  follow: (c: string, t: string, u: string) =>
    redis.rs_follow(...writeKeys(c), "", c, t, u) as Promise<unknown[]>,
  unfollow: (c: string, t: string, u: string) => redis.rs_unfollow(...writeKeys(c), "", c, t, u),
  threadState: (c: string, t: string, u: string) =>
    redis.rs_thread_state(keys.channelBase(c), "", c, t, u) as Promise<unknown[]>,
  threadRead: (c: string, t: string, u: string, m = "") =>
    redis.rs_thread_read(...writeKeys(c), "", c, t, u, m) as Promise<unknown[]>,
  threadUnread: (c: string, t: string, u: string, m: string) =>
    redis.rs_thread_unread(...writeKeys(c), "", c, t, u, m) as Promise<unknown[]>,
  threadInfo: (c: string, t: string) =>
    redis.rs_thread_info(keys.channelBase(c), "", c, t) as Promise<unknown[]>,
  /** member_states.lua's '|'-joined strings, spread into fields as the other scripts answer them. */
  memberStates: async (u: string, channelIds: string[]) => {
    const k = channelIds.map((c) => keys.channelBase(c));
    const reply = (await redis.rs_member_states(k.length, ...k, u, ...channelIds)) as string[];
    const fields: unknown[] = [];
    const numbers = (values: string[], at: number[]) =>
      values.map((v, i) => (at.includes(i) ? Number(v) : v));
    for (let i = 0; i < reply.length; ) {
      const channel = String(reply[i++]).split("|");
      if (channel[0] !== "ok") {
        fields.push(channel[0], 0, 0, 0, 0, "", "", "", 0, 0);
        continue;
      }
      fields.push(...numbers(channel, [1, 2, 3, 4, 8, 9]));
      for (let n = Number(channel[9]); n > 0; n--)
        fields.push(...numbers(String(reply[i++]).split("|"), [1, 2, 3, 4]));
    }
    return fields;
  },
};

/** Loads a channel as the service does: the load lease first, then the install, generation 1. */
async function load(channelId: string, seq = 0, version = 0): Promise<void> {
  const staging = keys.channelStaging(channelId, "t");
  const loader = keys.channelLoader(channelId);
  expect(await redis.rs_load_begin(keys.channel(channelId)[0] as string, loader, "t", 10_000, "1")).toBe(
    "go",
  );
  const installed = await redis.rs_load_channel(
    keys.channelBase(channelId),
    ...staging,
    loader,
    seq,
    "",
    version,
    "0",
    0,
    60_000,
    "t",
    1,
    "1",
    0,
    "0",
    0,
  );
  expect(installed).toBe(1);
}

async function scriptError(run: Promise<unknown>): Promise<string> {
  try {
    await run;
  } catch (err) {
    return (/RS_[A-Z_]+/.exec((err as Error).message) ?? ["?"])[0];
  }
  return "no error";
}

async function version(channelId: string): Promise<string | null> {
  return redis.hget(key(channelId, "meta"), "ver");
}

/**
 * A read time (ms) in a state reply: a thread state answers it as the integer a write just stored,
 * or as the string it reads back (the store takes either).
 */
function readTime(): unknown {
  return expect.toSatisfy((value: unknown) => /^\d{13}$/.test(String(value)), "a read time in ms");
}

/** Commands that change a key. */
const WRITES = new Set([
  "hset",
  "hdel",
  "hincrby",
  "zadd",
  "zrem",
  "zremrangebyscore",
  "del",
  "unlink",
  "rename",
  "persist",
  "pexpireat",
  "set",
  "sadd",
  "srem",
]);

/**
 * The commands a script ran on this test's keys while `run` executed, each as "command keyName"
 * (keyName: the last part of the key, e.g. "meta", "dirty"). The server is shared: only script
 * commands on this test's keys count (TIME, keyless, is left out).
 */
async function scriptCommands(run: () => Promise<unknown>): Promise<string[]> {
  const lines = await monitorWhile(space.redisUrl, run);
  return lines
    .filter((line) => / lua\] /.test(line) && line.includes(`"${space.keyPrefix}:`))
    .map((line) => {
      const firstKey = /\] "[^"]+" "([^"]*)"/.exec(line)?.[1] ?? "";
      return `${commandOf(line)} ${firstKey.slice(firstKey.lastIndexOf(":") + 1)}`;
    });
}

/** The key names `commands` (from scriptCommands) write. */
function keysWritten(commands: string[]): string[] {
  const written = commands.filter((c) => WRITES.has(c.split(" ")[0] as string)).map((c) => c.split(" ")[1]);
  return [...new Set(written)].sort() as string[];
}

describe("the key layout", () => {
  it("gives a script a channel's base key, a write the dirty index second, a load 13 keys", () => {
    expect(CHANNEL_KEY_NAMES).toEqual([
      "meta",
      "cur",
      "lra",
      "msg",
      "seqs",
      "mn",
      "all",
      "alls",
      "mdat",
      "th",
      "ix",
      "dmem",
      "dmsg",
    ]);
    expect(keys.channel("c")).toEqual(CHANNEL_KEY_NAMES.map((name) => keys.channelBase("c") + name));
    expect(writeKeys("c")).toHaveLength(2);
    expect(keys.channelStaging("c", "t")).toHaveLength(CACHED_KEY_COUNT);
    expect(CACHED_KEY_COUNT).toBe(11);
    // load_channel: the channel's base key, its staging keys, its load lease.
    expect([keys.channelBase("c"), ...keys.channelStaging("c", "t"), keys.channelLoader("c")]).toHaveLength(
      13,
    );
    for (const [name, count] of Object.entries(OPERATIONS)) {
      const reads = READ_ONLY_OPERATIONS.has(name as keyof typeof OPERATIONS);
      expect([name, count]).toEqual([name, reads ? 1 : 2]);
    }
  });
});

describe("every channel script refuses a channel that is not loaded", () => {
  const readKeys = (c: string) => [keys.channelBase(c)];
  const cases = [
    ["rs_join", writeKeys, ["c", "u"]],
    ["rs_leave", writeKeys, ["c", "u"]],
    ["rs_post", writeKeys, ["c", "m", "u", "0", ""]],
    ["rs_reply", writeKeys, ["c", "m", "u", "0", "", "root"]],
    ["rs_mark_read", writeKeys, ["c", "u", ""]],
    ["rs_mark_unread", writeKeys, ["c", "u", "m"]],
    ["rs_mute", writeKeys, ["c", "u", "1"]],
    ["rs_delete_message", writeKeys, ["c", "m"]],
    ["rs_delete_channel", writeKeys, ["c"]],
    ["rs_follow", writeKeys, ["c", "t", "u"]],
    ["rs_unfollow", writeKeys, ["c", "t", "u"]],
    ["rs_thread_read", writeKeys, ["c", "t", "u", ""]],
    ["rs_thread_unread", writeKeys, ["c", "t", "u", "m"]],
    ["rs_member_state", readKeys, ["c", "u"]],
    ["rs_channel_info", readKeys, ["c"]],
    ["rs_receipts", readKeys, ["c", "m", 10, ""]],
    ["rs_thread_state", readKeys, ["c", "t", "u"]],
    ["rs_thread_info", readKeys, ["c", "t"]],
  ] as const;

  it("covers every operation, with the key count scripts.ts registers", () => {
    expect(cases.map(([name]) => name).sort()).toEqual(
      Object.keys(OPERATIONS)
        .map((n) => `rs_${n}`)
        .sort(),
    );
    for (const [name, keysOf] of cases) {
      expect([name, keysOf("c").length]).toEqual([
        name,
        OPERATIONS[name.slice(3) as keyof typeof OPERATIONS],
      ]);
    }
  });

  it.each(cases)("%s", async (name, keysOf, args) => {
    const channelId = `missing-${name}`;
    const run = (redis[name] as (...a: (string | number)[]) => Promise<unknown>)(
      ...keysOf(channelId),
      "", // no deadline
      ...args,
    );
    expect(await scriptError(run)).toBe("RS_NOT_LOADED");
    expect(await redis.exists(...keys.channel(channelId))).toBe(0);
    expect(await redis.zscore(keys.dirty(keys.partitionOf(channelId)), channelId)).toBeNull();
  });
});

describe("a clean channel's cache expiry", () => {
  // Keys sharing one expiry time do not vanish together: Redis's active expiry cycle can delete some
  // and leave others for a script to find. Meta, which every script checks, must go first.
  it("never shows a script the channel's meta without the rest", async () => {
    const partial: unknown[] = [];
    for (let round = 0; round < 1000 && partial.length === 0; round++) {
      const c = `expiring-${round}`;
      const loader = keys.channelLoader(c);
      expect(await redis.rs_load_begin(keys.channel(c)[0] as string, loader, "t", 10_000, "0")).toBe("go");
      const staging = keys.channelStaging(c, "t");
      await redis.zadd(staging[CHANNEL_KEY_NAMES.indexOf("cur")] as string, 1, "a", 1, "b");
      // Installed clean with a 1 ms cache ttl: it expires while the loop below reads it.
      await redis.rs_load_channel(
        keys.channelBase(c),
        ...staging,
        loader,
        1,
        "m1",
        5,
        "1",
        0,
        1,
        "t",
        1,
        "1",
        0,
        "0",
        0,
      );
      for (;;) {
        const info = await redis.rs_channel_info(keys.channelBase(c), "", c).catch(() => "gone");
        if (info === "gone") break;
        if ((info as number[])[1] !== 2) partial.push(info);
      }
    }
    expect(partial).toEqual([]);
  });
});

describe("load_begin / load_channel", () => {
  const begin = (c: string, token: string, fence: "1" | "0") =>
    redis.rs_load_begin(keys.channel(c)[0] as string, keys.channelLoader(c), token, 10_000, fence);
  const install = (c: string, staging: string[], token: string, gen: number, fenced: "1" | "0") =>
    redis.rs_load_channel(
      keys.channelBase(c),
      ...staging,
      keys.channelLoader(c),
      5,
      "m5",
      42,
      "1",
      0,
      60_000,
      token,
      gen,
      fenced,
      0,
      "0",
      0,
    );
  const stagingKey = (c: string, token: string, name: KeyName) =>
    keys.channelStaging(c, token)[CHANNEL_KEY_NAMES.indexOf(name)] as string;

  it("installs staged keys only while the loader holds the lease", async () => {
    const c = "load-1";
    expect(await begin(c, "a", "0")).toBe("go");
    // One loader at a time, across every instance.
    expect(await begin(c, "b", "0")).toBe("busy");
    const staging = keys.channelStaging(c, "a");
    await redis.zadd(stagingKey(c, "a", "cur"), 3, "alice");
    expect(await install(c, staging, "a", 7, "1")).toBe(1);
    expect(await redis.zscore(key(c, "cur"), "alice")).toBe("3");
    expect(await redis.hgetall(key(c, "meta"))).toMatchObject({
      seq: "5",
      lmid: "m5",
      ver: "42",
      live: "1",
      gen: "7",
    });
    // Clean state expires with the cache; the lease is given back.
    expect(await redis.pttl(key(c, "meta"))).toBeGreaterThan(0);
    expect(await redis.exists(keys.channelLoader(c))).toBe(0);
    expect(await begin(c, "b", "1")).toBe("loaded");
  });

  it("moves every cached key into place, threads included, and leaves nothing dirty", async () => {
    const c = "load-all";
    expect(await begin(c, "a", "1")).toBe("go");
    const staged = CHANNEL_KEY_NAMES.slice(1, CACHED_KEY_COUNT);
    for (const name of staged) {
      const stagingName = stagingKey(c, "a", name);
      if (["cur", "mn", "all", "alls", "ix"].includes(name)) await redis.zadd(stagingName, 0, `${name}-x`);
      else await redis.hset(stagingName, `${name}-f`, `${name}-v`);
    }
    // Leftovers of an earlier incarnation (also unflushed entries) go first.
    await redis.zadd(key(c, "dmem"), 1, "old");
    await redis.zadd(key(c, "dmsg"), 1, "old");
    await redis.hset(key(c, "th"), "old", "1");
    expect(await install(c, keys.channelStaging(c, "a"), "a", 1, "1")).toBe(1);
    for (const name of staged) {
      const value = ["cur", "mn", "all", "alls", "ix"].includes(name)
        ? await redis.zrange(key(c, name), "0", "-1")
        : await redis.hgetall(key(c, name));
      expect([name, value]).toEqual([
        name,
        ["cur", "mn", "all", "alls", "ix"].includes(name) ? [`${name}-x`] : { [`${name}-f`]: `${name}-v` },
      ]);
      expect(await redis.pttl(key(c, name))).toBeGreaterThan(0);
      expect(await redis.exists(stagingKey(c, "a", name))).toBe(0);
    }
    expect(await redis.exists(key(c, "dmem"), key(c, "dmsg"))).toBe(0);
  });

  it("drops a snapshot whose lease was lost (expired, taken over, or Redis lost its data)", async () => {
    const c = "load-2";
    expect(await begin(c, "a", "0")).toBe("go");
    // Redis loses the lease; another loader takes the channel meanwhile.
    await redis.del(keys.channelLoader(c));
    expect(await begin(c, "b", "0")).toBe("go");
    const late = keys.channelStaging(c, "a");
    await redis.zadd(stagingKey(c, "a", "cur"), 9, "bob");
    await redis.hset(stagingKey(c, "a", "th"), "s|t", 1);
    expect(await install(c, late, "a", 3, "1")).toBe(0);
    expect(await redis.exists(...late)).toBe(0);
    expect(await redis.exists(key(c, "meta"))).toBe(0);
    expect(await install(c, keys.channelStaging(c, "b"), "b", 4, "1")).toBe(1);
    expect(await redis.zscore(key(c, "cur"), "bob")).toBeNull();
    expect(await redis.exists(key(c, "th"))).toBe(0);
  });

  it("releases the lease on abort, only for its holder", async () => {
    const c = "load-3";
    expect(await begin(c, "a", "0")).toBe("go");
    expect(await redis.rs_load_abort(keys.channelLoader(c), "b")).toBe(0);
    expect(await redis.rs_load_abort(keys.channelLoader(c), "a")).toBe(1);
    expect(await begin(c, "b", "0")).toBe("go");
  });

  it("an absent channel loaded for a read takes no generation: writers must load it fenced", async () => {
    const c = "load-absent";
    expect(await begin(c, "a", "0")).toBe("go");
    expect(
      await redis.rs_load_channel(
        keys.channelBase(c),
        ...keys.channelStaging(c, "a"),
        keys.channelLoader(c),
        0,
        "",
        0,
        "0",
        0,
        60_000,
        "a",
        0,
        "0",
        0,
        "0",
        0,
      ),
    ).toBe(1);
    expect(await scriptError(redis.rs_join(...writeKeys(c), "", c, "u1"))).toBe("RS_NOT_FENCED");
    expect(await scriptError(redis.rs_post(...writeKeys(c), "", c, "m1", "u1", "0", ""))).toBe(
      "RS_NOT_FENCED",
    );
    expect(await scriptError(redis.rs_channel_info(keys.channelBase(c), "", c))).toBe("RS_NOT_FOUND");
    // A reply needs a root, which an absent channel does not have: nothing is created.
    expect(await scriptError(ops.reply(c, "r1", "u1", "m0"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.deleteMessage(c, "m0"))).toBe("RS_NOT_FOUND");
    expect(await redis.zscore(keys.dirty(keys.partitionOf(c)), c)).toBeNull();
    // A reader finds it loaded; a writer replaces it with a fenced copy.
    expect(await begin(c, "b", "0")).toBe("loaded");
    expect(await begin(c, "b", "1")).toBe("go");
    expect(await install(c, keys.channelStaging(c, "b"), "b", 1, "1")).toBe(1);
    expect(await redis.hget(key(c, "meta"), "nf")).toBeNull();
    // joined, then the 8 fields of a member state.
    expect(await redis.rs_join(...writeKeys(c), "", c, "u1")).toEqual([1, 5, 5, 0, 0, "m5", "", "", 0]);
  });
});

describe("join / leave", () => {
  it("join puts the cursor at channelSeq, marks dirty and removes the cache expiry", async () => {
    const c = "join-1";
    await load(c, 7, 100);
    const reply = (await redis.rs_join(...writeKeys(c), "", c, "u1")) as unknown[];
    // joined, readSeq, channelSeq, unread, mentions, lastReadMessageId, lastReadAt, firstUnread, muted
    expect(reply).toEqual([1, 7, 7, 0, 0, "", "", "", 0]);
    expect(await redis.zscore(key(c, "dmem"), "u1")).toBe("101");
    expect(await redis.zscore(keys.dirty(keys.partitionOf(c)), c)).not.toBeNull();
    for (const name of CHANNEL_KEY_NAMES.slice(0, CACHED_KEY_COUNT)) {
      // Every cached key that exists lost its expiry (dirty state never expires).
      expect([name, await redis.pttl(key(c, name))]).toEqual([
        name,
        (await redis.exists(key(c, name))) ? -1 : -2,
      ]);
    }
    // Again: unchanged, no new version.
    expect(((await redis.rs_join(...writeKeys(c), "", c, "u1")) as unknown[])[0]).toBe(0);
    expect(await version(c)).toBe("101");
  });

  it("leave removes the member and records a tombstone version", async () => {
    const c = "leave-1";
    await load(c);
    await redis.rs_join(...writeKeys(c), "", c, "u1");
    expect(await redis.rs_leave(...writeKeys(c), "", c, "u1")).toBe(1);
    expect(await redis.zscore(key(c, "cur"), "u1")).toBeNull();
    expect(await redis.hget(key(c, "lra"), "u1")).toBeNull();
    expect(await redis.zscore(key(c, "dmem"), "u1")).toBe("2");
    expect(await scriptError(redis.rs_leave(...writeKeys(c), "", c, "u1"))).toBe("RS_NOT_A_MEMBER");
  });
});

describe("post", () => {
  it("allocates seqs, is idempotent per messageId and moves a member sender's cursor", async () => {
    const c = "post-1";
    await load(c);
    await redis.rs_join(...writeKeys(c), "", c, "alice");
    // created, seq, threadId ('' for a top-level message)
    expect(await redis.rs_post(...writeKeys(c), "", c, "m1", "alice", "0", "bob")).toEqual([1, 1, ""]);
    expect(await redis.rs_post(...writeKeys(c), "", c, "m2", "carol", "1", "")).toEqual([1, 2, ""]);
    expect(await redis.rs_post(...writeKeys(c), "", c, "m1", "alice", "0", "")).toEqual([0, 1, ""]);
    expect(await redis.hmget(key(c, "meta"), "seq", "lmid")).toEqual(["2", "m2"]);
    expect(await redis.zscore(key(c, "cur"), "alice")).toBe("1");
    expect(await redis.hget(key(c, "lra"), "alice")).toMatch(/^\d+\|m1$/);
    expect(await redis.hgetall(key(c, "msg"))).toEqual({ m1: "1", m2: "2" });
    expect(await redis.hgetall(key(c, "seqs"))).toEqual({ 1: "m1", 2: "m2" });
    expect(await redis.zrange(key(c, "mn"), "0", "-1")).toEqual(["bob|0000000000000001"]);
    expect(await redis.zrange(key(c, "all"), "0", "-1")).toEqual(["2"]);
    expect(await redis.zrange(key(c, "alls"), "0", "-1")).toEqual(["carol|0000000000000002"]);
    expect(await redis.zrange(key(c, "dmsg"), "0", "-1", "WITHSCORES")).toEqual(["m1", "2", "m2", "3"]);
    expect(await redis.zrange(key(c, "dmem"), "0", "-1", "WITHSCORES")).toEqual(["alice", "2"]);
    expect(await redis.hgetall(key(c, "mdat"))).toEqual({ m1: "alice|0|bob", m2: "carol|1|" });
    // Top-level posts touch no thread.
    expect(await redis.exists(key(c, "th"), key(c, "ix"))).toBe(0);
  });

  it("costs the same Redis commands in a 10,000-member channel as in a 2-member one", async () => {
    const small = "cost-small";
    const big = "cost-big";
    await load(small);
    await load(big);
    for (const userId of ["a", "b"]) await redis.rs_join(...writeKeys(small), "", small, userId);
    const members: (string | number)[] = [];
    for (let i = 0; i < 10_000; i++) members.push(0, `u${i}`);
    members.push(0, "a", 0, "b");
    await redis.zadd(key(big, "cur"), ...members);

    const commandsOf = (channelId: string, messageId: string) =>
      scriptCommands(() => redis.rs_post(...writeKeys(channelId), "", channelId, messageId, "a", "0", "b"));
    // Warm both (first post marks the channel dirty); compare steady-state posts.
    await commandsOf(small, "warm");
    await commandsOf(big, "warm");
    const smallCommands = await commandsOf(small, "m-cost");
    const bigCommands = await commandsOf(big, "m-cost");
    expect(bigCommands).toEqual(smallCommands);
    // The change feed included: one message for the channel, never one per member.
    expect(smallCommands.filter((c) => c.startsWith("spublish"))).toEqual(["spublish feed"]);
    expect(smallCommands.length).toBeLessThanOrEqual(20);
    console.log(
      `post with one mention, member sender: ${smallCommands.length} commands: ${smallCommands.join(", ")}`,
    );
  });
});

describe("mark_read / mark_unread / member_state", () => {
  it("reads forward only, unreads to seq - 1, and counts mentions above the cursor", async () => {
    const c = "read-1";
    await load(c);
    for (const u of ["a", "b"]) await redis.rs_join(...writeKeys(c), "", c, u);
    await redis.rs_post(...writeKeys(c), "", c, "m1", "a", "0", "b");
    await redis.rs_post(...writeKeys(c), "", c, "m2", "a", "1", "");
    await redis.rs_post(...writeKeys(c), "", c, "m3", "b", "1", "");

    const state = (u: string) => redis.rs_member_state(keys.channelBase(c), "", c, u) as Promise<unknown[]>;
    // b: m1 names b, m2 is @channel, m3 is b's own (and moved b's cursor to 3).
    expect(await state("b")).toEqual([3, 3, 0, 0, "m3", expect.stringMatching(/^\d+$/), "", 0]);
    const unread = (await redis.rs_mark_unread(...writeKeys(c), "", c, "b", "m1")) as unknown[];
    expect(unread).toEqual([0, 3, 3, 2, "", expect.stringMatching(/^\d+$/), "m1", 0]);
    // a: only m3's @channel counts (a sent m1 and m2).
    expect(await state("a")).toEqual([2, 3, 1, 1, "m2", expect.stringMatching(/^\d+$/), "m3", 0]);

    const older = (await redis.rs_mark_read(...writeKeys(c), "", c, "a", "m1")) as unknown[];
    expect(older).toEqual(await state("a"));
    expect(older.slice(0, 3)).toEqual([2, 3, 1]);
    const newest = (await redis.rs_mark_read(...writeKeys(c), "", c, "a", "")) as unknown[];
    expect(newest).toEqual([3, 3, 0, 0, "m3", expect.stringMatching(/^\d+$/), "", 0]);
    expect(Number(newest[5])).toBeGreaterThan(0);
    expect(await scriptError(redis.rs_mark_read(...writeKeys(c), "", c, "a", "nope"))).toBe(
      "RS_UNKNOWN_MESSAGE",
    );
    expect(await scriptError(redis.rs_mark_read(...writeKeys(c), "", c, "zed", ""))).toBe("RS_NOT_A_MEMBER");
    expect(await scriptError(redis.rs_mark_unread(...writeKeys(c), "", c, "a", "nope"))).toBe(
      "RS_UNKNOWN_MESSAGE",
    );
  });

  it("a reply's messageId is unknown to the channel's read and unread", async () => {
    const c = "read-reply";
    await load(c);
    await ops.join(c, "a");
    await ops.post(c, "root", "a");
    await ops.reply(c, "r1", "a", "root");
    expect(await scriptError(ops.markRead(c, "a", "r1"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.markUnread(c, "a", "r1"))).toBe("RS_UNKNOWN_MESSAGE");
  });
});

describe("channel_info / receipts / delete_channel", () => {
  it("summarizes, pages readers by userId, and deletes to a fresh channel", async () => {
    const c = "rcpt-1";
    await load(c);
    expect(await scriptError(redis.rs_channel_info(keys.channelBase(c), "", c))).toBe("RS_NOT_FOUND");
    for (const u of ["d", "b", "a", "c"]) await redis.rs_join(...writeKeys(c), "", c, u);
    await redis.rs_post(...writeKeys(c), "", c, "m1", "d", "0", "");
    await redis.rs_mark_read(...writeKeys(c), "", c, "b", "");
    await redis.rs_mark_read(...writeKeys(c), "", c, "a", "");
    expect(await redis.rs_channel_info(keys.channelBase(c), "", c)).toEqual([1, 4, "m1"]);

    const page1 = await redis.rs_receipts(keys.channelBase(c), "", c, "m1", 2, "");
    expect(page1).toEqual([1, 4, 3, "b", "a", 1, "b", 1]);
    const page2 = await redis.rs_receipts(keys.channelBase(c), "", c, "m1", 2, "b");
    expect(page2).toEqual([1, 4, 3, "", "d", 1]);

    expect(await redis.rs_delete_channel(...writeKeys(c), "", c)).toBe(1);
    expect(await scriptError(redis.rs_channel_info(keys.channelBase(c), "", c))).toBe("RS_NOT_FOUND");
    expect(await scriptError(redis.rs_delete_channel(...writeKeys(c), "", c))).toBe("RS_NOT_FOUND");
    expect(await redis.hmget(key(c, "meta"), "seq", "live", "reset", "ver")).toEqual(["0", "0", "8", "8"]);
    expect(await redis.rs_post(...writeKeys(c), "", c, "m1", "x", "0", "")).toEqual([1, 1, ""]);
  });

  it("delete_channel deletes its threads, mutes and deleted marks", async () => {
    const c = "del-chan-threads";
    await load(c);
    for (const u of ["a", "b"]) await ops.join(c, u);
    await ops.mute(c, "b", "1");
    await ops.post(c, "root", "a");
    await ops.post(c, "gone", "a");
    await ops.deleteMessage(c, "gone");
    await ops.reply(c, "r1", "b", "root", "0", "a");
    expect(await redis.rs_delete_channel(...writeKeys(c), "", c)).toBe(1);
    for (const name of CHANNEL_KEY_NAMES.slice(1))
      expect([name, await redis.exists(key(c, name))]).toEqual([name, 0]);
    expect(await scriptError(ops.threadInfo(c, "root"))).toBe("RS_NOT_FOUND");
    // The channel starts again: a new root of the same name has no thread.
    await ops.join(c, "b");
    expect(await ops.state(c, "b")).toEqual([0, 0, 0, 0, "", "", "", 0]);
    expect(await ops.post(c, "root", "a")).toEqual([1, 1, ""]);
    expect(await scriptError(ops.threadInfo(c, "root"))).toBe("RS_NOT_FOUND");
  });
});

describe("delete_message", () => {
  it("keeps the seq, stops counting it in unread, mentions, first unread and lastMessageId", async () => {
    const c = "del-1";
    await load(c);
    for (const u of ["a", "b"]) await ops.join(c, u);
    await ops.post(c, "m1", "a", "0", "b");
    await ops.post(c, "m2", "a", "1", "");
    await ops.post(c, "m3", "a", "0", "");
    expect(await ops.state(c, "b")).toEqual([0, 3, 3, 2, "", "", "m1", 0]);
    const membersBefore = await redis.zrange(key(c, "dmem"), "0", "-1", "WITHSCORES");
    const cursorsBefore = await redis.zrange(key(c, "cur"), "0", "-1", "WITHSCORES");

    expect(await ops.deleteMessage(c, "m1")).toBe(1);
    expect(await ops.state(c, "b")).toEqual([0, 3, 2, 1, "", "", "m2", 0]);
    expect(await redis.zrange(key(c, "mn"), "0", "-1")).toEqual([]);
    expect(await redis.zrange(key(c, "ix"), "0", "-1")).toEqual([`d|${pad(1)}`]);
    // The message is still known: its position, and its data for the worker.
    expect(await redis.hget(key(c, "msg"), "m1")).toBe("1");
    expect(await redis.hget(key(c, "seqs"), "1")).toBe("m1");
    expect(await redis.hget(key(c, "mdat"), "m1")).toBe("a|0|b");
    const ver = await version(c);
    expect(await redis.zscore(key(c, "dmsg"), "m1")).toBe(ver);

    // Idempotent: again changes nothing, not even the version.
    expect(await ops.deleteMessage(c, "m1")).toBe(1);
    expect(await version(c)).toBe(ver);

    // The newest message deleted: lastMessageId is the newest live one; channelSeq stays.
    expect(await ops.deleteMessage(c, "m3")).toBe(1);
    expect(await ops.info(c)).toEqual([3, 2, "m2"]);
    expect(await ops.state(c, "b")).toEqual([0, 3, 1, 1, "", "", "m2", 0]);
    expect(await ops.deleteMessage(c, "m2")).toBe(1);
    expect(await redis.exists(key(c, "all"), key(c, "alls"))).toBe(0);
    expect(await ops.state(c, "b")).toEqual([0, 3, 0, 0, "", "", "", 0]);
    expect(await ops.info(c)).toEqual([3, 2, ""]);

    // No member's state was written by any of the deletes.
    expect(await redis.zrange(key(c, "dmem"), "0", "-1", "WITHSCORES")).toEqual(membersBefore);
    expect(await redis.zrange(key(c, "cur"), "0", "-1", "WITHSCORES")).toEqual(cursorsBefore);

    // Posting a deleted messageId again answers its seq and does not bring it back.
    expect(await ops.post(c, "m1", "a", "0", "b")).toEqual([0, 1, ""]);
    expect(await ops.state(c, "b")).toEqual([0, 3, 0, 0, "", "", "", 0]);
    // Its position still works for read, unread and receipts.
    expect(await ops.markRead(c, "b", "m2")).toEqual([
      2,
      3,
      0,
      0,
      "m2",
      expect.stringMatching(/^\d+$/),
      "",
      0,
    ]);
    expect(await ops.receipts(c, "m2")).toEqual([2, 2, 2, "", "a", 3, "b", 2]);
    expect((await ops.markUnread(c, "b", "m1")).slice(0, 5)).toEqual([0, 3, 0, 0, ""]);
    // Read without messageId: the newest message, deleted or not.
    expect((await ops.markRead(c, "b")).slice(0, 5)).toEqual([3, 3, 0, 0, "m3"]);

    expect(await scriptError(ops.deleteMessage(c, "nope"))).toBe("RS_UNKNOWN_MESSAGE");
    await redis.rs_delete_channel(...writeKeys(c), "", c);
    expect(await scriptError(ops.deleteMessage(c, "m1"))).toBe("RS_NOT_FOUND");
  });

  it("a new message after deleted ones counts, and a later delete of it leaves older counts alone", async () => {
    const c = "del-2";
    await load(c);
    for (const u of ["a", "b"]) await ops.join(c, u);
    await ops.post(c, "m1", "a", "1", "");
    await ops.post(c, "m2", "a", "0", "b");
    await ops.deleteMessage(c, "m1");
    await ops.post(c, "m3", "b", "1", "");
    // a: m2 is a's own, m3 is b's @channel. b: m2 names b; m3 is b's own (cursor moved to 3).
    expect(await ops.state(c, "a")).toEqual([2, 3, 1, 1, "m2", expect.any(String), "m3", 0]);
    expect((await ops.markUnread(c, "b", "m1")).slice(0, 7)).toEqual([
      0,
      3,
      2,
      1,
      "",
      expect.any(String),
      "m2",
    ]);
    // b's own @channel stays out of b's mentions, also after another delete.
    await ops.deleteMessage(c, "m2");
    expect((await ops.state(c, "b")).slice(0, 7)).toEqual([0, 3, 1, 0, "", expect.any(String), "m3"]);
  });

  it("the first unread and the last message skip runs of deleted messages longer than a page", async () => {
    const c = "del-runs";
    await load(c);
    await ops.join(c, "b");
    for (let i = 1; i <= 250; i++) await ops.post(c, `m${i}`, "a");
    // Deleted: 1..120 (a run over a page of 100) and 131..250 (the newest 120).
    for (let i = 1; i <= 120; i++) await ops.deleteMessage(c, `m${i}`);
    for (let i = 131; i <= 250; i++) await ops.deleteMessage(c, `m${i}`);
    expect(await ops.state(c, "b")).toEqual([0, 250, 10, 0, "", "", "m121", 0]);
    expect(await ops.info(c)).toEqual([250, 1, "m130"]);
    // Exactly a page: 100 deleted before the first live one.
    await ops.markUnread(c, "b", "m21");
    expect((await ops.state(c, "b")).slice(0, 7)).toEqual([
      20,
      250,
      10,
      0,
      "m20",
      expect.any(String),
      "m121",
    ]);
    for (let i = 121; i <= 130; i++) await ops.deleteMessage(c, `m${i}`);
    expect((await ops.state(c, "b")).slice(2, 4)).toEqual([0, 0]);
    expect((await ops.state(c, "b"))[6]).toBe("");
    expect(await ops.info(c)).toEqual([250, 1, ""]);
  });

  it("writes no member's state, whatever the channel's size: the same commands for 10,000 members as for 2", async () => {
    const small = "del-cost-small";
    const big = "del-cost-big";
    await load(small);
    await load(big);
    for (const userId of ["a", "b"]) await ops.join(small, userId);
    const users = ["a", "b", ...Array.from({ length: 10_000 }, (_, i) => `u${i}`)];
    await Promise.all(users.map((userId) => ops.join(big, userId)));
    expect(await redis.zcard(key(big, "cur"))).toBe(10_002);
    for (const c of [small, big]) {
      // Every member has them unread; m-cost names b.
      await ops.post(c, "warm", "x", "0", "b");
      await ops.post(c, "m-cost", "x", "0", "b");
      await ops.post(c, "m-all", "x", "1", "");
      await ops.post(c, "keep", "x", "0", "b");
    }

    const commandsOf = (channelId: string, messageId: string) =>
      scriptCommands(() => ops.deleteMessage(channelId, messageId));
    // Warm both (the channel is dirty already; the first delete is not special, but mirror post's test).
    await commandsOf(small, "warm");
    await commandsOf(big, "warm");
    const dmemBefore = await redis.zcard(key(big, "dmem"));
    const smallCommands = await commandsOf(small, "m-cost");
    const bigCommands = await commandsOf(big, "m-cost");
    expect(bigCommands).toEqual(smallCommands);
    expect(smallCommands.filter((c) => c.startsWith("spublish"))).toEqual(["spublish feed"]);
    expect(smallCommands.length).toBeLessThanOrEqual(12);
    // What it writes: the deleted mark, the one mention, the version, the message for the worker.
    expect(keysWritten(bigCommands)).toEqual(["dirty", "dmsg", "ix", "meta", "mn"]);
    const smallAll = await commandsOf(small, "m-all");
    const bigAll = await commandsOf(big, "m-all");
    expect(bigAll).toEqual(smallAll);
    expect(keysWritten(bigAll)).toEqual(["all", "alls", "dirty", "dmsg", "ix", "meta"]);
    expect(await redis.zcard(key(big, "dmem"))).toBe(dmemBefore);
    // Every member sees it gone.
    expect((await ops.state(big, "u9999")).slice(0, 4)).toEqual([0, 4, 1, 0]);
    expect((await ops.state(big, "b")).slice(0, 4)).toEqual([0, 4, 1, 1]);
    console.log(
      `delete of a message with one mention: ${smallCommands.length} commands: ${smallCommands.join(", ")}`,
    );
  });
});

describe("mute", () => {
  it("sets muted beside the last read, keeps it through reads, posts and unreads, and a leave drops it", async () => {
    const c = "mute-1";
    await load(c);
    for (const u of ["a", "b"]) await ops.join(c, u);
    await ops.post(c, "m1", "b", "0", "a");
    expect(await ops.mute(c, "a", "1")).toEqual([0, 1, 1, 1, "", "", "m1", 1]);
    expect(await redis.hget(key(c, "th"), "q|a")).toBe("1");
    expect(await redis.hget(key(c, "meta"), "nm")).toBe("1");
    const ver = await version(c);
    expect(await redis.zscore(key(c, "dmem"), "a")).toBe(ver);
    // Muting a muted member changes nothing.
    expect(await ops.mute(c, "a", "1")).toEqual([0, 1, 1, 1, "", "", "m1", 1]);
    expect(await version(c)).toBe(ver);
    // Counts are unchanged by muting (the user's total leaves it out, not the channel's state).
    expect(await ops.state(c, "a")).toEqual([0, 1, 1, 1, "", "", "m1", 1]);

    expect(await ops.markRead(c, "a")).toEqual([1, 1, 0, 0, "m1", expect.stringMatching(/^\d+$/), "", 1]);
    expect(await redis.hget(key(c, "lra"), "a")).toMatch(/^\d+\|m1$/);
    expect((await ops.markUnread(c, "a", "m1"))[7]).toBe(1);
    expect(await ops.post(c, "m2", "a")).toEqual([1, 2, ""]);
    expect(await ops.state(c, "a")).toEqual([2, 2, 0, 0, "m2", expect.stringMatching(/^\d+$/), "", 1]);
    expect((await ops.memberStates("a", [c])).slice(0, 10)).toEqual([
      "ok",
      2,
      2,
      0,
      0,
      "m2",
      expect.any(String),
      "",
      1,
      0,
    ]);

    expect(await ops.mute(c, "a", "0")).toEqual([2, 2, 0, 0, "m2", expect.stringMatching(/^\d+$/), "", 0]);
    expect(await redis.hget(key(c, "lra"), "a")).toMatch(/^\d+\|m2$/);

    await ops.mute(c, "a", "1");
    await ops.leave(c, "a");
    expect(await redis.hget(key(c, "lra"), "a")).toBeNull();
    expect(await ops.join(c, "a")).toEqual([1, 2, 2, 0, 0, "m2", "", "", 0]);

    expect(await scriptError(ops.mute(c, "zed", "1"))).toBe("RS_NOT_A_MEMBER");
  });
});

describe("reply", () => {
  it("takes its thread's next seq, leaves the channel alone, and answers a repeat as first posted", async () => {
    const c = "reply-1";
    await load(c);
    for (const u of ["alice", "bob", "carol"]) await ops.join(c, u);
    expect(await ops.post(c, "root", "alice")).toEqual([1, 1, ""]);
    expect(await ops.post(c, "m2", "bob")).toEqual([1, 2, ""]);
    const channelBefore = await Promise.all(["alice", "bob", "carol"].map((u) => ops.state(c, u)));

    // dave is not a member: named, but never a follower.
    expect(await ops.reply(c, "r1", "bob", "root", "0", "carol,dave")).toEqual([1, 1, "root"]);
    expect(await redis.hmget(key(c, "meta"), "seq", "lmid")).toEqual(["2", "m2"]);
    expect(await ops.info(c)).toEqual([2, 3, "m2"]);
    // Mentions in replies never count in the channel.
    expect(await Promise.all(["alice", "bob", "carol"].map((u) => ops.state(c, u)))).toEqual(channelBefore);
    expect(await redis.hget(key(c, "msg"), "r1")).toBe("1|root");
    expect(await redis.hget(key(c, "seqs"), "1")).toBe("root");
    expect(await redis.hmget(key(c, "th"), "s|root", "m|root|1")).toEqual(["1", "r1"]);
    expect(await redis.hget(key(c, "mdat"), "r1")).toBe("bob|0|carol,dave");
    expect(await redis.zscore(key(c, "dmsg"), "r1")).toBe(await version(c));
    expect(await redis.zrange(key(c, "ix"), `[n|root|`, `(n|root}`, "BYLEX")).toEqual([
      `n|root|carol|${pad(1)}`,
      `n|root|dave|${pad(1)}`,
    ]);

    // The sender follows at its reply; the named member and the root's sender (first reply) just before it.
    expect(await ops.threadState(c, "root", "bob")).toEqual([1, 1, 0, 0, "r1", readTime(), ""]);
    expect(await ops.threadState(c, "root", "carol")).toEqual([0, 1, 1, 1, "", "", "r1"]);
    expect(await ops.threadState(c, "root", "alice")).toEqual([0, 1, 1, 0, "", "", "r1"]);
    expect(await scriptError(ops.threadState(c, "root", "dave"))).toBe("RS_NOT_FOLLOWING");
    expect(await ops.threadInfo(c, "root")).toEqual([1, 3, "r1"]);

    // @channel in a reply: a mention for every follower but its sender (dave is not one).
    expect(await ops.reply(c, "r2", "dave", "root", "1", "")).toEqual([1, 2, "root"]);
    expect((await ops.threadState(c, "root", "alice")).slice(0, 4)).toEqual([0, 2, 2, 1]);
    expect((await ops.threadState(c, "root", "bob")).slice(0, 4)).toEqual([1, 2, 1, 1]);
    expect((await ops.threadState(c, "root", "carol")).slice(0, 4)).toEqual([0, 2, 2, 2]);
    expect(await scriptError(ops.threadState(c, "root", "dave"))).toBe("RS_NOT_FOLLOWING");
    expect(await ops.reply(c, "r3", "alice", "root", "1", "")).toEqual([1, 3, "root"]);
    expect(await ops.threadState(c, "root", "alice")).toEqual([3, 3, 0, 0, "r3", readTime(), ""]);
    expect((await ops.threadState(c, "root", "bob")).slice(0, 4)).toEqual([1, 3, 2, 2]);

    // Repeats first, whatever the repeat says.
    expect(await ops.reply(c, "r1", "carol", "m2", "1", "")).toEqual([0, 1, "root"]);
    expect(await ops.post(c, "r1", "carol")).toEqual([0, 1, "root"]);
    expect(await ops.reply(c, "root", "carol", "m2")).toEqual([0, 1, ""]);
    expect(await ops.reply(c, "root", "carol", "nope")).toEqual([0, 1, ""]);
    expect(await redis.hget(key(c, "th"), "s|root")).toBe("3");

    expect(await scriptError(ops.reply(c, "r9", "bob", "nope"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.reply(c, "r9", "bob", "r1"))).toBe("RS_ROOT_IS_REPLY");
    expect(await redis.hexists(key(c, "msg"), "r9")).toBe(0);

    // Threads are separate: m2's first reply starts at 1 and makes its root's sender (bob) follow.
    expect(await ops.reply(c, "s1", "carol", "m2")).toEqual([1, 1, "m2"]);
    expect(await ops.threadState(c, "m2", "bob")).toEqual([0, 1, 1, 0, "", "", "s1"]);
    expect(await ops.threadInfo(c, "m2")).toEqual([1, 2, "s1"]);
    expect(await ops.threadInfo(c, "root")).toEqual([3, 3, "r3"]);
  });

  it("the root's sender follows at the first reply only; an unfollow wins but for an own reply or a mention by name", async () => {
    const c = "reply-2";
    await load(c);
    for (const u of ["alice", "bob", "carol"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    // alice unfollows before the first reply: not a follower at it, nor through @channel.
    await ops.follow(c, "root", "alice");
    expect(await ops.unfollow(c, "root", "alice")).toBe(1);
    await ops.reply(c, "r1", "bob", "root");
    expect(await scriptError(ops.threadState(c, "root", "alice"))).toBe("RS_NOT_FOLLOWING");
    await ops.reply(c, "r2", "bob", "root", "1", "");
    expect(await scriptError(ops.threadState(c, "root", "alice"))).toBe("RS_NOT_FOLLOWING");
    // A mention by name brings her back, from just before that reply.
    await ops.reply(c, "r3", "bob", "root", "0", "alice");
    expect(await ops.threadState(c, "root", "alice")).toEqual([2, 3, 1, 1, "r2", "", "r3"]);
    // carol unfollows, then replies herself: following again, at her reply.
    await ops.follow(c, "root", "carol");
    await ops.unfollow(c, "root", "carol");
    expect(await ops.reply(c, "r4", "carol", "root")).toEqual([1, 4, "root"]);
    expect(await ops.threadState(c, "root", "carol")).toEqual([4, 4, 0, 0, "r4", readTime(), ""]);
    // @channel with a name: the name counts as a mention by name.
    await ops.unfollow(c, "root", "carol");
    await ops.reply(c, "r5", "bob", "root", "1", "carol");
    expect(await ops.threadState(c, "root", "carol")).toEqual([4, 5, 1, 1, "r4", "", "r5"]);

    // The root's sender is not a member at the first reply: not following later replies either.
    await ops.post(c, "root2", "erin");
    await ops.reply(c, "q1", "bob", "root2");
    await ops.join(c, "erin");
    await ops.reply(c, "q2", "bob", "root2");
    expect(await scriptError(ops.threadState(c, "root2", "erin"))).toBe("RS_NOT_FOLLOWING");
    // A reply's sender who is not a member does not follow.
    await ops.reply(c, "q3", "zed", "root2");
    expect(await scriptError(ops.threadState(c, "root2", "zed"))).toBe("RS_NOT_FOLLOWING");
    expect(await ops.threadInfo(c, "root2")).toEqual([3, 1, "q3"]);
  });

  it("a reply to a deleted root is accepted; deleting a root leaves its thread in place", async () => {
    const c = "reply-3";
    await load(c);
    for (const u of ["alice", "bob"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    await ops.reply(c, "r1", "bob", "root");
    await ops.deleteMessage(c, "root");
    expect(await ops.reply(c, "r2", "bob", "root", "0", "alice")).toEqual([1, 2, "root"]);
    expect(await ops.threadInfo(c, "root")).toEqual([2, 2, "r2"]);
    expect(await ops.threadState(c, "root", "alice")).toEqual([0, 2, 2, 1, "", "", "r1"]);
  });

  it("costs the same Redis commands in a thread of 10,000 followers as in one of 2", async () => {
    const small = "reply-cost-small";
    const big = "reply-cost-big";
    await load(small);
    await load(big);
    const many = Array.from({ length: 10_000 }, (_, i) => `u${i}`);
    for (const c of [small, big]) {
      for (const userId of ["a", "b"]) await ops.join(c, userId);
      await ops.post(c, "root", "a");
    }
    await Promise.all(many.map((userId) => ops.join(big, userId)));

    const commandsOf = (channelId: string, messageId: string, mentionAll: "0" | "1") =>
      scriptCommands(() =>
        ops.reply(channelId, messageId, "a", "root", mentionAll, mentionAll === "1" ? "" : "b"),
      );
    // Warm both: the first reply (a and b start following) also makes the root's sender follow.
    await commandsOf(small, "warm", "0");
    await commandsOf(big, "warm", "0");
    await Promise.all(many.map((userId) => ops.follow(big, "root", userId)));
    expect((await ops.threadInfo(small, "root"))[1]).toBe(2);
    expect((await ops.threadInfo(big, "root"))[1]).toBe(10_002);

    const smallCommands = await commandsOf(small, "r-cost", "0");
    const bigCommands = await commandsOf(big, "r-cost", "0");
    expect(bigCommands).toEqual(smallCommands);
    expect(smallCommands.filter((c) => c.startsWith("spublish"))).toEqual(["spublish feed"]);
    expect(smallCommands.length).toBeLessThanOrEqual(24);
    const smallAll = await commandsOf(small, "r-all", "1");
    const bigAll = await commandsOf(big, "r-all", "1");
    expect(bigAll).toEqual(smallAll);
    // Every follower sees both replies.
    expect((await ops.threadState(big, "root", "u9999")).slice(0, 4)).toEqual([1, 3, 2, 1]);
    expect((await ops.threadState(big, "root", "b")).slice(0, 4)).toEqual([0, 3, 3, 3]);
    console.log(
      `reply with one mention, member sender: ${smallCommands.length} commands: ${smallCommands.join(", ")}`,
    );
  });
});

describe("follow / unfollow", () => {
  it("follow starts at the newest reply, unfollow is remembered, and errors come in their order", async () => {
    const c = "follow-1";
    await load(c);
    for (const u of ["alice", "bob"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    await ops.post(c, "m2", "alice");
    await ops.reply(c, "r1", "alice", "root");

    expect(await ops.follow(c, "root", "bob")).toEqual([1, 1, 0, 0, "r1", "", ""]);
    expect(await redis.hget(key(c, "th"), "c|root|bob")).toBe("1||r1");
    expect(await redis.zscore(key(c, "ix"), "f|root|bob")).toBe("0");
    expect(await redis.zscore(key(c, "ix"), "u|bob|root")).toBe("0");
    const ver = await version(c);
    expect(await redis.zscore(key(c, "dmem"), "#root|bob")).toBe(ver);
    // An existing follower is unchanged.
    await ops.reply(c, "r2", "alice", "root");
    const now = await version(c);
    expect(await ops.follow(c, "root", "bob")).toEqual([1, 2, 1, 0, "r1", "", "r2"]);
    expect(await version(c)).toBe(now);
    // A root without replies may be followed.
    expect(await ops.follow(c, "m2", "bob")).toEqual([0, 0, 0, 0, "", "", ""]);
    expect(await ops.threadInfo(c, "m2")).toEqual([0, 1, ""]);

    // Membership first, then the root.
    expect(await scriptError(ops.follow(c, "root", "dave"))).toBe("RS_NOT_A_MEMBER");
    expect(await scriptError(ops.follow(c, "nope", "dave"))).toBe("RS_NOT_A_MEMBER");
    expect(await scriptError(ops.follow(c, "nope", "bob"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.follow(c, "r1", "bob"))).toBe("RS_UNKNOWN_MESSAGE");

    expect(await ops.unfollow(c, "root", "bob")).toBe(1);
    expect(await redis.hget(key(c, "th"), "c|root|bob")).toBe("x");
    expect(await redis.zscore(key(c, "ix"), "f|root|bob")).toBeNull();
    // Kept: what a leave drops.
    expect(await redis.zscore(key(c, "ix"), "u|bob|root")).toBe("0");
    expect(await redis.zscore(key(c, "dmem"), "#root|bob")).toBe(await version(c));
    expect(await ops.threadInfo(c, "root")).toEqual([2, 1, "r2"]);

    // Following first, also before a bad messageId.
    expect(await scriptError(ops.unfollow(c, "root", "bob"))).toBe("RS_NOT_FOLLOWING");
    expect(await scriptError(ops.unfollow(c, "root", "dave"))).toBe("RS_NOT_FOLLOWING");
    expect(await scriptError(ops.threadState(c, "root", "bob"))).toBe("RS_NOT_FOLLOWING");
    expect(await scriptError(ops.threadRead(c, "root", "bob", "nope"))).toBe("RS_NOT_FOLLOWING");
    expect(await scriptError(ops.threadUnread(c, "root", "bob", "nope"))).toBe("RS_NOT_FOLLOWING");
    expect(await scriptError(ops.threadState(c, "nope", "bob"))).toBe("RS_NOT_FOLLOWING");

    // An explicit follow is always allowed after an unfollow.
    expect(await ops.follow(c, "root", "bob")).toEqual([2, 2, 0, 0, "r2", "", ""]);
    expect(await redis.zscore(key(c, "ix"), "f|root|bob")).toBe("0");
    // A deleted root may be followed.
    await ops.deleteMessage(c, "m2");
    expect(await ops.follow(c, "m2", "alice")).toEqual([0, 0, 0, 0, "", "", ""]);
  });
});

describe("thread_read / thread_unread / thread_state", () => {
  it("reads forward only, unreads to seq - 1, over the thread's live replies", async () => {
    const c = "tread-1";
    await load(c);
    for (const u of ["alice", "bob", "carol"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    await ops.post(c, "m2", "alice");
    await ops.reply(c, "r1", "alice", "root");
    await ops.reply(c, "r2", "alice", "root", "0", "bob");
    await ops.reply(c, "r3", "alice", "root");
    await ops.reply(c, "other", "alice", "m2");
    const channelState = await ops.state(c, "bob");
    expect(await ops.threadState(c, "root", "bob")).toEqual([1, 3, 2, 1, "r1", "", "r2"]);

    const read = await ops.threadRead(c, "root", "bob", "r3");
    expect(read).toEqual([3, 3, 0, 0, "r3", readTime(), ""]);
    expect(await redis.hget(key(c, "th"), "c|root|bob")).toBe(`3|${read[5]}|r3`);
    expect(await redis.zscore(key(c, "dmem"), "#root|bob")).toBe(await version(c));
    // Older: nothing changes, not even the version.
    const ver = await version(c);
    expect((await ops.threadRead(c, "root", "bob", "r1")).map(String)).toEqual(read.map(String));
    expect(await version(c)).toBe(ver);

    expect(await ops.threadUnread(c, "root", "bob", "r2")).toEqual([1, 3, 2, 1, "r1", readTime(), "r2"]);
    expect(await ops.threadUnread(c, "root", "bob", "r1")).toEqual([0, 3, 3, 1, "", readTime(), "r1"]);
    expect(await ops.threadRead(c, "root", "bob")).toEqual([3, 3, 0, 0, "r3", readTime(), ""]);
    // The channel's state is not the thread's.
    expect(await ops.state(c, "bob")).toEqual(channelState);

    // Only replies of this thread.
    expect(await scriptError(ops.threadRead(c, "root", "bob", "root"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.threadRead(c, "root", "bob", "m2"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.threadRead(c, "root", "bob", "other"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.threadUnread(c, "root", "bob", "nope"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.threadUnread(c, "root", "bob", "other"))).toBe("RS_UNKNOWN_MESSAGE");
    expect(await scriptError(ops.threadRead(c, "root", "carol", ""))).toBe("RS_NOT_FOLLOWING");
    expect(await scriptError(ops.threadUnread(c, "root", "carol", "r1"))).toBe("RS_NOT_FOLLOWING");

    // Deleted replies stop counting, mentions included; their positions still work.
    await ops.deleteMessage(c, "r1");
    await ops.deleteMessage(c, "r2");
    expect(await redis.zrange(key(c, "ix"), "[r|", "(r}", "BYLEX")).toEqual([
      `r|root|${pad(1)}`,
      `r|root|${pad(2)}`,
    ]);
    expect((await ops.threadUnread(c, "root", "bob", "r1")).slice(0, 7)).toEqual([
      0,
      3,
      1,
      0,
      "",
      readTime(),
      "r3",
    ]);
    expect((await ops.threadRead(c, "root", "bob", "r2")).slice(0, 7)).toEqual([
      2,
      3,
      1,
      0,
      "r2",
      readTime(),
      "r3",
    ]);
    await ops.deleteMessage(c, "r3");
    expect((await ops.threadState(c, "root", "bob")).slice(0, 4)).toEqual([2, 3, 0, 0]);
    expect((await ops.threadState(c, "root", "bob"))[6]).toBe("");
    // Reading to the newest: the reply at threadSeq, deleted or not.
    expect((await ops.threadRead(c, "root", "bob")).slice(0, 5)).toEqual([3, 3, 0, 0, "r3"]);
  });

  it("a deleted @channel reply stops counting for every follower", async () => {
    const c = "tread-2";
    await load(c);
    for (const u of ["alice", "bob"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    await ops.reply(c, "r1", "bob", "root");
    await ops.reply(c, "r2", "bob", "root", "1", "");
    expect((await ops.threadState(c, "root", "alice")).slice(0, 4)).toEqual([0, 2, 2, 1]);
    expect((await ops.threadState(c, "root", "bob")).slice(0, 4)).toEqual([2, 2, 0, 0]);
    await ops.deleteMessage(c, "r2");
    expect(await redis.zrange(key(c, "ix"), "[n|", "(n}", "BYLEX")).toEqual([]);
    expect((await ops.threadState(c, "root", "alice")).slice(0, 4)).toEqual([0, 2, 1, 0]);
    await ops.threadUnread(c, "root", "bob", "r1");
    expect((await ops.threadState(c, "root", "bob")).slice(0, 4)).toEqual([0, 2, 1, 0]);
  });
});

describe("thread_info", () => {
  it("summarizes a thread, skipping deleted replies; not found while it has neither a reply nor a follower", async () => {
    const c = "tinfo-1";
    await load(c);
    for (const u of ["alice", "bob"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    await ops.post(c, "lonely", "alice");
    expect(await scriptError(ops.threadInfo(c, "root"))).toBe("RS_NOT_FOUND");
    expect(await scriptError(ops.threadInfo(c, "nope"))).toBe("RS_NOT_FOUND");
    await ops.follow(c, "lonely", "bob");
    expect(await ops.threadInfo(c, "lonely")).toEqual([0, 1, ""]);
    await ops.unfollow(c, "lonely", "bob");
    expect(await scriptError(ops.threadInfo(c, "lonely"))).toBe("RS_NOT_FOUND");

    for (let i = 1; i <= 130; i++) await ops.reply(c, `r${i}`, "bob", "root");
    expect(await ops.threadInfo(c, "root")).toEqual([130, 2, "r130"]);
    // The newest 110 deleted: more than a page of the walk back.
    for (let i = 21; i <= 130; i++) await ops.deleteMessage(c, `r${i}`);
    expect(await ops.threadInfo(c, "root")).toEqual([130, 2, "r20"]);
    for (let i = 1; i <= 20; i++) await ops.deleteMessage(c, `r${i}`);
    expect(await ops.threadInfo(c, "root")).toEqual([130, 2, ""]);
    // A thread with replies and no follower is still found.
    await ops.unfollow(c, "root", "alice");
    await ops.unfollow(c, "root", "bob");
    expect(await ops.threadInfo(c, "root")).toEqual([130, 0, ""]);
  });
});

describe("receipts of a reply", () => {
  it("lists the thread's followers at or past the reply, its memberCount the follower count", async () => {
    const c = "trcpt-1";
    await load(c);
    for (const u of ["alice", "bob", "carol", "dave", "erin"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    await ops.reply(c, "r1", "bob", "root", "0", "carol");
    await ops.reply(c, "r2", "bob", "root");
    await ops.follow(c, "root", "dave");
    await ops.threadRead(c, "root", "carol", "r1");
    // Followers: alice 0, bob 2, carol 1, dave 2; erin is a member, not a follower.
    expect(await ops.receipts(c, "r1", 2)).toEqual([1, 4, 3, "carol", "bob", 2, "carol", 1]);
    expect(await ops.receipts(c, "r1", 2, "carol")).toEqual([1, 4, 3, "", "dave", 2]);
    expect(await ops.receipts(c, "r2")).toEqual([2, 4, 2, "", "bob", 2, "dave", 2]);
    await ops.unfollow(c, "root", "dave");
    expect(await ops.receipts(c, "r1")).toEqual([1, 3, 2, "", "bob", 2, "carol", 1]);
    // The root's receipts are the channel's: members by their channel cursor.
    expect(await ops.receipts(c, "root")).toEqual([1, 5, 1, "", "alice", 1]);
    await ops.deleteMessage(c, "r1");
    expect(await ops.receipts(c, "r1")).toEqual([1, 3, 2, "", "bob", 2, "carol", 1]);
    expect(await scriptError(ops.receipts(c, "nope"))).toBe("RS_UNKNOWN_MESSAGE");
  });
});

describe("leave and threads", () => {
  it("a leave drops the user's thread states and unfollow marks, each with a tombstone version", async () => {
    const c = "tleave-1";
    await load(c);
    for (const u of ["alice", "bob"]) await ops.join(c, u);
    await ops.post(c, "root", "alice");
    await ops.post(c, "own", "bob");
    await ops.reply(c, "r1", "bob", "root", "0", "alice");
    await ops.follow(c, "own", "bob");
    await ops.unfollow(c, "own", "bob");
    const aliceBefore = await ops.threadState(c, "root", "alice");

    expect(await ops.leave(c, "bob")).toBe(1);
    const ver = await version(c);
    expect(await redis.hgetall(key(c, "th"))).toEqual({
      "s|root": "1",
      "m|root|1": "r1",
      "c|root|alice": "0||",
    });
    expect(await redis.zrange(key(c, "ix"), "[f|", "(f}", "BYLEX")).toEqual(["f|root|alice"]);
    expect(await redis.zrange(key(c, "ix"), "[u|", "(u}", "BYLEX")).toEqual(["u|alice|root"]);
    // The reply's mention of alice stays: it is the message's, not bob's.
    expect(await redis.zscore(key(c, "ix"), `n|root|alice|${pad(1)}`)).toBe("0");
    expect(await redis.zmscore(key(c, "dmem"), "bob", "#root|bob", "#own|bob")).toEqual([ver, ver, ver]);
    expect(await ops.threadState(c, "root", "alice")).toEqual(aliceBefore);
    expect(await ops.threadInfo(c, "root")).toEqual([1, 1, "r1"]);
    expect(await scriptError(ops.threadState(c, "root", "bob"))).toBe("RS_NOT_FOLLOWING");

    // Back in the channel, bob starts afresh: no threads, and the unfollow mark of "own" is gone, so
    // he follows it as its root's sender at its first reply.
    await ops.join(c, "bob");
    expect((await ops.memberStates("bob", [c]))[9]).toBe(0);
    await ops.reply(c, "o1", "alice", "own");
    expect(await ops.threadState(c, "own", "bob")).toEqual([0, 1, 1, 0, "", "", "o1"]);
  });
});

/** claim.lua's reply for one channel, split into its parts (see claim.lua's header). */
interface ClaimedChannel {
  header: unknown[];
  members: unknown[][];
  followers: unknown[][];
  messages: unknown[][];
}

function parseClaim(reply: unknown[]): ClaimedChannel[] {
  const channels: ClaimedChannel[] = [];
  let i = 0;
  const rows = (width: number): unknown[][] => {
    const count = Number(reply[i]);
    i += 1;
    const out: unknown[][] = [];
    for (let n = 0; n < count; n++, i += width) out.push(reply.slice(i, i + width));
    return out;
  };
  while (i < reply.length) {
    const header = reply.slice(i, i + 12);
    i += 12;
    channels.push({ header, members: rows(6), followers: rows(7), messages: rows(6) });
  }
  return channels;
}

describe("claim / clear", () => {
  const claimKeys = (p: number, channelIds: string[]) => [
    keys.lease(p),
    keys.dirty(p),
    ...channelIds.map((c) => keys.channelBase(c)),
  ];
  /** clear.lua's keys, their count first: the lease, the dirty and cooling indexes, the channels. */
  const clearKeys = (p: number, channelIds: string[]) => [
    3 + channelIds.length,
    keys.lease(p),
    keys.dirty(p),
    keys.cooling(p),
    ...channelIds.map((c) => keys.channelBase(c)),
  ];
  /** cool.lua on one partition's channels, with the cache ttl 60 s. */
  const cool = (p: number, cut: number, channelIds: string[]) =>
    redis.rs_cool(
      2 + channelIds.length,
      keys.cooling(p),
      keys.dirty(p),
      ...channelIds.map((c) => keys.channelBase(c)),
      60_000,
      cut,
      ...channelIds,
    );

  it("claims dirty entries, respects another worker's lease, and clears only what was written", async () => {
    const c = "claim-1";
    const p = keys.partitionOf(c);
    await load(c);
    await redis.rs_join(...writeKeys(c), "", c, "u1");
    await redis.rs_post(...writeKeys(c), "", c, "m1", "u1", "0", "");
    const k = claimKeys(p, [c]);
    const claimed = (await redis.rs_claim(k.length, ...k, "w1", 10_000, "0", 100, c)) as unknown[];
    expect(claimed).toEqual([
      // channelId, seq, lmid, ver, live, reset, resetPending, claimedAt
      c,
      "1",
      "m1",
      "2",
      "1",
      "0",
      "0",
      expect.any(Number),
      // complete, row version, row dirty, generation
      "1",
      "2",
      "1",
      "1",
      // members: userId, readSeq, lastReadAt, lastReadMessageId, version, muted
      1,
      "u1",
      "1",
      expect.stringMatching(/^\d+$/),
      "m1",
      "2",
      "0",
      // followers
      0,
      // messages: messageId, seq, threadId, data, deleted, version
      1,
      "m1",
      1,
      "",
      "u1|0|",
      "0",
      "2",
    ]);
    expect(await redis.hget(key(c, "meta"), "ct")).toBe(String(claimed[7]));
    expect(await redis.rs_claim(k.length, ...k, "w2", 10_000, "0", 100, c)).toEqual([]);

    // A change after the claim: clearing version 2 must leave it dirty.
    await redis.rs_mark_unread(...writeKeys(c), "", c, "u1", "m1");
    expect(await redis.rs_clear(...clearKeys(p, [c]), "w1", c, "2", "2", "2", "", "1", "2", "1")).toBe(0);
    expect(await redis.zscore(keys.dirty(p), c)).not.toBeNull();
    expect(await redis.zrange(key(c, "dmem"), "0", "-1", "WITHSCORES")).toEqual(["u1", "3"]);
    expect(await redis.zcard(key(c, "dmsg"))).toBe(0);
    // Message data stays for every message (deletes and thread roots need it later).
    expect(await redis.hgetall(key(c, "mdat"))).toEqual({ m1: "u1|0|" });
    // The lease is given back by its holder.
    expect(await redis.exists(keys.lease(p))).toBe(0);

    const again = (await redis.rs_claim(k.length, ...k, "w2", 10_000, "0", 100, c)) as unknown[];
    expect(again[3]).toBe("3");
    // Only a cursor moved since the row was written: the channel row is not dirty.
    expect(again[10]).toBe("0");
    expect(await redis.rs_clear(...clearKeys(p, [c]), "w2", c, "3", "3", "0", "", "1", "", "2")).toBe(0);
    // The copy the claim read was generation 1; a clear for another generation changes nothing.
    expect(await redis.zscore(keys.dirty(p), c)).not.toBeNull();
    expect(await redis.rs_clear(...clearKeys(p, [c]), "w2", c, "3", "3", "0", "", "1", "", "1")).toBe(1);
    expect(await redis.zscore(keys.dirty(p), c)).toBeNull();
    // Clean, it waits in the cooling index without an expiry; cool.lua gives it one.
    const cleanAt = Number(await redis.zscore(keys.cooling(p), c));
    expect(cleanAt).toBeGreaterThan(0);
    expect(await redis.pttl(key(c, "meta"))).toBe(-1);
    expect(await cool(p, cleanAt, [c])).toBe(1);
    expect(await redis.zscore(keys.cooling(p), c)).toBeNull();
    expect(await redis.pttl(key(c, "meta"))).toBeGreaterThan(0);
    expect(await redis.hgetall(key(c, "mdat"))).toEqual({ m1: "u1|0|" });
  });

  it("expires only channels still clean since the cut, and a change removes an expiry it finds", async () => {
    const [busy, idle, late] = ["cool-busy", "cool-idle", "cool-late"];
    const p = keys.partitionOf(busy);
    for (const c of [busy, idle, late]) {
      await load(c);
      await ops.join(c, "u1");
    }
    // Clean, as clear.lua leaves channels: out of the dirty index, in the cooling one.
    const cleanAll = async (at: number) => {
      for (const c of [busy, idle, late]) {
        const partition = keys.partitionOf(c);
        await redis.zrem(keys.dirty(partition), c);
        await redis.zadd(keys.cooling(partition), at, c);
      }
    };
    await cleanAll(1000);
    await redis.zadd(keys.cooling(keys.partitionOf(late)), 5000, late);
    // Busy is dirty again before the sweep: no expiry and no PERSIST needed (it has none).
    const commands = await scriptCommands(() => ops.post(busy, "m1", "u1"));
    expect(commands.filter((c) => c.startsWith("persist"))).toEqual([]);
    for (const c of [busy, idle, late])
      expect(await cool(keys.partitionOf(c), 2000, [c])).toBe(c === idle ? 1 : 0);
    expect(await redis.pttl(key(busy, "meta"))).toBe(-1);
    expect(await redis.zscore(keys.cooling(p), busy)).toBeNull();
    // Cleaned after the cut: still waiting, without an expiry.
    expect(await redis.pttl(key(late, "meta"))).toBe(-1);
    expect(await redis.zscore(keys.cooling(keys.partitionOf(late)), late)).toBe("5000");
    // Idle got one on every key it has, the tail a second after meta (_lib.lua expire_cached).
    const metaTtl = await redis.pttl(key(idle, "meta"));
    expect(metaTtl).toBeGreaterThan(50_000);
    expect(await redis.pttl(key(idle, "cur"))).toBeGreaterThan(metaTtl);

    // A change to a channel with an expiry removes it from every key, at once.
    await ops.markRead(idle, "u1");
    expect(await ops.post(idle, "m1", "u2")).toEqual([1, 1, ""]);
    for (const name of ["meta", "cur", "lra", "msg", "seqs", "mdat"] as const) {
      expect([name, await redis.pttl(key(idle, name))]).toEqual([name, -1]);
    }
  });

  it("claims within a row budget and reports the claim incomplete", async () => {
    const c = "claim-2";
    const p = keys.partitionOf(c);
    await load(c);
    for (const u of ["a", "b", "c", "d"]) await redis.rs_join(...writeKeys(c), "", c, u);
    const k = claimKeys(p, [c]);
    const claimed = (await redis.rs_claim(k.length, ...k, "w1", 10_000, "1", 2, c)) as unknown[];
    expect(claimed[8]).toBe("0");
    expect(claimed[12]).toBe(2);
    const [channel] = parseClaim(claimed);
    expect(channel?.members.map((m) => m[0])).toEqual(["a", "b"]);
    expect(channel?.followers).toEqual([]);
    expect(channel?.messages).toEqual([]);
  });

  it("claims muted members, thread followers (following, unfollowed, left) and deleted messages", async () => {
    const c = "claim-3";
    const p = keys.partitionOf(c);
    await load(c);
    for (const u of ["a", "b", "z", "y"]) await ops.join(c, u); // versions 1-4
    await ops.mute(c, "b", "1"); // 5
    await ops.post(c, "root", "a"); // 6
    await ops.post(c, "m2", "a", "1", ""); // 7
    await ops.reply(c, "r1", "b", "root", "0", "y"); // 8: b, y (named) and a (root's sender) follow
    await ops.follow(c, "root", "z"); // 9
    await ops.unfollow(c, "root", "z"); // 10
    await ops.deleteMessage(c, "m2"); // 11
    await ops.deleteMessage(c, "r1"); // 12
    await ops.leave(c, "y"); // 13
    const k = claimKeys(p, [c]);
    const [channel, ...more] = parseClaim(
      (await redis.rs_claim(k.length, ...k, "w1", 10_000, "0", 100, c)) as unknown[],
    );
    expect(more).toEqual([]);
    // The channel's row last changed at the second post; the rest are member, thread and message rows.
    expect(channel?.header).toEqual([
      c,
      "2",
      "m2",
      "13",
      "1",
      "0",
      "0",
      expect.any(Number),
      "1",
      "7",
      "1",
      "1",
    ]);
    expect(channel?.members).toEqual([
      ["z", "0", "", "", "3", "0"],
      ["b", "0", "", "", "5", "1"],
      ["a", "2", expect.stringMatching(/^\d+$/), "m2", "7", "0"],
      ["y", "", "", "", "13", "0"],
    ]);
    expect(channel?.followers).toEqual([
      ["root", "a", "f", 0, "", "", "8"],
      ["root", "b", "f", 1, expect.stringMatching(/^\d+$/), "r1", "8"],
      ["root", "z", "x", "", "", "", "10"],
      ["root", "y", "", "", "", "", "13"],
    ]);
    expect(channel?.messages).toEqual([
      ["root", 1, "", "a|0|", "0", "6"],
      ["m2", 2, "", "a|1|", "1", "11"],
      ["r1", 1, "root", "b|0|y", "1", "12"],
    ]);

    // A follower's change after the claim stays dirty; the rest is cleared, message data kept.
    await ops.threadRead(c, "root", "a"); // 14
    expect(await redis.rs_clear(...clearKeys(p, [c]), "w1", c, "13", "13", "12", "", "1", "7", "1")).toBe(0);
    expect(await redis.zrange(key(c, "dmem"), "0", "-1", "WITHSCORES")).toEqual(["#root|a", "14"]);
    expect(await redis.zcard(key(c, "dmsg"))).toBe(0);
    expect(await redis.hgetall(key(c, "mdat"))).toEqual({ root: "a|0|", m2: "a|1|", r1: "b|0|y" });
    const [second] = parseClaim(
      (await redis.rs_claim(k.length, ...k, "w1", 10_000, "0", 100, c)) as unknown[],
    );
    expect(second?.members).toEqual([]);
    expect(second?.followers).toEqual([["root", "a", "f", 1, expect.stringMatching(/^\d+$/), "r1", "14"]]);
    expect(second?.header[10]).toBe("0");
    expect(await redis.rs_clear(...clearKeys(p, [c]), "w1", c, "14", "14", "0", "", "1", "", "1")).toBe(1);
    expect(await redis.zscore(keys.dirty(p), c)).toBeNull();
    // Clean: once cooled, every cached key expires, threads included; nothing is left to flush.
    expect(await cool(p, Number.MAX_SAFE_INTEGER, [c])).toBe(1);
    for (const name of ["meta", "cur", "lra", "msg", "mdat", "th", "ix"] as const) {
      expect([name, (await redis.pttl(key(c, name))) > 0]).toEqual([name, true]);
    }
    expect(await redis.exists(key(c, "dmem"), key(c, "dmsg"))).toBe(0);
    expect(await redis.hgetall(key(c, "mdat"))).toEqual({ root: "a|0|", m2: "a|1|", r1: "b|0|y" });
  });
});

describe("a load_channel round trip of thread state", () => {
  /** Stages a claimed channel the way the layout of keys.ts describes, as a load from PostgreSQL would. */
  async function stage(claimed: ClaimedChannel, staging: string[]): Promise<void> {
    const at = (name: KeyName) => staging[CHANNEL_KEY_NAMES.indexOf(name)] as string;
    const pipeline = redis.pipeline();
    for (const [userId, readSeq, lastReadAt, lastReadMessageId, , muted] of claimed.members as string[][]) {
      if (readSeq === "") continue;
      pipeline.zadd(at("cur"), readSeq as string, userId as string);
      pipeline.hset(at("lra"), userId as string, `${lastReadAt}|${lastReadMessageId}`);
      if (muted === "1") pipeline.hset(at("th"), `q|${userId}`, "1");
    }
    const threadSeqs = new Map<string, number>();
    for (const [messageId, seq, threadId, data, deleted] of claimed.messages as [
      string,
      number,
      string,
      string,
      string,
    ][]) {
      const [senderId, mentionAll, mentions] = data.split("|") as [string, string, string];
      const named = mentionAll === "1" ? [] : mentions.split(",").filter((u) => u !== "" && u !== senderId);
      const seqKey = pad(seq);
      pipeline.hset(at("mdat"), messageId, data);
      if (threadId === "") {
        pipeline.hset(at("msg"), messageId, seq);
        pipeline.hset(at("seqs"), seq, messageId);
        if (deleted === "1") pipeline.zadd(at("ix"), 0, `d|${seqKey}`);
        else if (mentionAll === "1") {
          pipeline.zadd(at("all"), seq, String(seq));
          pipeline.zadd(at("alls"), 0, `${senderId}|${seqKey}`);
        } else for (const u of named) pipeline.zadd(at("mn"), 0, `${u}|${seqKey}`);
      } else {
        pipeline.hset(at("msg"), messageId, `${seq}|${threadId}`);
        pipeline.hset(at("th"), `m|${threadId}|${seq}`, messageId);
        threadSeqs.set(threadId, Math.max(threadSeqs.get(threadId) ?? 0, seq));
        if (deleted === "1") pipeline.zadd(at("ix"), 0, `r|${threadId}|${seqKey}`);
        else if (mentionAll === "1") {
          pipeline.zadd(at("ix"), 0, `n|${threadId}|*|${seqKey}`, 0, `n|${threadId}|-${senderId}|${seqKey}`);
        } else for (const u of named) pipeline.zadd(at("ix"), 0, `n|${threadId}|${u}|${seqKey}`);
      }
    }
    for (const [threadId, seq] of threadSeqs) pipeline.hset(at("th"), `s|${threadId}`, seq);
    for (const [
      threadId,
      userId,
      state,
      readSeq,
      lastReadAt,
      lastReadMessageId,
    ] of claimed.followers as string[][]) {
      if (state === "") continue;
      pipeline.zadd(at("ix"), 0, `u|${userId}|${threadId}`);
      if (state === "x") pipeline.hset(at("th"), `c|${threadId}|${userId}`, "x");
      else {
        pipeline.hset(at("th"), `c|${threadId}|${userId}`, `${readSeq}|${lastReadAt}|${lastReadMessageId}`);
        pipeline.zadd(at("ix"), 0, `f|${threadId}|${userId}`);
      }
    }
    const results = await pipeline.exec();
    expect(results?.filter(([err]) => err)).toEqual([]);
  }

  /** Every answer the read scripts give about a channel, errors included. */
  async function everything(c: string, users: string[], threads: string[], messages: string[]) {
    const answer = (run: Promise<unknown>) => run.catch((err: Error) => err.message);
    return {
      info: await answer(ops.info(c)),
      states: await Promise.all(users.map((u) => answer(ops.state(c, u)))),
      userStates: await Promise.all(users.map((u) => answer(ops.memberStates(u, [c])))),
      threadStates: await Promise.all(
        threads.flatMap((t) => users.map((u) => answer(ops.threadState(c, t, u)))),
      ),
      threadInfos: await Promise.all(threads.map((t) => answer(ops.threadInfo(c, t)))),
      receipts: await Promise.all(messages.map((m) => answer(ops.receipts(c, m)))),
    };
  }

  it("answers the same after a claim is loaded back, and goes on from there", async () => {
    const src = "rt-src";
    const dst = "rt-dst";
    await load(src);
    const users = ["alice", "bob", "carol", "dave", "erin"];
    for (const u of users) await ops.join(src, u);
    await ops.mute(src, "bob", "1");
    await ops.post(src, "root", "alice", "0", "bob");
    await ops.post(src, "m2", "bob", "1", "");
    await ops.post(src, "m3", "carol", "0", "alice,dave");
    await ops.post(src, "root2", "carol");
    await ops.reply(src, "r1", "bob", "root", "0", "carol,zed");
    await ops.reply(src, "r2", "dave", "root", "1", "");
    await ops.reply(src, "r3", "alice", "root", "0", "dave");
    await ops.reply(src, "r4", "bob", "root");
    await ops.reply(src, "q1", "alice", "root2", "0", "erin");
    await ops.follow(src, "m2", "erin");
    await ops.follow(src, "root2", "bob");
    await ops.unfollow(src, "root2", "bob");
    await ops.follow(src, "root", "erin");
    await ops.unfollow(src, "root", "erin");
    await ops.threadRead(src, "root", "carol", "r2");
    await ops.threadUnread(src, "root", "bob", "r2");
    await ops.markRead(src, "dave", "m2");
    await ops.deleteMessage(src, "m3");
    await ops.deleteMessage(src, "r4");
    await ops.leave(src, "erin");
    await ops.join(src, "erin");
    const threads = ["root", "root2", "m2", "m3"];
    const messages = ["root", "m2", "m3", "root2", "r1", "r2", "r3", "r4", "q1"];
    const before = await everything(src, users, threads, messages);
    // The scenario did build threads: three followers of root, one of root2.
    expect(before.threadInfos).toEqual([
      [4, 4, "r3"],
      [1, 2, "q1"],
      expect.stringContaining("RS_NOT_FOUND"),
      expect.stringContaining("RS_NOT_FOUND"),
    ]);

    const p = keys.partitionOf(src);
    const k = [keys.lease(p), keys.dirty(p), keys.channelBase(src)];
    const [claimed] = parseClaim(
      (await redis.rs_claim(k.length, ...k, "w1", 10_000, "1", 10_000, src)) as unknown[],
    );
    if (!claimed) throw new Error("nothing claimed");
    expect(claimed.header[8]).toBe("1");

    const loader = keys.channelLoader(dst);
    expect(await redis.rs_load_begin(key(dst, "meta"), loader, "rt", 10_000, "1")).toBe("go");
    const staging = keys.channelStaging(dst, "rt");
    await stage(claimed, staging);
    const [, seq, lmid, ver, live, reset] = claimed.header as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    expect(
      await redis.rs_load_channel(
        keys.channelBase(dst),
        ...staging,
        loader,
        seq,
        lmid,
        ver,
        live,
        reset,
        60_000,
        "rt",
        1,
        "1",
        // What PostgreSQL's snapshot gives a load: deleted top-level messages, thread entries.
        claimed.messages.filter((m) => m[4] === "1" && m[2] === "").length,
        claimed.followers.length > 0 ? "1" : "0",
        claimed.members.filter((m) => m[5] === "1" && m[1] !== "").length,
      ),
    ).toBe(1);
    expect(await redis.exists(...staging)).toBe(0);
    expect(await redis.exists(key(dst, "dmem"), key(dst, "dmsg"))).toBe(0);
    expect(await redis.zscore(keys.dirty(keys.partitionOf(dst)), dst)).toBeNull();

    expect(await everything(dst, users, threads, messages)).toEqual(before);

    // Both go on alike: the thread's seq, its followers, the unfollow marks, the root's sender.
    const next = async (c: string) => [
      await ops.reply(c, "r5", "carol", "root", "0", "erin,bob"),
      await ops.reply(c, "q2", "alice", "root2", "0", ""),
      await ops.reply(c, "p1", "dave", "m3"),
      await ops.follow(c, "root", "erin"),
      await ops.deleteMessage(c, "r1"),
      await ops.markUnread(c, "dave", "root"),
      await ops.mute(c, "erin", "1"),
    ];
    // Read times of the changes made now differ between the two copies by a few ms.
    const noTimes = (value: unknown) => JSON.stringify(value).replace(/"?\d{13}"?/g, '"t"');
    const afterSrc = await next(src);
    const afterDst = await next(dst);
    expect(noTimes(afterDst)).toEqual(noTimes(afterSrc));
    const a = await everything(src, users, threads, [...messages, "r5", "q2", "p1"]);
    const b = await everything(dst, users, threads, [...messages, "r5", "q2", "p1"]);
    expect(noTimes(b)).toEqual(noTimes(a));
  });
});

describe("member_states", () => {
  it("answers for many channels at once: ok, not_a_member or not_loaded each", async () => {
    await load("ms-a");
    await load("ms-b");
    await redis.rs_join(...writeKeys("ms-a"), "", "ms-a", "u1");
    await redis.rs_post(...writeKeys("ms-a"), "", "ms-a", "m1", "u2", "0", "u1");
    const channelIds = ["ms-a", "ms-b", "ms-missing"];
    const k = channelIds.map((c) => keys.channelBase(c));
    // One string per channel: status, then (for ok) 8 fields of a member state and the thread count.
    expect(await redis.rs_member_states(k.length, ...k, "u1", ...channelIds)).toEqual([
      "ok|0|1|1|1|||m1|0|0",
      "not_a_member",
      "not_loaded",
    ]);
  });

  it("adds the threads the user follows in each channel, sorted by threadId, unfollowed ones left out", async () => {
    const c = "ms-threads";
    const other = "ms-threads-2";
    await load(c);
    await load(other);
    await ops.join(c, "u1");
    await ops.join(other, "u1");
    await ops.mute(other, "u1", "1");
    await ops.post(c, "m1", "u2", "0", "u1");
    await ops.post(c, "a0", "u2");
    await ops.post(c, "m2", "u2");
    await ops.follow(c, "m1", "u1");
    await ops.follow(c, "a0", "u1");
    await ops.follow(c, "m2", "u1");
    await ops.unfollow(c, "m2", "u1");
    await ops.reply(c, "r1", "u2", "m1", "0", "u1");
    await ops.post(other, "o1", "u1");
    await ops.reply(other, "or1", "u3", "o1", "1", "");
    expect(await ops.memberStates("u1", [c, other])).toEqual([
      ...["ok", 0, 3, 3, 1, "", "", "m1", 0, 2],
      ...["a0", 0, 0, 0, 0, "", "", ""],
      ...["m1", 0, 1, 1, 1, "", "", "r1"],
      ...["ok", 1, 1, 0, 0, "o1", expect.stringMatching(/^\d+$/), "", 1, 1],
      ...["o1", 0, 1, 1, 1, "", "", "or1"],
    ]);
  });
});

describe("apply", () => {
  it("runs many operations in order in one call, each with its own result or error", async () => {
    await load("ap-a");
    const k = [
      ...writeKeys("ap-a"),
      ...writeKeys("ap-a"),
      ...writeKeys("ap-missing"),
      ...writeKeys("ap-a"),
      ...writeKeys("ap-a"),
      ...writeKeys("ap-a"),
    ];
    const reply = await redis.rs_apply(
      k.length,
      ...k,
      "",
      ...["join", 2, "ap-a", "u1"],
      ...["post", 5, "ap-a", "m1", "u2", "0", "u1"],
      ...["mark_read", 3, "ap-missing", "u1", ""],
      ...["mark_read", 3, "ap-a", "u1", "nope"],
      ...["reply", 6, "ap-a", "r1", "u2", "0", "u1", "m1"],
      ...["thread_state", 3, "ap-a", "m1", "u1"],
    );
    expect(reply).toEqual([
      [1, [1, 0, 0, 0, 0, "", "", "", 0]],
      [1, [1, 1, ""]],
      [0, "RS_NOT_LOADED"],
      [0, "RS_UNKNOWN_MESSAGE"],
      [1, [1, 1, "m1"]],
      [1, [0, 1, 1, 1, "", "", "r1"]],
    ]);
    // The join ran before the post: the member sees the message unread, with its mention.
    const state = (await redis.rs_member_state(keys.channelBase("ap-a"), "", "ap-a", "u1")) as unknown[];
    expect(state).toEqual([0, 1, 1, 1, "", "", "m1", 0]);
  });
});

describe("deadline", () => {
  async function redisNow(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  it("a write past its deadline (Redis time) applies nothing and answers RS_DEADLINE", async () => {
    const c = "dl-1";
    await load(c);
    const past = (await redisNow()) - 1;
    expect(await scriptError(redis.rs_join(...writeKeys(c), past, c, "u1"))).toBe("RS_DEADLINE");
    expect(await scriptError(redis.rs_post(...writeKeys(c), past, c, "m1", "u1", "0", ""))).toBe(
      "RS_DEADLINE",
    );
    expect(await redis.zcard(key(c, "cur"))).toBe(0);
    expect(await redis.hget(key(c, "meta"), "seq")).toBe("0");
    expect(await redis.zscore(keys.dirty(keys.partitionOf(c)), c)).toBeNull();

    const future = (await redisNow()) + 60_000;
    expect(((await redis.rs_join(...writeKeys(c), future, c, "u1")) as unknown[])[0]).toBe(1);
    await ops.post(c, "root", "u1");
    const later = (await redisNow()) - 1;
    expect(await scriptError(redis.rs_reply(...writeKeys(c), later, c, "r1", "u1", "0", "", "root"))).toBe(
      "RS_DEADLINE",
    );
    expect(await scriptError(redis.rs_delete_message(...writeKeys(c), later, c, "root"))).toBe("RS_DEADLINE");
    expect(await redis.exists(key(c, "th"), key(c, "ix"))).toBe(0);
  });

  it("apply past its deadline applies none of its operations", async () => {
    const c = "dl-2";
    await load(c);
    const k = [...writeKeys(c), ...writeKeys(c)];
    const past = (await redisNow()) - 1;
    const run = redis.rs_apply(
      k.length,
      ...k,
      past,
      ...["join", 2, c, "u1"],
      ...["post", 5, c, "m1", "u1", "0", ""],
    );
    expect(await scriptError(run)).toBe("RS_DEADLINE");
    expect(await redis.hget(key(c, "meta"), "seq")).toBe("0");
    expect(await redis.zcard(key(c, "cur"))).toBe(0);
  });
});

describe("the change feed", () => {
  /** The messages of the channel's feed (keys.ts channelFeed) while run() executes, payloads split. */
  async function feedWhile(channelId: string, run: () => Promise<unknown>): Promise<string[][]> {
    const subscriber = new Redis(space.redisUrl);
    const seen: string[][] = [];
    subscriber.on("smessage", (channel: string, message: string) => {
      if (channel === keys.channelFeed(channelId)) seen.push(message.split("|"));
    });
    try {
      await subscriber.ssubscribe(keys.channelFeed(channelId));
      await run();
      // A PING on the subscriber is answered after every message published before it.
      await subscriber.ping();
      return seen;
    } finally {
      subscriber.disconnect();
    }
  }

  async function redisNow(): Promise<number> {
    const [seconds, micros] = await redis.time();
    return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
  }

  /** [op, users, threads] of each message; the last field, Redis's time, checked apart. */
  const shape = (messages: string[][]) => messages.map(([op, users, threads]) => [op, users, threads]);

  it("every write publishes one message when it changed something, and nothing when it did not", async () => {
    const c = "feed-1";
    await load(c);
    const before = await redisNow();
    const messages = await feedWhile(c, async () => {
      await ops.join(c, "a");
      await ops.join(c, "a"); // already a member: nothing
      await ops.join(c, "b");
      await ops.post(c, "m1", "a", "0", "b");
      await ops.post(c, "m1", "a"); // a repeat: nothing
      await ops.markRead(c, "b");
      await ops.markRead(c, "b"); // already there: nothing
      await ops.markUnread(c, "b", "m1");
      await ops.markUnread(c, "b", "m1"); // the cursor is there already: nothing
      await ops.mute(c, "b", "1");
      await ops.mute(c, "b", "1"); // unchanged: nothing
      await ops.reply(c, "r1", "b", "m1", "0", "a");
      await ops.follow(c, "m1", "b"); // following already: nothing
      await ops.threadRead(c, "m1", "a");
      await ops.threadUnread(c, "m1", "a", "r1");
      await ops.unfollow(c, "m1", "a");
      await ops.deleteMessage(c, "r1");
      await ops.deleteMessage(c, "r1"); // deleted already: nothing
      await ops.deleteMessage(c, "m1");
      await ops.leave(c, "b");
      await redis.rs_delete_channel(...writeKeys(c), "", c);
    });
    expect(shape(messages)).toEqual([
      ["join", "a", ""],
      ["join", "b", ""],
      ["post", "", ""],
      ["mark_read", "b", ""],
      ["mark_unread", "b", ""],
      ["mute", "b", ""],
      // The reply names the users it made followers: its sender, a (named, and the root's sender).
      ["reply", "b,a", "m1"],
      ["thread_read", "a", "m1"],
      ["thread_unread", "a", "m1"],
      ["unfollow", "a", "m1"],
      ["delete_message", "", "m1"],
      ["delete_message", "", ""],
      // b followed m1: the leave names the thread it stopped following.
      ["leave", "b", "m1"],
      ["delete_channel", "", ""],
    ]);
    const after = await redisNow();
    for (const [, , , at] of messages) {
      expect(Number(at)).toBeGreaterThanOrEqual(before);
      expect(Number(at)).toBeLessThanOrEqual(after);
    }
  });

  it("a follow publishes, and a leave names only the threads the user still followed", async () => {
    const c = "feed-2";
    await load(c);
    for (const u of ["a", "b"]) await ops.join(c, u);
    await ops.post(c, "t1", "a");
    await ops.post(c, "t2", "a");
    const messages = await feedWhile(c, async () => {
      await ops.follow(c, "t1", "b");
      await ops.follow(c, "t2", "b");
      await ops.unfollow(c, "t2", "b");
      await ops.leave(c, "b");
    });
    expect(shape(messages)).toEqual([
      ["follow", "b", "t1"],
      ["follow", "b", "t2"],
      ["unfollow", "b", "t2"],
      ["leave", "b", "t1"],
    ]);
  });

  it("operations sharing an apply call publish one message each", async () => {
    const c = "feed-3";
    await load(c);
    const k = [...writeKeys(c), ...writeKeys(c), ...writeKeys(c)];
    const messages = await feedWhile(c, () =>
      redis.rs_apply(
        k.length,
        ...k,
        "",
        ...["join", 2, c, "u1"],
        ...["post", 5, c, "m1", "u2", "0", ""],
        ...["mark_read", 3, c, "u1", ""],
      ),
    );
    expect(shape(messages)).toEqual([
      ["join", "u1", ""],
      ["post", "", ""],
      ["mark_read", "u1", ""],
    ]);
  });
});
