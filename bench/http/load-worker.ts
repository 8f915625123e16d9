// Load generator thread for the HTTP phases: rebuilds the topology from the seed, opens keep-alive
// connections and keeps one request in flight on each, for single requests or /v1/batch.
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { HistogramSet } from "../histogram.js";
import type { BenchOptions } from "../options.js";
import { buildTopology } from "../topology.js";
import { type Op, statusUpdates, WorkloadGenerator } from "../workload.js";
import { HttpConnection } from "./raw-client.js";
import { toBatchEntry, toRequest } from "./requests.js";

export interface LoadWorkerInput {
  port: number;
  mode: "single" | "batch";
  stream: string;
  connections: number;
  batchSize: number;
  warmupMs: number;
  durationMs: number;
  /** BenchOptions without the Set (structured clone keeps it, but keep the contract plain). */
  options: Omit<BenchOptions, "only">;
}

export type LoadWorkerMessage =
  | { type: "progress"; ops: number }
  | {
      type: "done";
      ops: number;
      requests: number;
      statusUpdates: number;
      errors: Record<string, number>;
      opsByKind: Record<string, number>;
      latency: ReturnType<HistogramSet["toData"]>;
      slots: { ops: number[]; updates: number[] };
    };

const OK_FALSE = Buffer.from('"ok":false');

async function main(): Promise<void> {
  const input = workerData as LoadWorkerInput;
  const topology = buildTopology(input.options);
  const inFlight = input.connections * (input.mode === "batch" ? input.batchSize : 1);
  const generator = new WorkloadGenerator(topology, input.options, input.stream, inFlight * 4);
  const latency = new HistogramSet();
  const errors: Record<string, number> = {};
  const opsByKind: Record<string, number> = {};
  const connections = await Promise.all(
    Array.from({ length: input.connections }, () => HttpConnection.connect(input.port)),
  );
  const warmupEnd = performance.now() + input.warmupMs;
  const end = warmupEnd + input.durationMs;
  const slotOps: number[] = [];
  const slotUpdates: number[] = [];
  let ops = 0;
  let requests = 0;
  let updates = 0;
  const count = (label: string) => {
    errors[label] = (errors[label] ?? 0) + 1;
  };
  const account = (now: number, done: Op[], units: number) => {
    const slot = Math.floor((now - warmupEnd) / 250);
    slotOps[slot] = (slotOps[slot] ?? 0) + done.length;
    slotUpdates[slot] = (slotUpdates[slot] ?? 0) + units;
    ops += done.length;
    requests++;
    updates += units;
    for (const op of done) opsByKind[op.kind] = (opsByKind[op.kind] ?? 0) + 1;
  };

  const single = async (connection: HttpConnection) => {
    while (performance.now() < end) {
      const op = generator.next();
      const request = toRequest(op);
      const started = performance.now();
      const response = await connection.request(request.method, request.path, request.body);
      const now = performance.now();
      if (response.status >= 300) count(`${op.kind}: HTTP ${response.status}`);
      if (started < warmupEnd) continue;
      latency.get(op.kind).recordMs(now - started);
      account(now, [op], statusUpdates(op));
    }
  };

  const batch = async (connection: HttpConnection) => {
    while (performance.now() < end) {
      const done: Op[] = [];
      const entries: Record<string, unknown>[] = [];
      let units = 0;
      while (entries.length < input.batchSize) {
        const op = generator.next();
        const entry = toBatchEntry(op);
        if (entry === null) continue;
        done.push(op);
        entries.push(entry);
        units += statusUpdates(op);
      }
      const started = performance.now();
      const response = await connection.request("POST", "/v1/batch", JSON.stringify({ ops: entries }));
      const now = performance.now();
      if (response.status !== 200) count(`batch: HTTP ${response.status}`);
      else {
        let at = response.body.indexOf(OK_FALSE);
        while (at !== -1) {
          count("batch op: ok=false");
          at = response.body.indexOf(OK_FALSE, at + OK_FALSE.length);
        }
      }
      if (started < warmupEnd) continue;
      latency.get(`batch(${input.batchSize})`).recordMs(now - started);
      account(now, done, units);
    }
  };

  const progress = setInterval(() => parentPort?.postMessage({ type: "progress", ops }), 250);
  try {
    await Promise.all(connections.map((c) => (input.mode === "single" ? single(c) : batch(c))));
  } finally {
    clearInterval(progress);
    for (const c of connections) c.close();
  }
  const message: LoadWorkerMessage = {
    type: "done",
    ops,
    requests,
    statusUpdates: updates,
    errors,
    opsByKind,
    latency: latency.toData(),
    slots: { ops: slotOps, updates: slotUpdates },
  };
  parentPort?.postMessage(message);
}

main().catch((err: unknown) => {
  throw err;
});
