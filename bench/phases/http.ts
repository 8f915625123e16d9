import type { PhaseResult } from "../results.js";
import type { RunContext } from "./context.js";
export async function runHttp(_ctx: RunContext): Promise<PhaseResult[]> {
  return [];
}
