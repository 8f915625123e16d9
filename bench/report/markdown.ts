import type { BenchResult } from "../results.js";
export function renderMarkdown(result: BenchResult): string {
  return JSON.stringify(result.targets);
}
