// /dashboard: polls GET /v1/admin/stats every second (the first call takes the whole 5-minute
// history, later ones only the new points) and redraws the tiles and charts.

import { drawLineChart, formatNumber, PALETTE } from "./charts.js";
import { api } from "./common.js";

const POLL_MS = 1000;
const WINDOW_MS = 300_000;
const MIN_WINDOW_MS = 60_000;
/** Lines per chart; the rest of the operations are summed as "other". */
const TOP_OPS = 6;

let points = [];
let report;
const colors = new Map();

function colorOf(name) {
  if (!colors.has(name)) colors.set(name, PALETTE[colors.size % PALETTE.length]);
  return colors.get(name);
}

function setTile(name, value, text, level = "ok") {
  const tile = document.querySelector(`[data-stat="${name}"]`);
  tile.dataset.value = value === null || value === undefined ? "" : String(value);
  tile.dataset.level = level;
  tile.querySelector(".value").textContent = text ?? formatNumber(value);
}

function setLegend(id, series, current) {
  const legend = document.getElementById(`legend-${id}`);
  legend.replaceChildren(
    ...series.map((s) => {
      const item = document.createElement("li");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = s.color;
      item.append(swatch, `${s.label} ${current ? formatNumber(current(s)) : ""}`);
      return item;
    }),
  );
}

/** The operations with the most calls over the history, busiest first. */
function busiestOps() {
  const totals = new Map();
  for (const p of points)
    for (const [op, n] of Object.entries(p.ops)) totals.set(op, (totals.get(op) ?? 0) + n);
  return [...totals.entries()].sort((a, b) => b[1] - a[1]).map(([op]) => op);
}

function lastValue(s) {
  for (let i = s.points.length - 1; i >= 0; i--) if (s.points[i].v !== null) return s.points[i].v;
  return null;
}

function render() {
  if (!report) return;
  const tMax = points.length > 0 ? points[points.length - 1].t + report.intervalMs : Date.parse(report.now);
  // A young process has less than 5 minutes to show: the window grows with its history, from 1 minute.
  const span = points.length > 0 ? tMax - points[0].t : 0;
  const tMin = tMax - Math.min(WINDOW_MS, Math.max(MIN_WINDOW_MS, span));
  const chart = (id, series, options = {}) => {
    drawLineChart(document.getElementById(`chart-${id}`), { series, tMin, tMax, ...options });
    setLegend(id, series, options.legendValue === false ? undefined : lastValue);
  };
  const line = (label, pick, extra = {}) => ({
    label,
    color: extra.color ?? colorOf(label),
    points: points.map((p) => ({ t: p.t, v: pick(p) })),
    ...extra,
  });

  const ops = busiestOps();
  const shown = ops.slice(0, TOP_OPS);
  const others = ops.slice(TOP_OPS);
  const opSeries = shown.map((op) => line(op, (p) => p.ops[op] ?? 0));
  if (others.length > 0) {
    opSeries.push(line("other", (p) => others.reduce((sum, op) => sum + (p.ops[op] ?? 0), 0)));
  }
  chart("ops", opSeries);
  chart(
    "p99",
    // Sparse: an operation has a p99 only in the seconds it ran.
    shown.map((op) => line(op, (p) => p.p99Ms[op] ?? null, { dots: true })),
  );
  chart("dirty", [line("dirty channels", (p) => p.dirty, { color: "#2563eb" })]);
  const budgetS = report.durabilityBudgetMs / 1000;
  chart(
    "age",
    [
      line("oldest dirty age", (p) => (p.oldestDirtyAgeMs === null ? null : p.oldestDirtyAgeMs / 1000), {
        color: "#9333ea",
      }),
    ],
    {
      unit: "s",
      lines: [
        { value: budgetS, label: `${budgetS} s budget`, color: "#dc2626" },
        { value: report.backpressureAgeMs / 1000, label: "writes refused past this", color: "#d97706" },
      ],
    },
  );
  chart("flushRows", [line("rows", (p) => p.flushRows, { color: "#16a34a" })]);
  chart("flushMs", [line("longest batch", (p) => p.flushMs, { color: "#0891b2", dots: true })]);
  const codes = [...new Set(points.flatMap((p) => Object.keys(p.errors)))].sort();
  chart(
    "errors",
    codes.map((code) => line(code, (p) => p.errors[code] ?? 0)),
  );
  chart("streams", [line("open streams", (p) => p.openStreams, { color: "#db2777" })]);

  const now = report.current;
  const totalOps = Object.values(now.opsPerSecond).reduce((a, b) => a + b, 0);
  setTile("ops", totalOps);
  const worst = Object.entries(now.p99Ms).sort((a, b) => b[1] - a[1])[0];
  setTile("p99", worst ? worst[1] : null, worst ? `${formatNumber(worst[1])}` : "–");
  document.querySelector('[data-stat="p99"] .unit').textContent = worst ? `ms · ${worst[0]}` : "ms";
  setTile("dirty", now.dirty);
  const ageS = now.oldestDirtyAgeMs === null ? null : now.oldestDirtyAgeMs / 1000;
  const ageLevel =
    ageS === null
      ? "unknown"
      : ageS * 1000 >= report.durabilityBudgetMs
        ? "bad"
        : ageS * 1000 >= report.backpressureAgeMs
          ? "warn"
          : "ok";
  setTile("age", ageS, ageS === null ? "–" : ageS.toFixed(1), ageLevel);
  setTile("flushRows", now.flushRowsPerSecond);
  setTile("flushMs", now.flushMs);
  const errors = Object.values(now.errorsPerSecond).reduce((a, b) => a + b, 0);
  setTile("errors", errors, undefined, errors > 0 ? "warn" : "ok");
  setTile("streams", now.openStreams);
}

function setStatus(state, text) {
  const status = document.getElementById("status");
  status.dataset.state = state;
  status.textContent = text;
}

async function poll() {
  const since = points.length > 0 ? points[points.length - 1].t : undefined;
  try {
    const next = await api("GET", since === undefined ? "/v1/admin/stats" : `/v1/admin/stats?since=${since}`);
    report = next;
    points = points.concat(next.history).slice(-Math.ceil(WINDOW_MS / next.intervalMs));
    const shedding = next.current.shedding ? " · writes refused (backpressure)" : "";
    const backlog = next.current.dirty === null ? " · backlog unreadable (Redis?)" : "";
    setStatus(
      shedding || backlog ? "warn" : "live",
      `live · ${new Date(next.now).toLocaleTimeString()}${shedding}${backlog}`,
    );
    render();
  } catch (err) {
    setStatus("error", `no stats: ${err.message}`);
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

window.addEventListener("resize", render);
poll();
