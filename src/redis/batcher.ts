// Coalesces the operations issued in one tick into one apply.lua call (or one call per hash tag on
// Redis Cluster). Each script call has a fixed cost in Node and in Redis; many callers at once —
// concurrent requests, a /v1/batch — share it. Order is kept: operations run in the order they
// were issued, and calls leave in that order on one connection.
import type { RedisClient } from "./connection.js";
import { OPERATIONS, type OperationName } from "./scripts.js";

/** Operations per apply call: bounds how long one call holds Redis. */
const MAX_OPERATIONS_PER_CALL = 100;

interface PendingOperation {
  name: OperationName;
  /** The channel's 11 keys, then its partition's dirty index. */
  keys: readonly string[];
  args: (string | number)[];
  partition: number;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
}

/** An operation's own failure inside apply.lua: the message is its error code (RS_…). */
export class OperationError extends Error {
  override name = "OperationError";
}

export class OperationBatcher {
  private queue: PendingOperation[] = [];

  constructor(
    private readonly redis: RedisClient,
    private readonly clustered: boolean,
  ) {}

  run(
    name: OperationName,
    keys: readonly string[],
    partition: number,
    args: (string | number)[],
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.queue.length === 0) process.nextTick(() => this.flush());
      this.queue.push({ name, keys, args, partition, resolve, reject });
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
      // Alone in its tick: the operation's own script has fewer arguments to send.
      try {
        const keys = only.keys.slice(0, OPERATIONS[only.name]);
        only.resolve(await this.redis[`rs_${only.name}`](...keys, ...only.args));
      } catch (err) {
        only.reject(err as Error);
      }
      return;
    }
    const keys: string[] = [];
    const args: (string | number)[] = [];
    for (const op of group) {
      keys.push(...op.keys);
      args.push(op.name, op.args.length, ...op.args);
    }
    let reply: [number, unknown][];
    try {
      reply = (await this.redis.rs_apply(keys.length, ...keys, ...args)) as [number, unknown][];
    } catch (err) {
      for (const op of group) op.reject(err as Error);
      return;
    }
    group.forEach((op, i) => {
      const [ok, result] = reply[i] ?? [0, "RS_NO_REPLY"];
      if (ok === 1) op.resolve(result);
      else op.reject(new OperationError(String(result)));
    });
  }
}
