// One scenario's private world: its own redis-server and PostgreSQL, the service processes it
// started, and a teardown that kills all of them whatever happened (afterAll calls destroy()).
import { randomBytes } from "node:crypto";
import { checkPostgres, checkService, flushAll } from "./checker.js";
import { client, enc } from "./http.js";
import type { Op } from "./ledger.js";
import { LoadDriver, type LoadOptions } from "./load.js";
import { PrivatePostgres } from "./postgres.js";
import { waitFor } from "./procs.js";
import { PrivateRedis, type PrivateRedisOptions } from "./redis-server.js";
import { launch, launchReady, type ServiceEnv, type ServiceProcess } from "./service.js";

export class Rig {
  readonly tag = randomBytes(3).toString("hex");
  readonly redis: PrivateRedis;
  readonly postgres = new PrivatePostgres();
  readonly schema = `fault_${this.tag}`;
  readonly prefix = `fault-${this.tag}`;
  private readonly services: ServiceProcess[] = [];
  private readonly cleanups: (() => Promise<void> | void)[] = [];

  constructor(redisOptions: PrivateRedisOptions = {}) {
    this.redis = new PrivateRedis(redisOptions);
  }

  async start(): Promise<this> {
    await Promise.all([this.redis.start(), this.postgres.init()]);
    return this;
  }

  env(overrides: Partial<ServiceEnv> = {}): ServiceEnv {
    return {
      redisUrl: this.redis.url,
      databaseUrl: this.postgres.url,
      schema: this.schema,
      prefix: this.prefix,
      flushIntervalMs: 1000,
      ...overrides,
    };
  }

  async launch(command: "serve" | "worker", overrides: Partial<ServiceEnv> = {}, args: string[] = []) {
    const service = await launch(command, this.env(overrides), args);
    this.services.push(service);
    return service;
  }

  async launchReady(command: "serve" | "worker", overrides: Partial<ServiceEnv> = {}, args: string[] = []) {
    const service = await launchReady(command, this.env(overrides), args);
    this.services.push(service);
    return service;
  }

  driver(service: ServiceProcess, options: Partial<LoadOptions> = {}, token?: string): LoadDriver {
    return new LoadDriver(client(service.url, token), {
      channels: 4,
      usersPerChannel: 5,
      tag: this.tag,
      pauseMs: 2,
      ...options,
    });
  }

  onDestroy(step: () => Promise<void> | void): void {
    this.cleanups.push(step);
  }

  /** Kills every process this rig started and removes its directories; never throws. */
  async destroy(): Promise<void> {
    for (const step of this.cleanups.reverse()) await Promise.resolve(step()).catch(() => {});
    await Promise.all(this.services.map((s) => s.kill9().catch(() => {})));
    await this.redis.destroy().catch(() => {});
    await this.postgres.destroy().catch(() => {});
  }
}

/** Acknowledged writes in the log (GETs are observations, not writes). */
export function ackedWrites(driver: LoadDriver): number {
  return driver.ledger.acked.filter((op) => op.kind !== "get").length;
}

/** The first acknowledged write answered after `since`, as ms after it (null if none). */
export function firstAckAfter(driver: LoadDriver, since: number): number | null {
  const op = driver.ledger.ops.find((o) => o.outcome === "ack" && o.sentAt >= since);
  return op ? op.doneAt - since : null;
}

/** Age at the fault of the oldest lost acknowledged write, in ms (0 when none). */
export function oldestLostAge(driver: LoadDriver, faultAt: number): number {
  return driver.ledger.losses.reduce((max, loss) => Math.max(max, faultAt - loss.op.doneAt), 0);
}

export function describeLosses(driver: LoadDriver, faultAt: number): string {
  return driver.ledger.losses
    .slice(0, 20)
    .map(
      (l) =>
        `${l.op.kind} ${l.op.channelId}/${l.op.userId}/${l.op.messageId ?? ""} acked ${faultAt - l.op.doneAt} ms before the fault (${l.how})`,
    )
    .join("\n");
}

/**
 * A 503 means nothing was applied (API.md): every post answered 503 - its messageId is unique - must
 * be unknown afterwards. Returns those that show up anyway.
 */
export async function refusedPostsApplied(service: ServiceProcess, driver: LoadDriver): Promise<string[]> {
  const http = client(service.url);
  const applied: string[] = [];
  for (const op of driver.ledger.ops) {
    if (op.kind !== "post" || op.status !== 503) continue;
    const path = `/v1/channels/${enc(op.channelId)}/messages/${enc(op.messageId ?? "")}/receipts?limit=1`;
    const reply = await waitFor(`GET ${path}`, async () => {
      const answer = await http.request("GET", path);
      return answer.status === 0 || answer.status === 503 ? undefined : answer;
    });
    if (reply.status !== 404) applied.push(`${op.channelId}/${op.messageId}: ${reply.status} after a 503`);
  }
  return applied;
}

/** The slowest answer among `ops`, in ms. */
export function slowest(ops: Op[]): number {
  return ops.reduce((max, op) => Math.max(max, op.doneAt - op.sentAt), 0);
}

/**
 * The end of every scenario: the service's answers against the log (marking losses), then a full
 * flush, then PostgreSQL's rows against the service's answers. Returns everything that disagrees.
 */
export async function verify(rig: Rig, service: ServiceProcess, driver: LoadDriver): Promise<string[]> {
  const http = client(service.url);
  const { snapshot, problems } = await checkService(http, driver.ledger, driver.channelIds, driver.userIds);
  await flushAll(http);
  const pgDiffs = await checkPostgres(rig.postgres.url, rig.schema, snapshot);
  return [...problems, ...pgDiffs, ...driver.violations];
}
