#!/usr/bin/env node
// The `readstate` command line: one file per command, dispatched by the first argument.
import { ConfigError } from "../config.js";
import { DependencyError } from "./deps.js";
import { doctor } from "./doctor.js";
import { flush } from "./flush.js";
import { migrate } from "./migrate.js";
import { UsageError } from "./options.js";
import { serve } from "./serve.js";
import { worker } from "./worker.js";

interface Command {
  name: string;
  summary: string;
  help: string;
  run(argv: string[], env: NodeJS.ProcessEnv): Promise<number | "running">;
}

const COMMANDS: Command[] = [serve, worker, migrate, flush, doctor];

function usage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length)) + 2;
  return (
    "Usage: readstate <command> [options]\n\n" +
    "Read state for chat products: unread counts, mentions and read receipts.\n\nCommands:\n" +
    COMMANDS.map((command) => `  ${command.name.padEnd(width)}${command.summary}`).join("\n") +
    "\n\nreadstate <command> --help shows a command's options; every option can also come from the\n" +
    "environment (REDIS_URL, DATABASE_URL, READSTATE_PG_SCHEMA, ...).\n"
  );
}

async function main(argv: string[]): Promise<number | "running"> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(usage());
    return name === undefined ? 2 : 0;
  }
  const command = COMMANDS.find((candidate) => candidate.name === name);
  if (!command) {
    process.stderr.write(`readstate: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  try {
    return await command.run(rest, process.env);
  } catch (err) {
    if (err instanceof UsageError || err instanceof ConfigError) {
      process.stderr.write(`readstate ${name}: ${err.message}\n(see readstate ${name} --help)\n`);
      return 2;
    }
    if (err instanceof DependencyError) {
      // Already says which dependency, the URL tried and the fix.
      process.stderr.write(`readstate ${name}: ${err.message}\n`);
      return 1;
    }
    process.stderr.write(`readstate ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

main(process.argv.slice(2)).then((outcome) => {
  // Long-running commands keep the process alive and exit from their signal handlers.
  if (outcome !== "running") process.exit(outcome);
});
