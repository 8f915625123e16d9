// bench/results/report.md: the run in full, for a person reading it later.
import type { BenchResult, PhaseResult } from "../results.js";
import { sweepGrowthLine, sweepRows } from "./sweep.js";
import { ceilingLines, errorCount, ofCeilingCell, refusedCell, refusedDetail } from "./table.js";

const int = (n: number) => Math.round(n).toLocaleString("en-US");
const ms = (n: number | undefined) => (n === undefined ? "–" : n < 10 ? n.toFixed(2) : n.toFixed(1));
const cores = (n: number | undefined) => (n === undefined || Number.isNaN(n) ? "–" : n.toFixed(2));

export function renderMarkdown(result: BenchResult): string {
  const out: string[] = [];
  const m = result.machine;
  out.push(
    "# readstate benchmark: C (readstate) against ADR-02's Patterns A, B and D",
    "",
    `Run ${result.startedAt}, ${result.totalSec.toFixed(0)} s in total. Command: \`${result.command}\``,
    "",
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}, Redis ${m.redis}, PostgreSQL ${m.postgres} ` +
      `(${Object.entries(m.postgresSettings)
        .map(([k, v]) => `${k}=${v}`)
        .join(", ")}); Redis and PostgreSQL on the same machine.`,
    "",
  );
  // The sweep is a run of its own: the phase sections would all be empty.
  if (result.sweep !== undefined) {
    out.push(...sweepSection(result), ...targetLines(result), ...optionLines(result), "## Notes", "");
    out.push(...result.notes.map((n) => `- ${n}`), "");
    return out.join("\n");
  }
  out.push(
    "## Quick stats",
    "",
    "| implementation | ops/s | requests/s | of ceiling | status updates/s | p50 ms | p99 ms | max ms | PG rows/op | refused | errors |",
    "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|",
    ...result.phases.map((p) => {
      const all = p.latency.all;
      return `| ${p.label} | ${int(p.opsPerSec)} | ${p.requestsPerSec === undefined ? "–" : int(p.requestsPerSec)} | ${ofCeilingCell(result, p)} | ${p.mode === "ceiling" ? "–" : int(p.statusUpdatesPerSec)} | ${ms(all?.p50Ms)} | ${ms(all?.p99Ms)} | ${ms(all?.maxMs)} | ${p.pgRows === undefined ? "–" : p.pgRows.perOp.toFixed(3)} | ${refusedCell(p)} | ${int(errorCount(p))} |`;
    }),
    "",
    `Ratios: C/A throughput **${fmtRatio(result.ratios.cOverA, 1)}**, C/B **${fmtRatio(result.ratios.cOverB, 2)}**; ` +
      `C's PostgreSQL rows per op are **${result.ratios.cRowsOverA === undefined ? "–" : `${(result.ratios.cRowsOverA * 100).toFixed(1)}%`}** of A's.`,
    "",
    ...ceilingLines(result).map((line) => `${line}.  `),
    "The ceilings run first with the same client or load generator against the cheapest possible work (a 4-command " +
      "Lua script on one hash tag; a Fastify route answering constant JSON in its own process): no implementation can pass " +
      "them on this machine, so the share is how much of the reachable throughput it keeps.",
    "",
    "ops/s, requests/s and latency count acknowledged operations only. Refused ones (HTTP 503 `unavailable`, in process " +
      "a `ReadStateError` `unavailable`) are counted apart, with their share of the phase's writes; see Refused writes below.",
    "",
    ...targetLines(result),
    "## Latency per operation type (ms: p50 / p99 / max, count)",
    "",
  );
  const kinds = [...new Set(result.phases.flatMap((p) => Object.keys(p.latency)))].filter((k) => k !== "all");
  out.push(`| phase | ${kinds.join(" | ")} |`, `|---|${kinds.map(() => "--:").join("|")}|`);
  for (const p of result.phases) {
    out.push(
      `| ${p.id} | ${kinds
        .map((k) => {
          const s = p.latency[k];
          return s === undefined || s.count === 0
            ? "–"
            : `${ms(s.p50Ms)} / ${ms(s.p99Ms)} / ${ms(s.maxMs)} (${int(s.count)})`;
        })
        .join(" | ")} |`,
    );
  }
  out.push(
    "",
    "## Fan-out: post latency by channel size",
    "",
    `Probe posts at ${String(result.options.probeRate)}/s into a 2-member channel and into the largest channel, beside the load ` +
      "(sequence model: a post is O(1) whatever the channel's size). Also the workload's own posts by size class.",
    "",
    "| phase | probe p50 / p99 (ms) | workload posts p99 by size class (ms) |",
    "|---|---|---|",
    ...result.phases
      .filter((p) => p.mode === "in-process")
      .map(
        (p) =>
          `| ${p.id} | ${Object.entries(p.probe)
            .filter(([k]) => k !== "all")
            .map(([k, s]) => `${k}: ${ms(s.p50Ms)} / ${ms(s.p99Ms)}`)
            .join("; ")} | ${Object.entries(p.postBySize)
            .filter(([k]) => k !== "all")
            .map(([k, s]) => `${k}: ${ms(s.p99Ms)} (${int(s.count)})`)
            .join("; ")} |`,
      ),
    "",
    "## Refused writes",
    "",
    "readstate refuses writes (503 `unavailable` + `Retry-After`) when its write-behind falls behind. The load goes on " +
      "after a refusal; refused operations are in none of the figures above. A phase refusing more than 1% of its writes " +
      "misses the flush lag target, whatever its lag.",
    "",
    ...(result.phases.some((p) => p.refused.total > 0)
      ? [
          "| phase | refused |",
          "|---|---|",
          ...result.phases.filter((p) => p.refused.total > 0).map((p) => `| ${p.id} | ${refusedDetail(p)} |`),
        ]
      : ["No phase refused an operation."]),
    "",
    "## PostgreSQL rows written",
    "",
    "`n_tup_ins + n_tup_upd + n_tup_del` of each implementation's own schema over the measured window, read after its " +
      "connections closed (C's close flushes everything still dirty, so C's figure is the full cost of persisting the window). " +
      "Setup is excluded. The HTTP phases share one figure (write-behind blurs the boundary between them).",
    "",
    "| phase | rows | per op | per status update | by table |",
    "|---|--:|--:|--:|---|",
    ...result.phases
      .filter((p) => p.pgRows !== undefined)
      .map((p) => {
        const r = p.pgRows as NonNullable<PhaseResult["pgRows"]>;
        return `| ${p.id} | ${int(r.total)} | ${r.perOp.toFixed(3)} | ${(r.perStatusUpdate * 100).toFixed(2)}% | ${Object.entries(
          r.byTable,
        )
          .filter(([, v]) => v > 0)
          .map(([k, v]) => `${k} ${int(v)}`)
          .join(", ")}${r.exact ? "" : " (counters may be incomplete)"} |`;
      }),
    "",
    "## PostgreSQL cost per operation",
    "",
    "Per acknowledged operation (the warm-up's and the probe posts included: PostgreSQL's counters see them too), from the warm-up to the implementation's last flush. " +
      "Transactions: `xact_commit + xact_rollback` of the run's own database (`pg_stat_database`), read after the " +
      "implementation's connections closed. CPU: user + system time (`/proc/<pid>/stat`) of the backends connected to " +
      "the run's database, sampled every 250 ms; the WAL writer, checkpointer and background writer serve every " +
      "database on the server and are left out, so this is a lower bound (the CPU table below has all postgres processes).",
    "",
    ...postgresCostLines(result),
    "",
    "## Write-behind (C): flush lag and backlog",
    "",
    `Flush interval ${String(result.options.flushIntervalMs)} ms; \`syncStatus().oldestDirtyAgeMs\` (HTTP: \`GET /v1/admin/sync\`) sampled every 250 ms.`,
    "",
    "| phase | samples | p50 | p99 | max | backlog max (channels) | backlog at end |",
    "|---|--:|--:|--:|--:|--:|--:|",
    ...result.phases
      .filter((p) => p.flushLag !== undefined)
      .map((p) => {
        const l = p.flushLag as NonNullable<PhaseResult["flushLag"]>;
        return `| ${p.id} | ${l.samples} | ${(l.p50Ms / 1000).toFixed(2)} s | ${(l.p99Ms / 1000).toFixed(2)} s | ${(l.maxMs / 1000).toFixed(2)} s | ${int(l.maxDirty)} | ${int(l.endDirty)} |`;
      }),
    "",
    `Redis memory per member state (C, \`MEMORY USAGE\` over its keys after setup, no messages yet): ${
      result.redisBytesPerMember === undefined ? "–" : `${int(result.redisBytesPerMember)} bytes`
    }.`,
    "",
    `## Where the time goes (CPU, in cores of the machine's ${m.cpus})`,
    "",
    `The load generator itself costs ${result.generatorUsPerOp.toFixed(2)} µs per operation (part of "bench process").`,
    "",
    "| phase | bench process (load gen + in-process library) | Redis | PostgreSQL | HTTP server | other processes |",
    "|---|--:|--:|--:|--:|--:|",
    ...result.phases.map(
      (p) =>
        `| ${p.id} | ${cores(p.cpu.benchProcessCores)} | ${cores(p.cpu.redisCores)} | ${cores(p.cpu.postgresCores)} | ${cores(p.cpu.serverCores)} | ${cores(p.cpu.otherCores)} |`,
    ),
    "",
    "![throughput and flush lag over time](chart.svg)",
    "",
    "## Workload",
    "",
    `${int(result.topology.channels)} channels (${Object.entries(result.topology.channelsBySize)
      .map(([k, v]) => `${k} ${int(v)}`)
      .join(", ")}), ${int(result.topology.users)} users, ${int(result.topology.memberships)} memberships ` +
      `(the busiest user is in ${int(result.topology.maxChannelsPerUser)} channels). Operations done per phase:`,
    "",
    ...result.phases.map(
      (p) =>
        `- ${p.id}: ${Object.entries(p.opsByKind)
          .sort(([a], [b]) => (a < b ? -1 : 1))
          .map(([k, v]) => `${k} ${int(v)}`)
          .join(", ")}${
          errorCount(p) > 0
            ? `; errors: ${Object.entries(p.errors)
                .map(([k, v]) => `${k} ×${v}`)
                .join(", ")}`
            : ""
        }`,
    ),
    "",
    ...optionLines(result),
    "## Notes",
    "",
    "- B is readstate with its worker off: the same scripts, which still record dirty marks (nobody clears them).",
    "- A runs each operation as one PL/pgSQL function call (one round trip, one transaction, `synchronous_commit` as configured) through a named prepared statement; its setup is a bulk insert.",
    "- `/v1/batch` takes writes only (join/leave/post/read/unread), so the batch phase sends the workload's posts and reads.",
    "- Status updates are ADR-02's unit: a post to an M-member channel counts M, a read or unread counts 1; probe posts are not counted.",
    '- Redis and PostgreSQL are shared with whatever else runs on the machine; "other processes" above shows that competition.',
    ...result.notes.map((n) => `- ${n}`),
    "",
  );
  return out.join("\n");
}

