// Applies the numbered, append-only migrations in src/postgres/migrations to the configured schema.
// Safe when several processes start at once: a transaction-scoped advisory lock per schema
// serializes them, and each migration commits with its record.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Pool } from "pg";

const MIGRATIONS_DIR = join(dirname(fileURLToPath(import.meta.url)), "migrations");

interface Migration {
  id: number;
  name: string;
  sql: string;
}

export function listMigrations(): Migration[] {
  return readdirSync(MIGRATIONS_DIR)
    .filter((file) => /^\d+_.*\.sql$/.test(file))
    .sort()
    .map((file) => ({
      id: Number.parseInt(file, 10),
      name: file,
      sql: readFileSync(join(MIGRATIONS_DIR, file), "utf8"),
    }));
}

/** Returns the names of the migrations it applied. */
export async function migrate(pool: Pool, schema: string): Promise<string[]> {
  const client = await pool.connect();
  const applied: string[] = [];
  try {
    await client.query("BEGIN");
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`readstate:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS "${schema}".schema_migrations (
         id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const done = await client.query<{ id: number }>(`SELECT id FROM "${schema}".schema_migrations`);
    const doneIds = new Set(done.rows.map((row) => row.id));
    for (const migration of listMigrations()) {
      if (doneIds.has(migration.id)) continue;
      await client.query(migration.sql.replaceAll(":schema", `"${schema}"`));
      await client.query(`INSERT INTO "${schema}".schema_migrations (id, name) VALUES ($1, $2)`, [
        migration.id,
        migration.name,
      ]);
      applied.push(migration.name);
    }
    await client.query("COMMIT");
    return applied;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}

/** Whether every migration is in place (for readiness and doctor). */
export async function schemaStatus(pool: Pool, schema: string): Promise<{ ok: boolean; reason?: string }> {
  const exists = await pool.query("SELECT to_regclass($1) AS t", [`"${schema}".schema_migrations`]);
  if (!exists.rows[0]?.t) {
    return { ok: false, reason: `schema "${schema}" has no readstate tables: run \`readstate migrate\`` };
  }
  const done = await pool.query<{ n: string }>(`SELECT count(*) AS n FROM "${schema}".schema_migrations`);
  const expected = listMigrations().length;
  const have = Number(done.rows[0]?.n ?? 0);
  if (have < expected) {
    return {
      ok: false,
      reason: `schema "${schema}" has ${have} of ${expected} migrations: run \`readstate migrate\``,
    };
  }
  return { ok: true };
}
