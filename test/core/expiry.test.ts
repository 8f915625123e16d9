// A clean channel's cached keys share one expiry time, and the scripts rely on it (_lib.lua,
// cached_keys): "within a script either all of them exist or none does". Redis 7.0 does not keep
// that promise: its active expiry cycle deletes some of the keys, and a script that runs right after
// still finds the others (at Redis level: 8 keys set to one PEXPIREAT, then checked in one script
// each, showed 192 partial views in 17,863 checks around the expiry). An op that lands in that
// instant sees a partial copy: meta without the cursors (memberCount 0, not_a_member), without the
// message index (unknown_message); a write there would persist the partial copy as dirty, and the
// flush would write its members as having left (no cursor). Found by the model test's 1 ms-TTL
// property. Marked .fails until the engine is fixed (not in src/ by this change); a 1 ms TTL makes
// every read land near an expiry, and the loop fails within a few hundred reads.
import { afterAll, expect, it } from "vitest";
import { isReadStateError } from "../../src/index.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";

const spaces: TestSpace[] = [];
afterAll(async () => {
  for (const space of spaces) await cleanup(space);
});

it.fails("a channel read at the instant it expires is seen whole or not at all", async () => {
  const space = testSpace("expiry");
  spaces.push(space);
  const rs = await engineFor(space, { cacheTtlMs: 1 });
  try {
    await rs.join("c", "a");
    await rs.join("c", "b");
    await rs.post("c", { messageId: "m1", senderId: "b" });
    await rs.flush();
    // `unavailable` (the channel expired again before each of the op's loads) is allowed: retried.
    const read = <T>(op: () => Promise<T>): Promise<T | null> =>
      op().catch((err) => {
        if (isReadStateError(err) && err.code === "unavailable") return null;
        throw err;
      });
    for (let i = 0; i < 5000; i++) {
      const info = await read(() => rs.channelInfo("c"));
      if (info) expect(info).toEqual({ channelId: "c", channelSeq: 1, memberCount: 2, lastMessageId: "m1" });
      const receipts = await read(() => rs.receipts("c", "m1"));
      if (receipts) expect(receipts.readCount).toBe(1);
    }
  } finally {
    await rs.close();
  }
}, 120_000);
