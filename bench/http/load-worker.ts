// Load generator thread for the HTTP phases: rebuilds the topology from the seed, opens keep-alive
// connections and keeps one request in flight on each, for single requests, /v1/batch or the
// ceiling route. Refused requests (503) and lost connections are counted and the load goes on:
// they never end a phase.
import { performance } from "node:perf_hooks";
import { parentPort, workerData } from "node:worker_threads";
import { HistogramSet } from "../histogram.js";
import type { BenchOptions } from "../options.js";
import { RefusalCount, type RefusalData } from "../refusals.js";
import { buildTopology } from "../topology.js";
import { type Op, statusUpdates, WorkloadGenerator } from "../workload.js";
import { HttpConnection, type HttpResponse } from "./raw-client.js";
import { CEILING_PATH, toBatchEntry, toRequest } from "./requests.js";

export interface LoadWorkerInput {
  port: number;
  /** ceiling: GET the ceiling server's constant answer (the ceiling-http phase). */
  mode: "single" | "batch" | "ceiling";
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
      refusals: RefusalData;
      opsByKind: Record<string, number>;
      latency: ReturnType<HistogramSet["toData"]>;
      slots: { ops: number[]; updates: number[] };
    };

/** HTTP status of a refusal: readstate answers 503 `unavailable` (+ Retry-After) when it falls behind. */
const REFUSED = 503;
const OK_FALSE = Buffer.from('"ok":false');
const RECONNECT_DELAY_MS = 100;
const CEILING_OP = [{ kind: "ceiling" }] as const;

interface BatchEntryResult {
  ok: boolean;
  error?: { code?: string };
}

