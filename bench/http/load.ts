// The HTTP load: `connections` keep-alive connections spread over `workers` threads (load-worker.ts),
// their counts merged into one phase's figures.
import { Worker } from "node:worker_threads";
import { HistogramSet } from "../histogram.js";
import type { BenchOptions } from "../options.js";
import { RefusalCount } from "../refusals.js";
import { Timeline } from "../timeline.js";
import type { LoadWorkerInput, LoadWorkerMessage } from "./load-worker.js";

export interface HttpLoadPlan {
  port: number;
  mode: LoadWorkerInput["mode"];
  connections: number;
  workers: number;
  batchSize: number;
  warmupMs: number;
  durationMs: number;
  options: BenchOptions;
}

export interface HttpLoad {
  /** Connections actually opened: `connections` rounded up to a multiple of the workers. */
  connections: number;
  /** Acknowledged operations and requests only. */
  ops: number;
  requests: number;
  statusUpdates: number;
  errors: Record<string, number>;
  refusals: RefusalCount;
  opsByKind: Record<string, number>;
  latency: HistogramSet;
  timeline: Timeline;
}

/** Runs the load; `onProgress` hears the acknowledged ops so far, every ~250 ms. */
export async function runHttpLoad(plan: HttpLoadPlan, onProgress: (ops: number) => void): Promise<HttpLoad> {
  const workers = Math.max(1, plan.workers);
  const perWorker = Math.max(1, Math.ceil(plan.connections / workers));
  const { only: _only, ...plainOptions } = plan.options;
  const progressOps = new Array<number>(workers).fill(0);
  const results = await Promise.all(
    Array.from({ length: workers }, (_, index) =>
      runWorker(
        {
          port: plan.port,
          mode: plan.mode,
          stream: `http-${plan.mode}-${index}`,
          connections: perWorker,
          batchSize: plan.batchSize,
          warmupMs: plan.warmupMs,
          durationMs: plan.durationMs,
          options: plainOptions,
        },
        (ops) => {
          progressOps[index] = ops;
          onProgress(progressOps.reduce((a, b) => a + b, 0));
        },
      ),
    ),
  );
  const load: HttpLoad = {
    connections: perWorker * workers,
    ops: 0,
    requests: 0,
    statusUpdates: 0,
    errors: {},
    refusals: new RefusalCount(),
    opsByKind: {},
    latency: new HistogramSet(),
    timeline: new Timeline(0),
  };
  for (const r of results) {
    load.latency.mergeData(r.latency);
    r.slots.ops.forEach((n, slot) => {
      load.timeline.add(slot, n ?? 0, r.slots.updates[slot] ?? 0);
    });
    for (const [k, v] of Object.entries(r.errors)) load.errors[k] = (load.errors[k] ?? 0) + v;
    load.refusals.merge(r.refusals);
    for (const [k, v] of Object.entries(r.opsByKind)) load.opsByKind[k] = (load.opsByKind[k] ?? 0) + v;
    load.ops += r.ops;
    load.requests += r.requests;
    load.statusUpdates += r.statusUpdates;
  }
  return load;
}

function runWorker(
  input: LoadWorkerInput,
  onProgress: (ops: number) => void,
): Promise<Extract<LoadWorkerMessage, { type: "done" }>> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./load-worker-entry.mjs", import.meta.url), {
      workerData: input,
    });
    worker.on("message", (message: LoadWorkerMessage) => {
      if (message.type === "progress") onProgress(message.ops);
      else resolve(message);
    });
    worker.once("error", reject);
    worker.once("exit", (code) => {
      if (code !== 0) reject(new Error(`load worker exited with ${code}`));
    });
  });
}
