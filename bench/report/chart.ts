// A hand-written SVG: throughput over time for every phase (log scale, so A and C both read), and
// C's flush lag over time against the 6 s (p99) and 10 s (max) targets.
import type { BenchResult, PhaseResult } from "../results.js";

const WIDTH = 900;
const PANEL = 260;
const MARGIN = { left: 70, right: 190, top: 40, gap: 70, bottom: 40 };
export const COLORS: Record<string, string> = {
  "ceiling-redis": "#17becf",
  "ceiling-http": "#bcbd22",
  A: "#d62728",
  B: "#7f7f7f",
  C: "#1f77b4",
  D: "#ff7f0e",
  "C-http": "#2ca02c",
  "C-batch": "#9467bd",
};

export function renderChart(result: BenchResult): string {
  const phases = result.phases;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const top1 = MARGIN.top;
  const top2 = MARGIN.top + PANEL + MARGIN.gap;
  const height = top2 + PANEL + MARGIN.bottom;
  const maxT = Math.max(1, ...phases.map((p) => p.durationSec));
  const x = (t: number) => MARGIN.left + (t / maxT) * plotW;

  const rates = phases.flatMap((p) => p.timeline.map((pt) => pt.opsPerSec)).filter((v) => v > 0);
  const lo = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...rates, 1000))));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(10, ...rates)));
  const yRate = (v: number) =>
    top1 +
    PANEL -
    ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))) * PANEL;
  const lags = phases.flatMap((p) => p.timeline.map((pt) => pt.lagMs ?? 0));
  const lagMax = Math.max(12, Math.ceil(Math.max(0, ...lags) / 1000 / 2) * 2);
  const yLag = (ms: number) => top2 + PANEL - (ms / 1000 / lagMax) * PANEL;

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    text(
      MARGIN.left,
      22,
      `Throughput over time (ops/s, log scale) — seed ${String(result.options.seed)}, ${result.machine.cpus} cores`,
      14,
      "bold",
    ),
    text(
      MARGIN.left,
      top2 - 18,
      "C: flush lag over time (age of the oldest unflushed change, s)",
      14,
      "bold",
    ),
  );
  // Axes and grid.
  for (let v = lo; v <= hi; v *= 10) {
    out.push(
      line(MARGIN.left, yRate(v), MARGIN.left + plotW, yRate(v), "#ddd"),
      text(MARGIN.left - 8, yRate(v) + 4, short(v), 11, "normal", "end"),
    );
  }
  for (let s = 0; s <= lagMax; s += 2) {
    out.push(
      line(MARGIN.left, yLag(s * 1000), MARGIN.left + plotW, yLag(s * 1000), "#ddd"),
      text(MARGIN.left - 8, yLag(s * 1000) + 4, `${s} s`, 11, "normal", "end"),
    );
  }
  const step = maxT > 30 ? 10 : maxT > 10 ? 5 : 1;
  for (let t = 0; t <= maxT; t += step) {
    for (const [top] of [[top1], [top2]] as const) {
      out.push(text(x(t), top + PANEL + 16, `${t}s`, 11, "normal", "middle"));
    }
  }
  out.push(
    rect(MARGIN.left, top1, plotW, PANEL),
    rect(MARGIN.left, top2, plotW, PANEL),
    line(MARGIN.left, yLag(6000), MARGIN.left + plotW, yLag(6000), "#ff7f0e", "6,4"),
    text(MARGIN.left + plotW - 4, yLag(6000) - 4, "p99 target 6 s", 11, "normal", "end", "#ff7f0e"),
    line(MARGIN.left, yLag(10_000), MARGIN.left + plotW, yLag(10_000), "#d62728", "6,4"),
    text(MARGIN.left + plotW - 4, yLag(10_000) - 4, "max 10 s", 11, "normal", "end", "#d62728"),
  );
  // Series.
  let legendY = top1 + 10;
  for (const phase of phases) {
    const color = COLORS[phase.id] ?? "#000";
    const points = phase.timeline.map((pt) => `${x(pt.tSec).toFixed(1)},${yRate(pt.opsPerSec).toFixed(1)}`);
    if (points.length > 0) out.push(polyline(points, color));
    out.push(
      line(MARGIN.left + plotW + 12, legendY, MARGIN.left + plotW + 32, legendY, color, undefined, 3),
      text(MARGIN.left + plotW + 38, legendY + 4, `${phase.id}: ${short(phase.opsPerSec)} ops/s`, 11),
    );
    legendY += 18;
    const lagPoints = phase.timeline
      .filter((pt) => pt.lagMs !== undefined)
      .map((pt) => `${x(pt.tSec).toFixed(1)},${yLag(pt.lagMs ?? 0).toFixed(1)}`);
    if (lagPoints.length > 0) out.push(polyline(lagPoints, color));
  }
  let lagLegendY = top2 + 10;
  for (const phase of phases.filter(
    (p): p is PhaseResult & { flushLag: NonNullable<PhaseResult["flushLag"]> } => p.flushLag !== undefined,
  )) {
    const color = COLORS[phase.id] ?? "#000";
    out.push(
      line(MARGIN.left + plotW + 12, lagLegendY, MARGIN.left + plotW + 32, lagLegendY, color, undefined, 3),
      text(
        MARGIN.left + plotW + 38,
        lagLegendY + 4,
        `${phase.id}: p99 ${(phase.flushLag.p99Ms / 1000).toFixed(1)} s, max ${(phase.flushLag.maxMs / 1000).toFixed(1)} s`,
        11,
      ),
    );
    lagLegendY += 18;
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

export function short(v: number): string {
  if (v >= 1e6) return `${(v / 1e6).toFixed(v >= 1e7 ? 0 : 1)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(v >= 1e4 ? 0 : 1)}k`;
  return v.toFixed(0);
}

function escapeXml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

export function text(
  x: number,
  y: number,
  s: string,
  size = 12,
  weight = "normal",
  anchor = "start",
  fill = "#222",
): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" font-weight="${weight}" text-anchor="${anchor}" fill="${fill}">${escapeXml(s)}</text>`;
}

export function line(
  x1: number,
  y1: number,
  x2: number,
  y2: number,
  stroke: string,
  dash?: string,
  width = 1,
): string {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`;
}

export function rect(x: number, y: number, w: number, h: number): string {
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="none" stroke="#888"/>`;
}

export function polyline(points: string[], color: string): string {
  return `<polyline points="${points.join(" ")}" fill="none" stroke="${color}" stroke-width="1.8" stroke-linejoin="round"/>`;
}
