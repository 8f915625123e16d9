// `readstate migrate`: apply the PostgreSQL migrations (safe while other processes start).
import { resolveServerConfig } from "../config.js";
import { migrate as applyMigrations } from "../postgres/migrate.js";
import { createPool } from "../postgres/store.js";
import { explainStartError } from "./deps.js";
import {
  CONNECTION_FLAGS,
  configFlags,
  type FlagSpecs,
  HELP_FLAG,
  parseFlags,
  renderHelp,
} from "./options.js";

const FLAGS: FlagSpecs = {
  "database-url": CONNECTION_FLAGS["database-url"],
  schema: CONNECTION_FLAGS.schema,
  ...HELP_FLAG,
};

export const migrate = {
  name: "migrate",
  summary: "create or upgrade the PostgreSQL schema",
  help: renderHelp(
    "readstate migrate [options]",
    "Applies the numbered migrations that are not yet in the schema; safe to run repeatedly and\n" +
      "while other readstate processes start.",
    FLAGS,
  ),
  async run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    const values = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(migrate.help);
      return 0;
    }
    const config = resolveServerConfig(configFlags(values, FLAGS), env);
    const pool = createPool(config.databaseUrl, 1);
    try {
      const applied = await applyMigrations(pool, config.schema).catch((err: unknown) => {
        throw explainStartError("migrate", err, { databaseUrl: config.databaseUrl, redisUrl: "" });
      });
      process.stdout.write(
        applied.length === 0
          ? `schema "${config.schema}" is up to date\n`
          : `schema "${config.schema}": applied ${applied.join(", ")}\n`,
      );
      return 0;
    } finally {
      await pool.end().catch(() => {});
    }
  },
};
