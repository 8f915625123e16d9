// `readstate worker`: the write-behind worker alone, for deployments that scale API and workers
// separately (`serve --no-worker` plus N of these; they share the dirty partitions).
import { resolveServerConfig } from "../config.js";
import { createReadState } from "../engine.js";
import { explainStartError } from "./deps.js";
import { logEngineEvents, stopOnSignals } from "./lifecycle.js";
import { createLogger } from "./logger.js";
import {
  CONNECTION_FLAGS,
  configFlags,
  type FlagSpecs,
  HELP_FLAG,
  LOG_FLAGS,
  parseFlags,
  renderHelp,
  WORKER_FLAGS,
} from "./options.js";

const FLAGS: FlagSpecs = { ...CONNECTION_FLAGS, ...WORKER_FLAGS, ...LOG_FLAGS, ...HELP_FLAG };

export const worker = {
  name: "worker",
  summary: "run the write-behind worker only (Redis → PostgreSQL)",
  help: renderHelp(
    "readstate worker [options]",
    "Flushes dirty state from Redis to PostgreSQL every flush interval, looping at once while a backlog\n" +
      "remains. SIGTERM/SIGINT: flush everything dirty, exit 0.",
    FLAGS,
  ),
  async run(argv: string[], env: NodeJS.ProcessEnv): Promise<number | "running"> {
    const values = parseFlags(argv, FLAGS);
    if (values.help) {
      process.stdout.write(worker.help);
      return 0;
    }
    const config = resolveServerConfig(
      { ...configFlags(values, FLAGS), worker: true, migrate: !values["no-migrate"] },
      env,
    );
    const log = createLogger(values["log-level"], env);
    const engine = await createReadState(config).catch((err: unknown) => {
      throw explainStartError("worker", err, config);
    });
    logEngineEvents(log, engine.events);
    // Flushes are the only activity here, so they are worth an info line each.
    engine.events.on("flush", (report) => log.info({ flush: report }, "flushed"));
    log.info(
      { schema: config.schema, prefix: config.keyPrefix, flushIntervalMs: config.flushIntervalMs },
      "readstate worker running",
    );
    stopOnSignals(log, { forceOnSecondSignal: true }, () => engine.close());
    return "running";
  },
};
