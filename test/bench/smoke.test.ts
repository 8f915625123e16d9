// The benchmark must not rot: a few seconds of it with tiny sizes, every phase, checking only that
// it completes and writes a report with the expected sections. Its numbers are never asserted.
import { spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";

const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
let outDir: string | undefined;
/** A topology small enough for seconds-long phases, with one huge channel for the fan-out probe. */
const SMALL_TOPOLOGY = [
  "--channels=40",
  "--users=120",
  "--huge=1",
  "--huge-size=100",
  "--large-size=50",
  "--concurrency=16",
];

afterAll(async () => {
  if (outDir !== undefined) await rm(outDir, { recursive: true, force: true });
});

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "bench/run.ts", ...args], {
      cwd: REPO_ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => {
      stdout += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("npm run bench (smoke)", () => {
  it("runs the ceilings, A, B, C, D in process and C over HTTP, and writes the report, chart and JSON", async () => {
    outDir = await mkdtemp(path.join(os.tmpdir(), "readstate-bench-smoke-"));
    const { code, stdout, stderr } = await runBench([
      "--duration=2",
      "--http-duration=2",
      ...SMALL_TOPOLOGY,
      "--http-connections=4",
      "--batch-size=20",
      "--batch-connections=2",
      `--out=${outDir}`,
      "--json",
    ]);
    expect(code, stderr).toBe(0);

    const result = JSON.parse(stdout) as {
      phases: {
        id: string;
        ops: number;
        refused: { total: number; writesAttempted: number; writeShare: number };
        flushLag?: { p99Ms: number; maxMs: number };
      }[];
      ratios: { ofCeiling?: Record<string, { ceiling: string; ratio: number }> };
      targets: { name: string; pass: boolean | null }[];
    };
    expect(result.phases.map((p) => p.id)).toEqual([
      "ceiling-redis",
      "ceiling-http",
      "A",
      "B",
      "C",
      "D",
      "C-http",
      "C-batch",
    ]);
    expect(result.targets.length).toBeGreaterThan(5);
    for (const phase of result.phases) {
      expect(phase.ops, phase.id).toBeGreaterThan(0);
      expect(phase.refused.total, phase.id).toBeGreaterThanOrEqual(0);
    }
    // Every phase with writes knows how many it sent: the refused share has a denominator.
    for (const id of ["A", "B", "C", "D", "C-http", "C-batch"]) {
      const phase = result.phases.find((p) => p.id === id);
      expect(phase?.refused.writesAttempted, id).toBeGreaterThan(0);
    }
    expect(result.ratios.ofCeiling?.C?.ceiling).toBe("ceiling-redis");
    expect(result.ratios.ofCeiling?.["C-http"]?.ceiling).toBe("ceiling-http");
    expect(result.ratios.ofCeiling?.["C-batch"]?.ceiling).toBe("ceiling-http");
    // Issue 8's lag promise is checked for each phase of C.
    for (const label of ["C: readstate", "C over HTTP, single requests", "C over HTTP, /v1/batch"]) {
      expect(
        result.targets.some((t) => t.name.startsWith(`Flush lag max, ${label}`)),
        label,
      ).toBe(true);
    }

    const report = await readFile(path.join(outDir, "report.md"), "utf8");
    for (const section of [
      "## Quick stats",
      "## Targets (issues 4 and 8)",
      "## Latency per operation type",
      "## Fan-out: post latency by channel size",
      "## Refused writes",
      "## PostgreSQL rows written",
      "## Write-behind (C): flush lag and backlog",
      "## Where the time goes",
    ]) {
      expect(report).toContain(section);
    }
    const chart = await readFile(path.join(outDir, "chart.svg"), "utf8");
    expect(chart.startsWith("<svg")).toBe(true);
    expect(chart.trimEnd().endsWith("</svg>")).toBe(true);
  }, 180_000);

  it("runs the v1.1 scenario (deletes, mutes, thread replies and reads) on B and C only, without errors", async () => {
    const v11Out = await mkdtemp(path.join(os.tmpdir(), "readstate-bench-v11-"));
    try {
      const { code, stdout, stderr } = await runBench([
        "--scenario=v1.1",
        "--no-http",
        "--no-ceilings",
        "--duration=3",
        ...SMALL_TOPOLOGY,
        `--out=${v11Out}`,
        "--json",
      ]);
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout) as {
        phases: { id: string; errors: Record<string, number>; opsByKind: Record<string, number> }[];
        notes: string[];
      };
      // A and D implement v1 only: skipped, and said so.
      expect(result.phases.map((p) => p.id)).toEqual(["B", "C"]);
      expect(result.notes.filter((n) => n.includes("skipped"))).toHaveLength(2);
      for (const phase of result.phases) {
        expect(phase.errors, phase.id).toEqual({});
        for (const kind of ["post", "markRead", "mute", "threadReply"]) {
          expect(phase.opsByKind[kind] ?? 0, `${phase.id} ${kind}`).toBeGreaterThan(0);
        }
      }
    } finally {
      await rm(v11Out, { recursive: true, force: true });
    }
  }, 180_000);

  it("sweeps channel sizes for C and D and reports Redis CPU per post by size", async () => {
    const sweepOut = await mkdtemp(path.join(os.tmpdir(), "readstate-bench-sweep-"));
    try {
      const { code, stdout, stderr } = await runBench([
        "--scenario=sweep",
        "--sweep-sizes=2,20",
        "--duration=1",
        "--concurrency=8",
        `--out=${sweepOut}`,
        "--json",
      ]);
      expect(code, stderr).toBe(0);
      const result = JSON.parse(stdout) as {
        sweep: {
          sizes: number[];
          steps: { implementation: string; members: number; posts: number; redisCpuUsPerPost: number }[];
          growth: Record<string, number>;
        };
        targets: { name: string }[];
      };
      expect(result.sweep.sizes).toEqual([2, 20]);
      expect(result.sweep.steps.map((s) => `${s.implementation}@${s.members}`)).toEqual([
        "C@2",
        "C@20",
        "D@2",
        "D@20",
      ]);
      for (const step of result.sweep.steps) expect(step.posts, step.implementation).toBeGreaterThan(0);
      expect(result.targets.some((t) => t.name.startsWith("C post Redis CPU"))).toBe(true);
      const report = await readFile(path.join(sweepOut, "report.md"), "utf8");
      expect(report).toContain("## Channel-size sweep: what a post costs Redis");
    } finally {
      await rm(sweepOut, { recursive: true, force: true });
    }
  }, 120_000);

  it("rejects an unknown flag with the usage text", async () => {
    const { code, stderr } = await runBench(["--no-such-flag"]);
    expect(code).toBe(2);
    expect(stderr).toContain("unknown flag --no-such-flag");
    expect(stderr).toContain("--only A,B,C,D");
    expect(stderr).toContain("--no-ceilings");
  });
});
