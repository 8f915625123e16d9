// The flush thread (`serve`'s periodic flushes): it writes what requests change, and when it ends
// unasked (an uncaught error in it) it is reported and started again, so flushing goes on.
import type { Worker } from "node:worker_threads";
import { afterAll, beforeAll, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { FlushThread } from "../../src/sync/thread.js";
import { cleanup, engineFor, queryPg, testSpace } from "../helpers/env.js";
import { eventually } from "../helpers/wait.js";

const space = testSpace("thread");
let rs: Engine;

beforeAll(async () => {
  rs = await engineFor(space);
});

afterAll(async () => {
  await rs.close();
  await cleanup(space);
});

async function stored(messageId: string): Promise<boolean> {
  const rows = await queryPg(space, "SELECT 1 FROM messages WHERE message_id = $1", [messageId]);
  return rows.length === 1;
}

it("starts a new thread when the thread ends unasked, and flushing goes on", async () => {
  const errors: string[] = [];
  const thread = new FlushThread({
    config: { ...rs.config, flushIntervalMs: 100 },
    unfencedFlushes: false,
    onFlush: () => {},
    onError: (err) => errors.push(err.message),
  });
  await thread.start();
  try {
    await rs.join("crash", "bob");
    await rs.post("crash", { messageId: "before", senderId: "alice" });
    await eventually(() => stored("before"));

    // As an uncaught error in the thread would: it ends with the service still running.
    const first = (thread as unknown as { thread: Worker }).thread;
    await first.terminate();
    await eventually(async () => errors.some((e) => e.includes("the flush thread exited")));

    await rs.post("crash", { messageId: "after", senderId: "alice" });
    await eventually(() => stored("after"));
    expect((thread as unknown as { thread: Worker }).thread).not.toBe(first);
  } finally {
    await thread.stop();
  }
  // Stopped on purpose: no report, no new thread.
  const reports = errors.length;
  await new Promise((resolve) => setTimeout(resolve, 1500));
  expect(errors.length).toBe(reports);
});
