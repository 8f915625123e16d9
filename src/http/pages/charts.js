// Line charts drawn on a canvas by hand: a time axis (the last few minutes), a y axis from 0 with
// round ticks, one line per series, and dashed reference lines (the 10 s budget, say). No library: the
// pages must work on a machine with no way out, and need nothing more.

export const PALETTE = [
  "#2563eb",
  "#16a34a",
  "#d97706",
  "#9333ea",
  "#dc2626",
  "#0891b2",
  "#db2777",
  "#65a30d",
  "#78716c",
];

/** A round step for about `count` ticks up to `max`: 1, 2 or 5 times a power of ten. */
function niceStep(max, count) {
  const raw = max / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction <= 1 ? 1 : fraction <= 2 ? 2 : fraction <= 5 ? 5 : 10;
  return nice * power;
}

export function formatNumber(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${(value / 1e6).toFixed(abs >= 1e7 ? 0 : 1)}M`;
  if (abs >= 1e4) return `${(value / 1e3).toFixed(0)}k`;
  if (abs >= 100 || Number.isInteger(value)) return value.toFixed(0);
  if (abs >= 10) return value.toFixed(1);
  return value.toFixed(abs >= 1 ? 2 : 3).replace(/\.?0+$/, "") || "0";
}

/**
 * Draws `series` ([{ label, color, points: [{ t, v }], dots? }], v null for a gap) over [tMin, tMax] (ms).
 * `lines` are horizontal references ([{ value, label, color }]); the y axis always shows them.
 */
export function drawLineChart(canvas, { series, tMin, tMax, unit = "", lines = [], minMax = 1 }) {
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth;
  const height = canvas.clientHeight;
  if (canvas.width !== Math.round(width * ratio) || canvas.height !== Math.round(height * ratio)) {
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
  }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
  ctx.clearRect(0, 0, width, height);

  let max = minMax;
  for (const s of series) for (const p of s.points) if (p.v !== null && p.v > max) max = p.v;
  for (const line of lines) max = Math.max(max, line.value * 1.1);
  const step = niceStep(max, 4);
  const top = Math.ceil(max / step) * step;

  const left = 44;
  const right = 8;
  const topPad = 8;
  const bottom = 18;
  const plotW = Math.max(1, width - left - right);
  const plotH = Math.max(1, height - topPad - bottom);
  const x = (t) => left + ((t - tMin) / Math.max(1, tMax - tMin)) * plotW;
  const y = (v) => topPad + plotH - (v / top) * plotH;

  ctx.font = "11px system-ui, sans-serif";
  ctx.lineWidth = 1;
  ctx.strokeStyle = "#e5e7eb";
  ctx.fillStyle = "#6b7280";
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (let v = 0; v <= top + step / 2; v += step) {
    const py = Math.round(y(v)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(left, py);
    ctx.lineTo(width - right, py);
    ctx.stroke();
    ctx.fillText(`${formatNumber(v)}${unit}`, left - 4, py);
  }
  // Time ticks labelled by how long ago: each minute, or each 15 s on a window of 2 minutes or less.
  ctx.textAlign = "center";
  ctx.textBaseline = "top";
  const tickMs = tMax - tMin > 120_000 ? 60_000 : 15_000;
  for (let ago = 0; tMax - ago >= tMin; ago += tickMs) {
    const px = Math.round(x(tMax - ago)) + 0.5;
    ctx.beginPath();
    ctx.moveTo(px, topPad);
    ctx.lineTo(px, topPad + plotH);
    ctx.stroke();
    const label = ago === 0 ? "now" : tickMs < 60_000 ? `-${ago / 1000}s` : `-${ago / 60_000}m`;
    ctx.fillText(label, Math.min(Math.max(px, left + 10), width - right - 10), topPad + plotH + 4);
  }

  for (const line of lines) {
    const py = Math.round(y(line.value)) + 0.5;
    ctx.save();
    ctx.strokeStyle = line.color;
    ctx.setLineDash([6, 4]);
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(left, py);
    ctx.lineTo(width - right, py);
    ctx.stroke();
    ctx.restore();
    ctx.fillStyle = line.color;
    ctx.textAlign = "left";
    ctx.textBaseline = "bottom";
    ctx.fillText(line.label, left + 4, py - 2);
  }

  ctx.save();
  ctx.beginPath();
  ctx.rect(left, topPad - 1, plotW, plotH + 2);
  ctx.clip();
  ctx.lineWidth = 1.75;
  ctx.lineJoin = "round";
  for (const s of series) {
    ctx.strokeStyle = s.color;
    ctx.beginPath();
    let drawing = false;
    for (const p of s.points) {
      if (p.v === null || p.v === undefined) {
        drawing = false;
        continue;
      }
      if (drawing) ctx.lineTo(x(p.t), y(p.v));
      else ctx.moveTo(x(p.t), y(p.v));
      drawing = true;
    }
    ctx.stroke();
    // Sparse series (a flush every few seconds) read better as dots than as broken lines.
    if (s.dots) {
      ctx.fillStyle = s.color;
      for (const p of s.points) {
        if (p.v === null || p.v === undefined) continue;
        ctx.beginPath();
        ctx.arc(x(p.t), y(p.v), 2.5, 0, Math.PI * 2);
        ctx.fill();
      }
    }
  }
  ctx.restore();
}
