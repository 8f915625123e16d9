// Deadlines are in Redis's time, measured rather than assumed: a host clock an hour off must neither
// stop writes nor let a late one through.
import { afterAll, beforeAll, expect, it } from "vitest";
import { monotonicNow, RedisClock, scriptBudgetMs, scriptDeadline } from "../../src/redis/clock.js";
import { connectRedis, type RedisClient } from "../../src/redis/connection.js";
import { Keys } from "../../src/redis/keys.js";
import { testSpace, wipeRedis } from "../helpers/env.js";

const space = testSpace("clock");
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

async function redisNow(): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Number(micros) / 1000;
}

it("keeps the budget below the timeout by a margin", () => {
  expect(scriptBudgetMs(2000)).toBe(1500);
  expect(scriptBudgetMs(10_000)).toBe(9500);
  expect(scriptBudgetMs(200)).toBe(150);
});

it.each([
  ["an hour ahead", 3_600_000],
  ["an hour behind", -3_600_000],
])("measures Redis's clock from a host clock %s", async (_name, skewMs) => {
  const clock = new RedisClock(redis, () => monotonicNow() + skewMs);
  await clock.sync();
  expect(Math.abs(clock.now() - (await redisNow()))).toBeLessThan(50);
  expect(Math.abs((clock.estimate?.offsetMs ?? 0) + skewMs)).toBeLessThan(60_000);

  // A write sent now applies; one whose budget is spent does not.
  const c = `clock${skewMs}`;
  const channel = keys.channel(c);
  const loader = keys.channelLoader(c);
  expect(await redis.rs_load_begin(channel[0] as string, loader, "t", 10_000, "1")).toBe("go");
  await redis.rs_load_channel(
    keys.channelBase(c),
    ...keys.channelStaging(c, "t"),
    loader,
    0,
    "",
    0,
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
  const writeKeys = keys.channelWithDirty(c);
  const joined = (await redis.rs_join(...writeKeys, scriptDeadline(clock, 2000), c, "u1")) as unknown[];
  expect(joined[0]).toBe(1);
  const spent = Math.floor(clock.now()) - 1;
  await expect(redis.rs_join(...writeKeys, spent, c, "u2")).rejects.toThrow(/RS_DEADLINE/);
  expect(await redis.zscore(channel[1] as string, "u2")).toBeNull();
});
