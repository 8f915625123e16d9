// The four implementations under test, each with its own Redis key prefix and PostgreSQL schema,
// and how each is set up (channels and memberships) before the measured window.

import { createReadState } from "../src/index.js";
import type { V1ReadState } from "./execute.js";
import type { BenchOptions, Implementation } from "./options.js";
import { AdrCountersReadState } from "./patterns/adr-counters/read-state.js";
import { SyncPostgresReadState } from "./patterns/sync-postgres.js";
import type { Topology } from "./topology.js";

export const IMPLEMENTATION_LABELS: Record<Implementation, string> = {
  A: "A: synchronous PostgreSQL",
  B: "B: Redis only (readstate, worker off)",
  C: "C: readstate (Redis + write-behind)",
  D: "D: ADR-02 as written (per-member counters + write-behind)",
};

export interface SubjectNames {
  schema: string;
  keyPrefix: string;
  /** PostgreSQL application_name of its connections, to wait for them to exit. */
  applicationName: string;
}

export function subjectNames(runId: string, id: string): SubjectNames {
  const lower = id.toLowerCase().replaceAll("-", "_");
  return {
    schema: `bench_${runId}_${lower}`,
    keyPrefix: `bench-${runId}-${lower}`,
    applicationName: `readstate-bench-${runId}-${lower}`,
  };
}

export function withApplicationName(databaseUrl: string, applicationName: string): string {
  const url = new URL(databaseUrl);
  url.searchParams.set("application_name", applicationName);
  return url.toString();
}

export interface OpenSubject {
  readState: V1ReadState;
  /** Creates the topology's channels and memberships. */
  setup(topology: Topology, onProgress: (done: number) => void): Promise<void>;
  close(): Promise<void>;
}

export async function openSubject(
  implementation: Implementation,
  names: SubjectNames,
  options: BenchOptions,
  firstOpen: boolean,
): Promise<OpenSubject> {
  if (implementation === "A") {
    const a = new SyncPostgresReadState({
      databaseUrl: options.databaseUrl,
      schema: names.schema,
      poolSize: options.pgPool,
      applicationName: names.applicationName,
    });
    if (firstOpen) await a.migrate();
    return {
      readState: a,
      async setup(topology, onProgress) {
        // Bulk insert: setup is not what is measured, and one join per row would take minutes.
        await a.bulkJoin(
          topology.channels.map((c) => ({ channelId: c.id, userIds: c.members.map(userOf(topology)) })),
        );
        onProgress(topology.memberships);
      },
      close: () => a.close(),
    };
  }
  if (implementation === "D") {
    const d = new AdrCountersReadState({
      redisUrl: options.redisUrl,
      databaseUrl: options.databaseUrl,
      schema: names.schema,
      keyPrefix: names.keyPrefix,
      flushIntervalMs: options.flushIntervalMs,
      // Setup writes Redis and PostgreSQL together (nothing dirty); the measured subject flushes.
      worker: !firstOpen,
      applicationName: names.applicationName,
    });
    if (firstOpen) await d.migrate();
    return {
      readState: d,
      async setup(topology, onProgress) {
        await d.bulkJoin(
          topology.channels.map((c) => ({ channelId: c.id, userIds: c.members.map(userOf(topology)) })),
        );
        onProgress(topology.memberships);
      },
      close: () => d.close(),
    };
  }
  const engine = await createReadState({
    redisUrl: options.redisUrl,
    databaseUrl: withApplicationName(options.databaseUrl, names.applicationName),
    schema: names.schema,
    keyPrefix: names.keyPrefix,
    flushIntervalMs: options.flushIntervalMs,
    worker: implementation === "C",
    migrate: true,
  });
  return {
    readState: engine,
    async setup(topology, onProgress) {
      // The engine has no bulk API: joins through the library, many in flight.
      const pairs: [string, string][] = [];
      for (const channel of topology.channels) {
        for (const user of channel.members) pairs.push([channel.id, topology.users[user] as string]);
      }
      let next = 0;
      let done = 0;
      const joiner = async () => {
        while (next < pairs.length) {
          const [channelId, userId] = pairs[next++] as [string, string];
          await engine.join(channelId, userId);
          if (++done % 5000 === 0) onProgress(done);
        }
      };
      await Promise.all(Array.from({ length: 256 }, joiner));
      onProgress(done);
      if (implementation === "C") await engine.flush();
    },
    close: () => engine.close(),
  };
}

function userOf(topology: Topology): (user: number) => string {
  return (user) => topology.users[user] as string;
}
