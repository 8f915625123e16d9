// Each Lua script called directly, on the real Redis, with keys from the key module.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectRedis, type RedisClient } from "../../src/redis/connection.js";
import { Keys } from "../../src/redis/keys.js";
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

/** Channel keys plus the dirty index, as the writing scripts take them. */
function writeKeys(channelId: string): string[] {
  return [...keys.channel(channelId), keys.dirty(keys.partitionOf(channelId))];
}

/** Loads a channel as the service does: the load lease first, then the install, generation 1. */
async function load(channelId: string, seq = 0, version = 0): Promise<void> {
  const staging = keys.channelStaging(channelId, "t");
  const loader = keys.channelLoader(channelId);
  expect(await redis.rs_load_begin(keys.channel(channelId)[0] as string, loader, "t", 10_000, "1")).toBe(
    "go",
  );
  const installed = await redis.rs_load_channel(
    ...keys.channel(channelId),
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

describe("every channel script refuses a channel that is not loaded", () => {
  it.each([
    ["rs_join", writeKeys, ["c", "u"]],
    ["rs_leave", writeKeys, ["c", "u"]],
    ["rs_post", writeKeys, ["c", "m", "u", "0", ""]],
    ["rs_mark_read", writeKeys, ["c", "u", ""]],
    ["rs_mark_unread", writeKeys, ["c", "u", "m"]],
    ["rs_delete_channel", writeKeys, ["c"]],
    ["rs_member_state", (c: string) => keys.channel(c), ["c", "u"]],
    ["rs_channel_info", (c: string) => keys.channel(c), ["c"]],
    ["rs_receipts", (c: string) => keys.channel(c), ["c", "m", 10, ""]],
  ] as const)("%s", async (name, keysOf, args) => {
    const channelId = `missing-${name}`;
    const run = (redis[name] as (...a: (string | number)[]) => Promise<unknown>)(
      ...keysOf(channelId),
      "", // no deadline
      ...args,
    );
    expect(await scriptError(run)).toBe("RS_NOT_LOADED");
    expect(await redis.exists(...keys.channel(channelId))).toBe(0);
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
      await redis.zadd(staging[1] as string, 1, "a", 1, "b");
      // Installed clean with a 1 ms cache ttl: it expires while the loop below reads it.
      await redis.rs_load_channel(...keys.channel(c), ...staging, loader, 1, "m1", 5, "1", 0, 1, "t", 1, "1");
      for (;;) {
        const info = await redis.rs_channel_info(...keys.channel(c), "", c).catch(() => "gone");
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
      ...keys.channel(c),
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
    );

  it("installs staged keys only while the loader holds the lease", async () => {
    const c = "load-1";
    expect(await begin(c, "a", "0")).toBe("go");
    // One loader at a time, across every instance.
    expect(await begin(c, "b", "0")).toBe("busy");
    const staging = keys.channelStaging(c, "a");
    await redis.zadd(staging[1] as string, 3, "alice");
    expect(await install(c, staging, "a", 7, "1")).toBe(1);
    expect(await redis.zscore(keys.channel(c)[1] as string, "alice")).toBe("3");
    expect(await redis.hgetall(keys.channel(c)[0] as string)).toMatchObject({
      seq: "5",
      lmid: "m5",
      ver: "42",
      live: "1",
      gen: "7",
    });
    // Clean state expires with the cache; the lease is given back.
    expect(await redis.pttl(keys.channel(c)[0] as string)).toBeGreaterThan(0);
    expect(await redis.exists(keys.channelLoader(c))).toBe(0);
    expect(await begin(c, "b", "1")).toBe("loaded");
  });

  it("drops a snapshot whose lease was lost (expired, taken over, or Redis lost its data)", async () => {
    const c = "load-2";
    expect(await begin(c, "a", "0")).toBe("go");
    // Redis loses the lease; another loader takes the channel meanwhile.
    await redis.del(keys.channelLoader(c));
    expect(await begin(c, "b", "0")).toBe("go");
    const late = keys.channelStaging(c, "a");
    await redis.zadd(late[1] as string, 9, "bob");
    expect(await install(c, late, "a", 3, "1")).toBe(0);
    expect(await redis.exists(late[1] as string)).toBe(0);
    expect(await redis.exists(keys.channel(c)[0] as string)).toBe(0);
    expect(await install(c, keys.channelStaging(c, "b"), "b", 4, "1")).toBe(1);
    expect(await redis.zscore(keys.channel(c)[1] as string, "bob")).toBeNull();
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
        ...keys.channel(c),
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
      ),
    ).toBe(1);
    expect(await scriptError(redis.rs_join(...writeKeys(c), "", c, "u1"))).toBe("RS_NOT_FENCED");
    expect(await scriptError(redis.rs_post(...writeKeys(c), "", c, "m1", "u1", "0", ""))).toBe(
      "RS_NOT_FENCED",
    );
    expect(await scriptError(redis.rs_channel_info(...keys.channel(c), "", c))).toBe("RS_NOT_FOUND");
    // A reader finds it loaded; a writer replaces it with a fenced copy.
    expect(await begin(c, "b", "0")).toBe("loaded");
    expect(await begin(c, "b", "1")).toBe("go");
    expect(await install(c, keys.channelStaging(c, "b"), "b", 1, "1")).toBe(1);
    expect(await redis.hget(keys.channel(c)[0] as string, "nf")).toBeNull();
    expect((await redis.rs_join(...writeKeys(c), "", c, "u1")) as unknown[]).toHaveLength(7);
  });
});

describe("join / leave", () => {
  it("join puts the cursor at channelSeq, marks dirty and removes the cache expiry", async () => {
    const c = "join-1";
    await load(c, 7, 100);
    const reply = (await redis.rs_join(...writeKeys(c), "", c, "u1")) as unknown[];
    expect(reply).toEqual([1, 7, 7, 0, 0, "", ""]);
    expect(await redis.zscore(keys.channel(c)[8] as string, "u1")).toBe("101");
    expect(await redis.zscore(keys.dirty(keys.partitionOf(c)), c)).not.toBeNull();
    expect(await redis.pttl(keys.channel(c)[0] as string)).toBe(-1);
    // Again: unchanged, no new version.
    expect(((await redis.rs_join(...writeKeys(c), "", c, "u1")) as unknown[])[0]).toBe(0);
    expect(await redis.hget(keys.channel(c)[0] as string, "ver")).toBe("101");
  });

  it("leave removes the member and records a tombstone version", async () => {
    const c = "leave-1";
    await load(c);
    await redis.rs_join(...writeKeys(c), "", c, "u1");
    expect(await redis.rs_leave(...writeKeys(c), "", c, "u1")).toBe(1);
    expect(await redis.zscore(keys.channel(c)[1] as string, "u1")).toBeNull();
    expect(await redis.zscore(keys.channel(c)[8] as string, "u1")).toBe("2");
    expect(await scriptError(redis.rs_leave(...writeKeys(c), "", c, "u1"))).toBe("RS_NOT_A_MEMBER");
  });
});

describe("post", () => {
  it("allocates seqs, is idempotent per messageId and moves a member sender's cursor", async () => {
    const c = "post-1";
    await load(c);
    await redis.rs_join(...writeKeys(c), "", c, "alice");
    expect(await redis.rs_post(...writeKeys(c), "", c, "m1", "alice", "0", "bob")).toEqual([1, 1]);
    expect(await redis.rs_post(...writeKeys(c), "", c, "m2", "carol", "1", "")).toEqual([1, 2]);
    expect(await redis.rs_post(...writeKeys(c), "", c, "m1", "alice", "0", "")).toEqual([0, 1]);
    const [meta, cur, , msg, seqs, mn, all, alls, , dmsg, mdat] = keys.channel(c) as string[];
    expect(await redis.hmget(meta as string, "seq", "lmid")).toEqual(["2", "m2"]);
    expect(await redis.zscore(cur as string, "alice")).toBe("1");
    expect(await redis.hgetall(msg as string)).toEqual({ m1: "1", m2: "2" });
    expect(await redis.hgetall(seqs as string)).toEqual({ 1: "m1", 2: "m2" });
    expect(await redis.zrange(mn as string, "0", "-1")).toEqual(["bob|0000000000000001"]);
    expect(await redis.zrange(all as string, "0", "-1")).toEqual(["2"]);
    expect(await redis.zrange(alls as string, "0", "-1")).toEqual(["carol|0000000000000002"]);
    expect(await redis.zrange(dmsg as string, "0", "-1")).toEqual(["m1", "m2"]);
    expect(await redis.hgetall(mdat as string)).toEqual({ m1: "alice|0|bob", m2: "carol|1|" });
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
    await redis.zadd(keys.channel(big)[1] as string, ...members);

    const commandsOf = async (channelId: string, messageId: string): Promise<string[]> => {
      const lines = await monitorWhile(space.redisUrl, () =>
        redis.rs_post(...writeKeys(channelId), "", channelId, messageId, "a", "0", "b"),
      );
      // The server is shared: keep only script commands on this test's keys (TIME, keyless, is left out).
      return lines
        .filter((line) => / lua\] /.test(line) && line.includes(`"${space.keyPrefix}:`))
        .map(commandOf);
    };
    // Warm both (first post marks the channel dirty); compare steady-state posts.
    await commandsOf(small, "warm");
    await commandsOf(big, "warm");
    const smallCommands = await commandsOf(small, "m-cost");
    const bigCommands = await commandsOf(big, "m-cost");
    expect(bigCommands).toEqual(smallCommands);
    expect(smallCommands.length).toBeLessThanOrEqual(20);
    console.log(
      `post with one mention, member sender: ${smallCommands.length} commands: ${smallCommands.join(" ")}`,
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

    const state = (u: string) => redis.rs_member_state(...keys.channel(c), "", c, u) as Promise<unknown[]>;
    // b: m1 names b, m2 is @channel, m3 is b's own (and moved b's cursor to 3).
    expect((await state("b")).slice(0, 5)).toEqual([3, 3, 0, 0, "m3"]);
    const unread = (await redis.rs_mark_unread(...writeKeys(c), "", c, "b", "m1")) as unknown[];
    expect(unread.slice(0, 5)).toEqual([0, 3, 3, 2, ""]);
    // a: only m3's @channel counts (a sent m1 and m2).
    expect((await state("a")).slice(0, 5)).toEqual([2, 3, 1, 1, "m2"]);

    const older = (await redis.rs_mark_read(...writeKeys(c), "", c, "a", "m1")) as unknown[];
    expect(older.slice(0, 3)).toEqual([2, 3, 1]);
    const newest = (await redis.rs_mark_read(...writeKeys(c), "", c, "a", "")) as unknown[];
    expect(newest.slice(0, 5)).toEqual([3, 3, 0, 0, "m3"]);
    expect(Number(newest[5])).toBeGreaterThan(0);
    expect(await scriptError(redis.rs_mark_read(...writeKeys(c), "", c, "a", "nope"))).toBe(
      "RS_UNKNOWN_MESSAGE",
    );
    expect(await scriptError(redis.rs_mark_read(...writeKeys(c), "", c, "zed", ""))).toBe("RS_NOT_A_MEMBER");
    expect(await scriptError(redis.rs_mark_unread(...writeKeys(c), "", c, "a", "nope"))).toBe(
      "RS_UNKNOWN_MESSAGE",
    );
  });
});

describe("channel_info / receipts / delete_channel", () => {
  it("summarizes, pages readers by userId, and deletes to a fresh channel", async () => {
    const c = "rcpt-1";
    await load(c);
    expect(await scriptError(redis.rs_channel_info(...keys.channel(c), "", c))).toBe("RS_NOT_FOUND");
    for (const u of ["d", "b", "a", "c"]) await redis.rs_join(...writeKeys(c), "", c, u);
    await redis.rs_post(...writeKeys(c), "", c, "m1", "d", "0", "");
    await redis.rs_mark_read(...writeKeys(c), "", c, "b", "");
    await redis.rs_mark_read(...writeKeys(c), "", c, "a", "");
    expect(await redis.rs_channel_info(...keys.channel(c), "", c)).toEqual([1, 4, "m1"]);

    const page1 = await redis.rs_receipts(...keys.channel(c), "", c, "m1", 2, "");
    expect(page1).toEqual([1, 4, 3, "b", "a", 1, "b", 1]);
    const page2 = await redis.rs_receipts(...keys.channel(c), "", c, "m1", 2, "b");
    expect(page2).toEqual([1, 4, 3, "", "d", 1]);

    expect(await redis.rs_delete_channel(...writeKeys(c), "", c)).toBe(1);
    expect(await scriptError(redis.rs_channel_info(...keys.channel(c), "", c))).toBe("RS_NOT_FOUND");
    expect(await scriptError(redis.rs_delete_channel(...writeKeys(c), "", c))).toBe("RS_NOT_FOUND");
    expect(await redis.hmget(keys.channel(c)[0] as string, "seq", "live", "reset", "ver")).toEqual([
      "0",
      "0",
      "8",
      "8",
    ]);
    expect(await redis.rs_post(...writeKeys(c), "", c, "m1", "x", "0", "")).toEqual([1, 1]);
  });
});

describe("claim / clear", () => {
  const claimKeys = (p: number, channelIds: string[]) => [
    keys.lease(p),
    keys.dirty(p),
    ...channelIds.flatMap((c) => keys.channel(c)),
  ];

  it("claims dirty entries, respects another worker's lease, and clears only what was written", async () => {
    const c = "claim-1";
    const p = keys.partitionOf(c);
    await load(c);
    await redis.rs_join(...writeKeys(c), "", c, "u1");
    await redis.rs_post(...writeKeys(c), "", c, "m1", "u1", "0", "");
    const k = claimKeys(p, [c]);
    const claimed = (await redis.rs_claim(k.length, ...k, "w1", 10_000, "0", 100, c)) as unknown[];
    // channelId, seq, lmid, ver, live, reset, resetPending, claimedAt, complete, members…, messages…
    expect(claimed.slice(0, 7)).toEqual([c, "1", "m1", "2", "1", "0", "0"]);
    // complete, row version, row dirty, generation
    expect(claimed.slice(8, 12)).toEqual(["1", "2", "1", "1"]);
    expect(claimed[12]).toBe(1);
    expect(claimed[13]).toBe("u1");
    expect(await redis.rs_claim(k.length, ...k, "w2", 10_000, "0", 100, c)).toEqual([]);

    // A change after the claim: clearing version 2 must leave it dirty.
    await redis.rs_mark_unread(...writeKeys(c), "", c, "u1", "m1");
    expect(await redis.rs_clear(k.length, ...k, "w1", 60_000, c, "2", "2", "2", "", "1", "2", "1")).toBe(0);
    expect(await redis.zscore(keys.dirty(p), c)).not.toBeNull();
    expect(await redis.zrange(keys.channel(c)[8] as string, "0", "-1", "WITHSCORES")).toEqual(["u1", "3"]);
    expect(await redis.zcard(keys.channel(c)[9] as string)).toBe(0);
    expect(await redis.hlen(keys.channel(c)[10] as string)).toBe(0);

    const again = (await redis.rs_claim(k.length, ...k, "w2", 10_000, "0", 100, c)) as unknown[];
    expect(again[3]).toBe("3");
    // Only a cursor moved since the row was written: the channel row is not dirty.
    expect(again[10]).toBe("0");
    expect(await redis.rs_clear(k.length, ...k, "w2", 60_000, c, "3", "3", "0", "", "1", "", "2")).toBe(0);
    // The copy the claim read was generation 1; a clear for another generation changes nothing.
    expect(await redis.zscore(keys.dirty(p), c)).not.toBeNull();
    expect(await redis.rs_clear(k.length, ...k, "w2", 60_000, c, "3", "3", "0", "", "1", "", "1")).toBe(1);
    expect(await redis.zscore(keys.dirty(p), c)).toBeNull();
    expect(await redis.pttl(keys.channel(c)[0] as string)).toBeGreaterThan(0);
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
  });
});

describe("member_states", () => {
  it("answers for many channels at once: ok, not_a_member or not_loaded each", async () => {
    await load("ms-a");
    await load("ms-b");
    await redis.rs_join(...writeKeys("ms-a"), "", "ms-a", "u1");
    await redis.rs_post(...writeKeys("ms-a"), "", "ms-a", "m1", "u2", "0", "u1");
    const channelIds = ["ms-a", "ms-b", "ms-missing"];
    const k = channelIds.flatMap((c) => keys.channel(c));
    expect(await redis.rs_member_states(k.length, ...k, "u1", ...channelIds)).toEqual([
      "ok",
      0,
      1,
      1,
      1,
      "",
      "",
      "not_a_member",
      0,
      0,
      0,
      0,
      "",
      "",
      "not_loaded",
      0,
      0,
      0,
      0,
      "",
      "",
    ]);
  });
});

describe("apply", () => {
  it("runs many operations in order in one call, each with its own result or error", async () => {
    await load("ap-a");
    const k = [...writeKeys("ap-a"), ...writeKeys("ap-a"), ...writeKeys("ap-missing"), ...writeKeys("ap-a")];
    const reply = await redis.rs_apply(
      k.length,
      ...k,
      "",
      ...["join", 2, "ap-a", "u1"],
      ...["post", 5, "ap-a", "m1", "u2", "0", "u1"],
      ...["mark_read", 3, "ap-missing", "u1", ""],
      ...["mark_read", 3, "ap-a", "u1", "nope"],
    );
    expect(reply).toEqual([
      [1, [1, 0, 0, 0, 0, "", ""]],
      [1, [1, 1]],
      [0, "RS_NOT_LOADED"],
      [0, "RS_UNKNOWN_MESSAGE"],
    ]);
    // The join ran before the post: the member sees the message unread, with its mention.
    const state = (await redis.rs_member_state(...keys.channel("ap-a"), "", "ap-a", "u1")) as unknown[];
    expect(state.slice(0, 4)).toEqual([0, 1, 1, 1]);
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
    expect(await redis.zcard(keys.channel(c)[1] as string)).toBe(0);
    expect(await redis.hget(keys.channel(c)[0] as string, "seq")).toBe("0");
    expect(await redis.zscore(keys.dirty(keys.partitionOf(c)), c)).toBeNull();

    const future = (await redisNow()) + 60_000;
    expect(((await redis.rs_join(...writeKeys(c), future, c, "u1")) as unknown[])[0]).toBe(1);
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
    expect(await redis.hget(keys.channel(c)[0] as string, "seq")).toBe("0");
    expect(await redis.zcard(keys.channel(c)[1] as string)).toBe(0);
  });
});
