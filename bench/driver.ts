// The in-process closed loop: `concurrency` virtual clients, each with one operation outstanding,
// drawing from one shared generator (so the operation order is the seed's, whatever the timing).

import { performance } from "node:perf_hooks";
import type { V1ReadState } from "./execute.js";
import { errorLabel, execute } from "./execute.js";
import { HistogramSet } from "./histogram.js";
import { isRefusal, RefusalCount } from "./refusals.js";
import { Timeline } from "./timeline.js";
import { type Op, statusUpdates, type WorkloadGenerator } from "./workload.js";

/** The burst scenario: full load for BURST_ON_MS, then silence for BURST_OFF_MS. */
export const BURST_ON_MS = 2000;
export const BURST_OFF_MS = 1000;

export interface ProbeTarget {
  label: string;
  channelId: string;
  senderId: string;
}

export interface DriveOptions {
  readState: V1ReadState;
  generator: WorkloadGenerator;
  concurrency: number;
  warmupMs: number;
  durationMs: number;
  bursty: boolean;
  /** Posts at a fixed rate into channels of known size, beside the load: fan-out latency. */
  probes: ProbeTarget[];
  probeRate: number;
  /** Called every ~250 ms while measuring, e.g. to draw the progress bar. */
  onTick?: (elapsedMs: number, timeline: Timeline) => void;
}

export interface DriveResult {
  /** Acknowledged operations of the measured window. */
  ops: number;
  /** Probe posts completed (not in ops: they are not the workload, but they do write rows). */
  probeOps: number;
  /**
   * Acknowledged during the warm-up: not measured, but PostgreSQL's counters (rows, transactions,
   * CPU) cannot tell them apart, so costs per op divide by them too.
   */
  warmupOps: number;
  statusUpdates: number;
  elapsedMs: number;
  /** Seconds the load was on (all of it, except in the burst scenario). */
  activeMs: number;
  errors: Record<string, number>;
  refusals: RefusalCount;
  latency: HistogramSet;
  postBySize: HistogramSet;
  probe: HistogramSet;
  timeline: Timeline;
  opsByKind: Record<string, number>;
}

export async function drive(options: DriveOptions): Promise<DriveResult> {
  const { readState, generator } = options;
  const latency = new HistogramSet();
  const postBySize = new HistogramSet();
  const probe = new HistogramSet();
  const errors: Record<string, number> = {};
  const refusals = new RefusalCount();
  const opsByKind: Record<string, number> = {};
  const warmupEnd = performance.now() + options.warmupMs;
  const end = warmupEnd + options.durationMs;
  const timeline = new Timeline(warmupEnd);
  let ops = 0;
  let warmupOps = 0;
  let updates = 0;
  let activeMs = 0;

  const isActive = (now: number) =>
    !options.bursty || now < warmupEnd || (now - warmupEnd) % (BURST_ON_MS + BURST_OFF_MS) < BURST_ON_MS;

  const client = async () => {
    for (;;) {
      let now = performance.now();
      if (now >= end) return;
      if (!isActive(now)) {
        const cycle = BURST_ON_MS + BURST_OFF_MS;
        const wait = cycle - ((now - warmupEnd) % cycle);
        await sleep(Math.min(wait, end - now));
        continue;
      }
      const op: Op = generator.next();
      const started = now;
      let outcome: "acknowledged" | "refused" | "failed" = "acknowledged";
      try {
        await execute(readState, op);
      } catch (err) {
        if (isRefusal(err)) outcome = "refused";
        else {
          outcome = "failed";
          const label = `${op.kind}: ${errorLabel(err)}`;
          errors[label] = (errors[label] ?? 0) + 1;
        }
      }
      now = performance.now();
      if (outcome !== "acknowledged") {
        if (started >= warmupEnd) {
          refusals.attempted(op.kind);
          if (outcome === "refused") {
            refusals.refused(op.kind);
            refusals.latency.recordMs(now - started);
          }
        }
        // A refusal can come without any I/O: 128 clients retrying at once would then never let
        // the event loop reach the timers, and the worker that must catch up is one of them.
        await yieldToEventLoop();
        continue;
      }
      if (started < warmupEnd) {
        warmupOps++;
        continue;
      }
      refusals.attempted(op.kind);
      const elapsed = now - started;
      latency.get(op.kind).recordMs(elapsed);
      if (op.kind === "post") postBySize.get(op.sizeClass).recordMs(elapsed);
      const units = statusUpdates(op);
      timeline.record(now, units);
      ops++;
      updates += units;
      opsByKind[op.kind] = (opsByKind[op.kind] ?? 0) + 1;
    }
  };

  let probeSeq = 0;
  let probeOps = 0;
  const probeTimers = options.probes.map((target) =>
    setInterval(
      () => {
        const now = performance.now();
        if (now < warmupEnd || now >= end || !isActive(now)) return;
        const messageId = `probe.${target.label}.${++probeSeq}`;
        readState.post(target.channelId, { messageId, senderId: target.senderId }).then(
          () => {
            probe.get(target.label).recordMs(performance.now() - now);
            probeOps++;
          },
          (err: unknown) => {
            // Probes are not the workload: a refused one is listed, but not in the share of writes.
            if (isRefusal(err)) refusals.refused("probe post");
            else {
              const label = `probe post: ${errorLabel(err)}`;
              errors[label] = (errors[label] ?? 0) + 1;
            }
          },
        );
      },
      Math.max(1, 1000 / Math.max(1, options.probeRate)),
    ),
  );
  const tick = setInterval(() => {
    const now = performance.now();
    if (now < warmupEnd) return;
    if (isActive(now)) activeMs += 250;
    else timeline.markInactive(now);
    options.onTick?.(now - warmupEnd, timeline);
  }, 250);

  try {
    await Promise.all(Array.from({ length: options.concurrency }, client));
  } finally {
    for (const timer of probeTimers) clearInterval(timer);
    clearInterval(tick);
  }
  return {
    ops,
    probeOps,
    warmupOps,
    statusUpdates: updates,
    elapsedMs: options.durationMs,
    activeMs: options.bursty ? Math.min(activeMs, options.durationMs) : options.durationMs,
    errors,
    refusals,
    latency,
    postBySize,
    probe,
    timeline,
    opsByKind,
  };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
