// Each scenario writes one row of figures; the suite's teardown prints them as the table that
// docs/RELIABILITY.md quotes. Rows live in test/faults/results/ (ignored by git except the last summary).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const RESULTS_DIR = fileURLToPath(new URL("../results/", import.meta.url));

export interface ScenarioResult {
  id: number;
  name: string;
  injected: string;
  acknowledged: number;
  lost: number;
  /** Acknowledged writes the design allows to lose here, in words ("≤ 1 s", "0"). */
  allowed: string;
  /** The oldest lost write's age at the fault, ms (0 when nothing was lost). */
  oldestLostAgeMs: number;
  recoveryMs: number | null;
  notes: string;
  passed: boolean;
}

export function writeResult(result: ScenarioResult): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(`${RESULTS_DIR}/scenario-${result.id}.json`, `${JSON.stringify(result, null, 2)}\n`);
}

export function readResults(): ScenarioResult[] {
  let files: string[] = [];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => /^scenario-\d+\.json$/.test(f));
  } catch {
    return [];
  }
  return files
    .map((f) => JSON.parse(readFileSync(`${RESULTS_DIR}/${f}`, "utf8")) as ScenarioResult)
    .sort((a, b) => a.id - b.id);
}

export function renderTable(results: ScenarioResult[]): string {
  const header =
    "| # | scenario | injected | acked writes | lost | allowed | oldest lost (ms before fault) | recovery (ms) | result | notes |";
  const rule = "|---|---|---|---|---|---|---|---|---|---|";
  const rows = results.map(
    (r) =>
      `| ${r.id} | ${r.name} | ${r.injected} | ${r.acknowledged} | ${r.lost} | ${r.allowed} | ${r.lost ? r.oldestLostAgeMs : "-"} | ${r.recoveryMs ?? "-"} | ${r.passed ? "pass" : "FAIL"} | ${r.notes} |`,
  );
  return [header, rule, ...rows].join("\n");
}
