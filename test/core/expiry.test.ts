// A clean channel's cached keys used to share one expiry time, and the scripts relied on "within a
// script either all of them exist or none does". Redis 7.0 does not keep that promise: its active
// expiry cycle deletes some of the keys, and a script that runs right after still finds the others
// (at Redis level: 8 keys set to one PEXPIREAT, then checked in one script each, showed 192 partial
// views in 17,863 checks around the expiry). An op in that instant saw a partial copy: meta without
// the cursors (memberCount 0, not_a_member), without the message index (unknown_message). Found by
// the model test's 1 ms-TTL property; now meta expires first and the rest a second later
// (_lib.lua, expire_cached). Through the engine (a 1 ms TTL puts reads near an expiry) this loop
// failed within a few hundred reads before loads kept a channel at least 250 ms; the scripts test
// ("a clean channel's cache expiry") provokes the instant directly and fails without the fix.
import { afterAll, expect, it } from "vitest";
import { isReadStateError } from "../../src/index.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";

const spaces: TestSpace[] = [];
afterAll(async () => {
  for (const space of spaces) await cleanup(space);
});

it("a channel read at the instant it expires is seen whole or not at all", async () => {
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
