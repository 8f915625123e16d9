// Coalesces the operations issued in one turn of the event loop into one apply.lua call (or one
// call per hash tag on Redis Cluster). Each script call has a fixed cost in Node and in Redis, and
// each write to the socket a system call; many callers at once (concurrent requests, a /v1/batch)
// share them. The queue is sent from setImmediate, after the turn's I/O: every HTTP request read in
// that turn joins it, where process.nextTick would send one call per request (single requests over
// HTTP: 24,100 against 19,800 req/s, scripts/http-throughput.mjs). Order is kept: operations run in
// the order they were issued, and calls leave in that order on one connection.
import { type RedisClock, scriptDeadline } from "./clock.js";
import type { RedisClient } from "./connection.js";
import { OPERATIONS, type OperationName, READ_ONLY_OPERATIONS } from "./scripts.js";

/** Operations per apply call: bounds how long one call holds Redis. */
const MAX_OPERATIONS_PER_CALL = 100;

interface PendingOperation {
  name: OperationName;
  /** The channel's base key, then its partition's dirty index. */
  keys: readonly string[];
  args: (string | number)[];
  partition: number;
  /** In Redis time, from when the operation was issued ("" for none): see clock.ts. */
  deadline: number | "";
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** An operation's own failure inside apply.lua: the message is its error code (RS_…). */
export class OperationError extends Error {
  override name = "OperationError";
}

export class OperationBatcher {
  private queue: PendingOperation[] = [];

  /** With `limits`, every call carries a deadline (clock.ts): past it, it applies nothing. */
  constructor(
    private readonly redis: RedisClient,
    private readonly clustered: boolean,
    private readonly limits?: { clock: RedisClock; timeoutMs: number },
  ) {}

  run(
    name: OperationName,
    keys: readonly string[],
    partition: number,
    args: (string | number)[],
  ): Promise<unknown> {
    // Counted from now, as the caller's timeout is (store.ts), not from when the call leaves.
    const deadline = this.limits ? scriptDeadline(this.limits.clock, this.limits.timeoutMs) : "";
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) setImmediate(() => this.flush());
      this.queue.push({ name, keys, args, partition, deadline, resolve, reject });
    });
  }

  private flush(): void {
    const operations = this.queue;
    this.queue = [];
    for (const group of this.groups(operations)) void this.send(group);
  }

  /** On one Redis any operations may share a call; on Cluster only those of one hash tag. */
  private groups(operations: PendingOperation[]): PendingOperation[][] {
    const byTag = new Map<number, PendingOperation[]>();
    for (const op of operations) {
      const tag = this.clustered ? op.partition : 0;
      const list = byTag.get(tag);
      if (list) list.push(op);
      else byTag.set(tag, [op]);
    }
    const groups: PendingOperation[][] = [];
    for (const list of byTag.values()) {
      for (let i = 0; i < list.length; i += MAX_OPERATIONS_PER_CALL) {
        groups.push(list.slice(i, i + MAX_OPERATIONS_PER_CALL));
      }
    }
    return groups;
  }

  private async send(group: PendingOperation[]): Promise<void> {
    const [only] = group;
    if (group.length === 1 && only) {
      // Alone in its turn: the operation's own script has fewer arguments to send.
      try {
        const keys = only.keys.slice(0, OPERATIONS[only.name]);
        only.resolve(await this.redis[`rs_${only.name}`](...keys, only.deadline, ...only.args));
      } catch (err) {
        only.reject(err as Error);
      }
      return;
    }
    const reads = group.every((op) => READ_ONLY_OPERATIONS.has(op.name));
    let reply: [number, unknown][];
    try {
      reply = await this.apply(group, reads);
    } catch (err) {
      if (reads || !isOutOfMemory(err)) {
        for (const op of group) op.reject(err as Error);
        return;
      }
      // Redis at maxmemory refuses a call that may write, as a whole. Its writes fail (nothing was
      // applied); its reads go again on their own, as reads still run there.
      const readOps = group.filter((op) => READ_ONLY_OPERATIONS.has(op.name));
      for (const op of group) if (!READ_ONLY_OPERATIONS.has(op.name)) op.reject(err as Error);
      if (readOps.length > 0) await this.send(readOps);
      return;
    }
    group.forEach((op, i) => {
      const [ok, result] = reply[i] ?? [0, "RS_NO_REPLY"];
      if (ok === 1) op.resolve(result);
      else op.reject(new OperationError(String(result)));
    });
  }

  private async apply(group: PendingOperation[], reads: boolean): Promise<[number, unknown][]> {
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const op of group) {
      keys.push(...op.keys);
      args.push(op.name, op.args.length, ...op.args);
    }
    // The earliest deadline of the group: no operation applies later than its own allows.
    const deadlines = group.map((op) => op.deadline).filter((d): d is number => d !== "");
    const deadline = deadlines.length > 0 ? Math.min(...deadlines) : "";
    const script = reads ? this.redis.rs_apply_reads : this.redis.rs_apply;
    return (await script.call(this.redis, keys.length, ...keys, deadline, ...args)) as [number, unknown][];
  }
}

/** Redis's refusal at maxmemory (noeviction): "OOM command not allowed when used memory > 'maxmemory'". */
export function isOutOfMemory(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith("OOM ");
}
