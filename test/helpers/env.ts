// Test isolation on the shared Redis and PostgreSQL: every test gets its own key prefix and schema,
// and removes them afterwards (never FLUSHALL: other runs share the servers).
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import pg from "pg";
import type { ReadStateConfig } from "../../src/config.js";
import { createReadState, type Engine, type TestingHooks } from "../../src/engine.js";

export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

export interface TestSpace {
  keyPrefix: string;
  schema: string;
  redisUrl: string;
  databaseUrl: string;
}

/** A fresh prefix and schema, named after the test file for easier debugging. */
export function testSpace(name: string): TestSpace {
  const id = randomBytes(4).toString("hex");
  return {
    keyPrefix: `t-${name}-${id}`,
    schema: `t_${name.replace(/[^a-z0-9]/g, "_")}_${id}`,
    redisUrl: REDIS_URL,
    databaseUrl: DATABASE_URL,
  };
}

/** An engine on the space; the worker is off unless asked for, so tests flush when they mean to. */
export function engineFor(
  space: TestSpace,
  options: Partial<ReadStateConfig> = {},
  testing: TestingHooks = {},
): Promise<Engine> {
  return createReadState({ ...space, worker: false, ...options }, testing);
}

/** Deletes every Redis key of the space: what "Redis lost its data" means for one deployment. */
export async function wipeRedis(space: TestSpace, redisUrl = space.redisUrl): Promise<void> {
  const redis = new Redis(redisUrl);
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${space.keyPrefix}:*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}

export async function dropSchema(space: TestSpace): Promise<void> {
  const client = new pg.Client({ connectionString: space.databaseUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${space.schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

export async function cleanup(space: TestSpace): Promise<void> {
  await wipeRedis(space);
  await dropSchema(space);
}

/** Runs a query on the space's schema (search_path set), for asserting what PostgreSQL holds. */
export async function queryPg<T extends pg.QueryResultRow = pg.QueryResultRow>(
  space: TestSpace,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: space.databaseUrl });
  await client.connect();
  try {
    await client.query(`SET search_path TO "${space.schema}"`);
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}