async function main(): Promise<void> {
  const input = workerData as LoadWorkerInput;
  const topology = buildTopology(input.options);
  const inFlight = input.connections * (input.mode === "batch" ? input.batchSize : 1);
  const generator = new WorkloadGenerator(topology, input.options, input.stream, inFlight * 4);
  const latency = new HistogramSet();
  const errors: Record<string, number> = {};
  const refusals = new RefusalCount();
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
  const count = (label: string, n = 1) => {
    errors[label] = (errors[label] ?? 0) + n;
  };
  /** Acknowledged operations only: refused and failed ones never reach ops, req/s or the timeline. */
  const account = (now: number, done: readonly { kind: string }[], units: number) => {
    const slot = Math.floor((now - warmupEnd) / 250);
    slotOps[slot] = (slotOps[slot] ?? 0) + done.length;
    slotUpdates[slot] = (slotUpdates[slot] ?? 0) + units;
    ops += done.length;
    requests++;
    updates += units;
    for (const op of done) opsByKind[op.kind] = (opsByKind[op.kind] ?? 0) + 1;
  };

  /** A new connection in `slot`, retried until the phase ends if the server is not taking any. */
  const reconnect = async (slot: number): Promise<void> => {
    (connections[slot] as HttpConnection).close();
    while (performance.now() < end) {
      try {
        connections[slot] = await HttpConnection.connect(input.port);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
      }
    }
  };

  /**
   * One request on connection `slot`. A connection the server closes (a 503 may say `Connection:
   * close`) is replaced; a request lost with its connection is an error. Either way the phase goes on.
   */
  const send = async (
    slot: number,
    method: string,
    path: string,
    body: string | undefined,
    label: string,
  ): Promise<HttpResponse | null> => {
    if (!(connections[slot] as HttpConnection).reusable) await reconnect(slot);
    try {
      return await (connections[slot] as HttpConnection).request(method, path, body);
    } catch (err) {
      count(`${label}: ${(err as Error).message}`);
      await new Promise((resolve) => setTimeout(resolve, RECONNECT_DELAY_MS));
      await reconnect(slot);
      return null;
    }
  };

  const single = async (slot: number) => {
    while (performance.now() < end) {
      const op = generator.next();
      const request = toRequest(op);
      const started = performance.now();
      const response = await send(slot, request.method, request.path, request.body, op.kind);
      const now = performance.now();
      const measured = started >= warmupEnd;
      if (measured) refusals.attempted(op.kind);
      if (response === null) continue;
      if (response.status === REFUSED) {
        if (measured) {
          refusals.refused(op.kind);
          refusals.latency.recordMs(now - started);
        }
        continue;
      }
      if (response.status >= 300) {
        count(`${op.kind}: HTTP ${response.status}`);
        continue;
      }
      if (!measured) continue;
      latency.get(op.kind).recordMs(now - started);
      account(now, [op], statusUpdates(op));
    }
  };

  const batch = async (slot: number) => {
    while (performance.now() < end) {
      const sent: Op[] = [];
      const entries: Record<string, unknown>[] = [];
      while (entries.length < input.batchSize) {
        const op = generator.next();
        const entry = toBatchEntry(op);
        if (entry === null) continue;
        sent.push(op);
        entries.push(entry);
      }
      const started = performance.now();
      const response = await send(slot, "POST", "/v1/batch", JSON.stringify({ ops: entries }), "batch");
      const now = performance.now();
      const measured = started >= warmupEnd;
      if (measured) for (const op of sent) refusals.attempted(op.kind);
      if (response === null) continue;
      if (response.status === REFUSED) {
        if (measured) {
          for (const op of sent) refusals.refused(op.kind);
          refusals.latency.recordMs(now - started);
        }
        continue;
      }
      if (response.status !== 200) {
        count(`batch: HTTP ${response.status}`);
        continue;
      }
      const acknowledged = acknowledgedOps(sent, response.body, (op, code) => {
        if (code === "unavailable") {
          if (measured) refusals.refused(op.kind);
        } else count(`batch op: ${code}`);
      });
      if (!measured) continue;
      if (acknowledged.length === 0) {
        refusals.latency.recordMs(now - started);
        continue;
      }
      latency.get(`batch(${input.batchSize})`).recordMs(now - started);
      account(
        now,
        acknowledged,
        acknowledged.reduce((sum, op) => sum + statusUpdates(op), 0),
      );
    }
  };

  const ceiling = async (slot: number) => {
    while (performance.now() < end) {
      const started = performance.now();
      const response = await send(slot, "GET", CEILING_PATH, undefined, "ceiling");
      const now = performance.now();
      if (response === null) continue;
      if (response.status !== 200) {
        count(`ceiling: HTTP ${response.status}`);
        continue;
      }
      if (started < warmupEnd) continue;
      latency.get(`GET ${CEILING_PATH}`).recordMs(now - started);
      account(now, CEILING_OP, 0);
    }
  };

  const progress = setInterval(() => parentPort?.postMessage({ type: "progress", ops }), 250);
  try {
    const run = input.mode === "single" ? single : input.mode === "batch" ? batch : ceiling;
    await Promise.all(connections.map((_, slot) => run(slot)));
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
    refusals: refusals.toData(),
    opsByKind,
    latency: latency.toData(),
    slots: { ops: slotOps, updates: slotUpdates },
  };
  parentPort?.postMessage(message);
}

/**
 * The ops of a 200 /v1/batch answer that were acknowledged; `failed` hears the others with their
 * error code. Results come in request order; the answer is only parsed when an op failed.
 */
function acknowledgedOps(sent: Op[], body: Buffer, failed: (op: Op, code: string) => void): Op[] {
  if (body.indexOf(OK_FALSE) === -1) return sent;
  let results: BatchEntryResult[];
  try {
    results = (JSON.parse(body.toString("utf8")) as { results: BatchEntryResult[] }).results;
  } catch {
    for (const op of sent) failed(op, "unreadable answer");
    return [];
  }
  return sent.filter((op, i) => {
    const result = results[i];
    if (result?.ok === true) return true;
    failed(op, result?.error?.code ?? "missing result");
    return false;
  });
}

main().catch((err: unknown) => {
  throw err;
});