function targetLines(result: BenchResult): string[] {
  return [
    "## Targets (issues 4 and 8)",
    "",
    "| | target | goal | measured |",
    "|---|---|---|---|",
    ...result.targets.map(
      (t) =>
        `| ${t.pass === null ? "N/A" : t.pass ? "PASS" : "**MISS**"} | ${t.name} | ${t.target} | ${t.actual} |`,
    ),
    "",
  ];
}

function optionLines(result: BenchResult): string[] {
  return ["Options:", "", "```json", JSON.stringify(result.options, null, 2), "```", ""];
}

function sweepSection(result: BenchResult): string[] {
  const rows = sweepRows(result);
  if (rows.length === 0) return [];
  const [head = [], ...body] = rows;
  return [
    "## Channel-size sweep: what a post costs Redis",
    "",
    `Posts into one channel of each size, ${String(result.options.durationSec)} s each after a warm-up, ` +
      `${String(result.options.concurrency)} in flight, no mentions; C and D each with their write-behind on. Redis CPU is ` +
      "`INFO cpu` (used_cpu_user + used_cpu_sys) over the step and the flush that writes it behind, divided by the " +
      "posts; the server is shared, so the last column gives its CPU in the second before the step with the bench idle " +
      "(other tenants' load, included in the figures). PostgreSQL: CPU of the run database's backends and rows written, over the same span (bench/measure/postgres-cost.ts).",
    "",
    `| ${head.join(" | ")} |`,
    `|---|${head
      .slice(1)
      .map(() => "--:")
      .join("|")}|`,
    ...body.map((row) => `| ${row.join(" | ")} |`),
    "",
    `${sweepGrowthLine(result)}. C's post is O(1) in the channel's size (a sequence and a cursor); D's is one HINCRBY per member (ADR-02's "write amplification").`,
    "",
    "![Redis CPU per post by channel size](chart.svg)",
    "",
  ];
}

function postgresCostLines(result: BenchResult): string[] {
  const phases = result.phases.filter((p) => p.pgCost !== undefined);
  if (phases.length === 0) return ["No in-process implementation ran."];
  return [
    "| phase | rows/op | transactions/op | PostgreSQL CPU µs/op | transactions | CPU s |",
    "|---|--:|--:|--:|--:|--:|",
    ...phases.map((p) => {
      const c = p.pgCost as NonNullable<PhaseResult["pgCost"]>;
      return `| ${p.id} | ${p.pgRows === undefined ? "–" : p.pgRows.perOp.toFixed(3)} | ${
        c.transactionsPerOp === null ? "–" : c.transactionsPerOp.toFixed(3)
      } | ${c.cpuUsPerOp.toFixed(1)} | ${c.transactions === null ? "–" : int(c.transactions)} | ${c.cpuSec.toFixed(2)} |`;
    }),
  ];
}

function fmtRatio(v: number | undefined, digits: number): string {
  return v === undefined ? "–" : `${v.toFixed(digits)}×`;
}
