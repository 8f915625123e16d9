// The channel-size sweep as a table: Redis CPU per post of C and D side by side, by channel size.
import type { BenchResult, SweepStep } from "../results.js";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const us = (n: number | undefined) => (n === undefined ? "–" : n < 100 ? n.toFixed(1) : int(n));

/** Rows: members, then per implementation Redis µs/post, posts/s, post p99 ms, PG µs/post, PG rows/post. */
export function sweepRows(result: BenchResult): string[][] {
  const sweep = result.sweep;
  if (sweep === undefined) return [];
  const at = (implementation: string, members: number): SweepStep | undefined =>
    sweep.steps.find((s) => s.implementation === implementation && s.members === members);
  const rows: string[][] = [
    [
      "members",
      "C Redis µs/post",
      "D Redis µs/post",
      "D / C",
      "C posts/s",
      "D posts/s",
      "C p99 ms",
      "D p99 ms",
      "C PG µs/post",
      "D PG µs/post",
      "C PG rows/post",
      "D PG rows/post",
      "Redis busy before (cores)",
    ],
  ];
  for (const members of sweep.sizes) {
    const c = at("C", members);
    const d = at("D", members);
    rows.push([
      int(members),
      us(c?.redisCpuUsPerPost),
      us(d?.redisCpuUsPerPost),
      c && d && c.redisCpuUsPerPost > 0 ? `${(d.redisCpuUsPerPost / c.redisCpuUsPerPost).toFixed(1)}×` : "–",
      c ? int(c.postsPerSec) : "–",
      d ? int(d.postsPerSec) : "–",
      c ? c.latency.p99Ms.toFixed(1) : "–",
      d ? d.latency.p99Ms.toFixed(1) : "–",
      us(c?.postgresCpuUsPerPost),
      us(d?.postgresCpuUsPerPost),
      c ? c.pgRowsPerPost.toFixed(2) : "–",
      d ? d.pgRowsPerPost.toFixed(2) : "–",
      [c, d]
        .filter((s) => s !== undefined)
        .map((s) => s.redisBackgroundCores.toFixed(2))
        .join(" / "),
    ]);
  }
  return rows;
}

/** "C 1.05×, D 812×": Redis CPU per post in the largest channel over the smallest. */
export function sweepGrowthLine(result: BenchResult): string {
  const sweep = result.sweep;
  if (sweep === undefined) return "";
  const largest = Math.max(...sweep.sizes);
  const smallest = Math.min(...sweep.sizes);
  const parts = (["C", "D"] as const)
    .filter((id) => sweep.growth[id] !== undefined)
    .map((id) => `${id} ${(sweep.growth[id] as number).toFixed(2)}×`);
  return `Redis CPU per post, ${int(largest)} members vs ${int(smallest)}: ${parts.join(", ") || "–"}`;
}
