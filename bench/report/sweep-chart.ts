// chart.svg of --scenario sweep: Redis CPU per post against the channel's size, both axes log, one
// line per implementation. A flat line is a post that costs the same whatever the fan-out.
import type { BenchResult } from "../results.js";
import { COLORS, line, polyline, rect, short, text } from "./chart.js";

const WIDTH = 760;
const HEIGHT = 420;
const MARGIN = { left: 80, right: 170, top: 50, bottom: 50 };

export function renderSweepChart(result: BenchResult): string {
  const sweep = result.sweep;
  const steps = sweep?.steps ?? [];
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const sizes = sweep?.sizes ?? [10];
  const xLo = 10 ** Math.floor(Math.log10(Math.min(...sizes)));
  const xHi = 10 ** Math.ceil(Math.log10(Math.max(...sizes, xLo * 10)));
  const costs = steps.map((s) => s.redisCpuUsPerPost).filter((v) => v > 0);
  const yLo = 10 ** Math.floor(Math.log10(Math.max(1e-3, Math.min(...costs, 10))));
  const yHi = 10 ** Math.ceil(Math.log10(Math.max(...costs, yLo * 10)));
  const logScale = (v: number, lo: number, hi: number) =>
    (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo));
  const x = (members: number) => MARGIN.left + logScale(members, xLo, xHi) * plotW;
  const y = (us: number) => MARGIN.top + plotH - logScale(us, yLo, yHi) * plotH;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="Helvetica, Arial, sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    text(MARGIN.left, 24, "Redis CPU per post by channel size (µs, both axes log)", 14, "bold"),
  ];
  for (let v = yLo; v <= yHi; v *= 10) {
    out.push(
      line(MARGIN.left, y(v), MARGIN.left + plotW, y(v), "#ddd"),
      text(MARGIN.left - 8, y(v) + 4, short(v), 11, "normal", "end"),
    );
  }
  for (let m = xLo; m <= xHi; m *= 10) {
    out.push(
      line(x(m), MARGIN.top, x(m), MARGIN.top + plotH, "#eee"),
      text(x(m), MARGIN.top + plotH + 16, short(m), 11, "normal", "middle"),
    );
  }
  out.push(
    text(MARGIN.left + plotW / 2, HEIGHT - 12, "members in the channel", 12, "normal", "middle"),
    rect(MARGIN.left, MARGIN.top, plotW, plotH),
  );
  let legendY = MARGIN.top + 10;
  for (const implementation of ["C", "D"] as const) {
    const mine = steps
      .filter((s) => s.implementation === implementation)
      .sort((a, b) => a.members - b.members);
    if (mine.length === 0) continue;
    const color = COLORS[implementation] ?? "#000";
    out.push(
      polyline(
        mine.map((s) => `${x(s.members).toFixed(1)},${y(s.redisCpuUsPerPost).toFixed(1)}`),
        color,
      ),
    );
    for (const s of mine) {
      out.push(
        `<circle cx="${x(s.members).toFixed(1)}" cy="${y(s.redisCpuUsPerPost).toFixed(1)}" r="3.5" fill="${color}"/>`,
        text(
          x(s.members) + 6,
          y(s.redisCpuUsPerPost) - 6,
          `${short(s.redisCpuUsPerPost)} µs`,
          10,
          "normal",
          "start",
          color,
        ),
      );
    }
    const growth = sweep?.growth[implementation];
    out.push(
      line(MARGIN.left + plotW + 12, legendY, MARGIN.left + plotW + 32, legendY, color, undefined, 3),
      text(
        MARGIN.left + plotW + 38,
        legendY + 4,
        `${implementation}${growth === undefined ? "" : `: ${growth.toFixed(growth < 10 ? 2 : 0)}× largest/smallest`}`,
        11,
      ),
    );
    legendY += 18;
  }
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}
