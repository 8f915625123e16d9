// Global setup/teardown of the fault suite: clear the previous run's rows, print this run's table.
import { rmSync, writeFileSync } from "node:fs";
import { RESULTS_DIR, readResults, renderTable } from "./results.js";

export function setup(): void {
  rmSync(RESULTS_DIR, { recursive: true, force: true });
}

export function teardown(): void {
  const results = readResults();
  if (results.length === 0) return;
  const table = renderTable(results);
  const env = `CI=${process.env.CI ?? ""} FAULT_LONG=${process.env.FAULT_LONG ?? ""}`;
  writeFileSync(`${RESULTS_DIR}/summary.md`, `Run ${new Date().toISOString()} (${env})\n\n${table}\n`);
  process.stdout.write(`\nFault suite results (${env}):\n${table}\n`);
}
