// `readstate flush`: write everything dirty to PostgreSQL now (e.g. before maintenance on Redis).
import { resolveServerConfig } from "../config.js";
import { createReadState } from "../engine.js";
import {
  CONNECTION_FLAGS,
  configFlags,
  type FlagSpecs,
  HELP_FLAG,
  parseFlags,
  renderHelp,
} from "./options.js";

const FLAGS: FlagSpecs = { ...CONNECTION_FLAGS, ...HELP_FLAG };

export const flush = {
  name: "flush",
  summary: "write everything dirty to PostgreSQL now, print { flushed, remaining }",
  help: renderHelp(
    "readstate flush [options]",
    "Flushes everything dirty at the time of the call to PostgreSQL and prints the result as JSON.\n" +
      "Exits 1 when the flush fails (PostgreSQL or Redis unreachable).",
    FLAGS,
  ),
  async run(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
    const values = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(flush.help);
      return 0;
    }
    const config = resolveServerConfig({ ...configFlags(values, FLAGS), worker: false, migrate: false }, env);
    const engine = await createReadState(config);
    try {
      const result = await engine.flush();
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return 0;
    } finally {
      await engine.close();
    }
  },
};
