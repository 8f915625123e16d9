// The stdout table: what a person reads first after `npm run bench`.
import type { BenchResult, PhaseResult } from "../results.js";
import { sweepGrowthLine, sweepRows } from "./sweep.js";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number | undefined) => (n === undefined ? "-" : n < 10 ? n.toFixed(2) : n.toFixed(1));

export function renderTable(result: BenchResult): string {
  const lines: string[] = [];
  const sweep = sweepRows(result);
  if (sweep.length > 0) lines.push(...grid(sweep), sweepGrowthLine(result), "");
  if (result.phases.length === 0) return [...lines, ...targetLines(result)].join("\n");
  const rows: string[][] = [
    [
      "implementation",
      "ops/s",
      "req/s",
      "of ceiling",
      "status upd/s",
      "p50 ms",
      "p99 ms",
      "max ms",
      "PG rows/op",
      "refused",
      "errors",
    ],
  ];
  for (const p of result.phases) {
    const all = p.latency.all;
    rows.push([
      p.label,
      int(p.opsPerSec),
      p.requestsPerSec === undefined ? "-" : int(p.requestsPerSec),
      ofCeilingCell(result, p),
      p.mode === "ceiling" ? "-" : int(p.statusUpdatesPerSec),
      ms(all?.p50Ms),
      ms(all?.p99Ms),
      ms(all?.maxMs),
      p.pgRows === undefined ? "-" : p.pgRows.perOp.toFixed(3),
      refusedCell(p),
      int(errorCount(p)),
    ]);
  }
  lines.push(...grid(rows), "");

  const kinds = [...new Set(result.phases.flatMap((p) => Object.keys(p.latency)))].filter((k) => k !== "all");
  const latencyRows: string[][] = [["latency p50 / p99 / max (ms)", ...kinds]];
  for (const p of result.phases) {
    latencyRows.push([
      p.id,
      ...kinds.map((k) => {
        const s = p.latency[k];
        return s === undefined || s.count === 0 ? "-" : `${ms(s.p50Ms)} / ${ms(s.p99Ms)} / ${ms(s.maxMs)}`;
      }),
    ]);
  }
  lines.push(...grid(latencyRows), "");

  const probeRows: string[][] = [["post probe p99 (ms)", ...probeKeys(result.phases)]];
  for (const p of result.phases.filter((ph) => ph.mode === "in-process")) {
    probeRows.push([p.id, ...probeKeys(result.phases).map((k) => ms(p.probe[k]?.p99Ms))]);
  }
  if (probeRows.length > 1) lines.push(...grid(probeRows), "");

  for (const p of result.phases.filter((ph) => ph.flushLag !== undefined)) {
    const lag = p.flushLag;
    if (lag === undefined) continue;
    lines.push(
      `${p.id} flush lag: p50 ${(lag.p50Ms / 1000).toFixed(2)} s, p99 ${(lag.p99Ms / 1000).toFixed(2)} s, max ${(lag.maxMs / 1000).toFixed(2)} s ` +
        `(${lag.samples} samples); backlog max ${int(lag.maxDirty)} channels, at end ${int(lag.endDirty)}`,
    );
  }
  for (const p of result.phases.filter((ph) => ph.refused.total > 0)) {
    lines.push(`${p.id} refused: ${refusedDetail(p)}`);
  }
  if (result.redisBytesPerMember !== undefined) {
    lines.push(`C Redis memory per member state: ${int(result.redisBytesPerMember)} bytes`);
  }
  const r = result.ratios;
  lines.push(
    `Ratios: C/A throughput ${r.cOverA?.toFixed(1) ?? "-"}×, C/B ${r.cOverB?.toFixed(2) ?? "-"}×, C rows/op = ${
      r.cRowsOverA === undefined ? "-" : `${(r.cRowsOverA * 100).toFixed(1)}% of A's`
    }`,
    ...ceilingLines(result),
    "",
  );
  const costRows: string[][] = [["PostgreSQL per op", "rows", "transactions", "CPU µs"]];
  for (const p of result.phases) {
    if (p.pgCost === undefined) continue;
    costRows.push([
      p.id,
      p.pgRows === undefined ? "-" : p.pgRows.perOp.toFixed(3),
      p.pgCost.transactionsPerOp === null ? "-" : p.pgCost.transactionsPerOp.toFixed(3),
      p.pgCost.cpuUsPerOp.toFixed(1),
    ]);
  }
  if (costRows.length > 1) lines.push(...grid(costRows), "");
  const cpuRows: string[][] = [
    ["CPU (cores of 2)", "bench+load gen", "Redis", "PostgreSQL", "HTTP server", "other processes"],
  ];
  for (const p of result.phases) {
    cpuRows.push([
      p.id,
      p.cpu.benchProcessCores.toFixed(2),
      p.cpu.redisCores.toFixed(2),
      p.cpu.postgresCores.toFixed(2),
      p.cpu.serverCores === undefined ? "-" : p.cpu.serverCores.toFixed(2),
      p.cpu.otherCores === undefined ? "-" : p.cpu.otherCores.toFixed(2),
    ]);
  }
  lines.push(...grid(cpuRows), "");
  lines.push(...targetLines(result));
  return lines.join("\n");
}

function targetLines(result: BenchResult): string[] {
  const lines = ["Targets (issues 4, 8 and 12):"];
  for (const t of result.targets) {
    const verdict = t.pass === null ? "N/A " : t.pass ? "PASS" : "MISS";
    lines.push(`  ${verdict}  ${t.name}: ${t.actual} (target ${t.target})`);
  }
  return lines;
}

/** The phase's throughput as a share of its ceiling ("ceiling" on the ceiling rows themselves). */
export function ofCeilingCell(result: BenchResult, p: PhaseResult): string {
  if (p.mode === "ceiling") return "ceiling";
  const of = result.ratios.ofCeiling?.[p.id];
  return of === undefined ? "-" : `${of.ratio.toFixed(2)}×`;
}

/** What the "of ceiling" column divides by, in words. */
export function ceilingLines(result: BenchResult): string[] {
  const redis = result.phases.find((p) => p.id === "ceiling-redis");
  const http = result.phases.find((p) => p.id === "ceiling-http");
  const lines: string[] = [];
  if (redis) lines.push(`Of ceiling: in process ops/s ÷ ceiling-redis ${int(redis.opsPerSec)} ops/s`);
  if (http?.requestsPerSec !== undefined) {
    lines.push(
      `Of ceiling: HTTP single req/s and /v1/batch ops/s ÷ ceiling-http ${int(http.requestsPerSec)} req/s`,
    );
  }
  return lines;
}

/** Refused operations, with their share of the phase's writes when there were any. */
export function refusedCell(p: PhaseResult): string {
  const r = p.refused;
  if (r.total === 0 || r.writesAttempted === 0) return int(r.total);
  return `${int(r.total)} (${(r.writeShare * 100).toFixed(2)}%)`;
}

/** By kind, with the time to the refusal (refused ops are not in the latency above). */
export function refusedDetail(p: PhaseResult): string {
  const r = p.refused;
  const kinds = Object.entries(r.byKind)
    .map(([k, v]) => `${k} ${int(v)}`)
    .join(", ");
  return (
    `${kinds}; ${(r.writeShare * 100).toFixed(2)}% of ${int(r.writesAttempted)} writes; ` +
    `answered in p50 ${ms(r.latency.p50Ms)} / p99 ${ms(r.latency.p99Ms)} ms`
  );
}

export function errorCount(p: PhaseResult): number {
  return Object.values(p.errors).reduce((a, b) => a + b, 0);
}

function probeKeys(phases: PhaseResult[]): string[] {
  return [...new Set(phases.flatMap((p) => Object.keys(p.probe)))].filter((k) => k !== "all").sort();
}

function grid(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row, r) => {
    const line = row
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0)))
      .join("  ");
    return r === 0 ? `${line}\n${"-".repeat(line.length)}` : line;
  });
}
