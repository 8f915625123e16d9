// A post answered 503 must not take effect (API.md), also when Redis ran it and only its reply was
// lost or late: a proxy passes the command and keeps the reply back, for real. The service under test
// talks to Redis through the proxy; a second engine on the same prefix and schema, straight to
// Redis, watches what Redis holds.
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ReadStateError } from "../../src/core/errors.js";
import type { Engine } from "../../src/engine.js";
import { cleanup, engineFor, queryPg, testSpace, wipeRedis } from "../helpers/env.js";
import { type ReplyHoldingProxy, replyHoldingProxy } from "../helpers/net.js";
import { eventually } from "../helpers/wait.js";

/** The service's Redis timeout: short, yet far above a loaded CI machine's round trip. */
const TIMEOUT_MS = 1000;

async function knownMessage(engine: Engine, channelId: string, messageId: string): Promise<boolean> {
  try {
    await engine.receipts(channelId, messageId);
    return true;
  } catch (err) {
    if (err instanceof ReadStateError && err.code === "unknown_message") return false;
    throw err;
  }
}

async function unavailable(pending: Promise<unknown>): Promise<void> {
  await expect(pending).rejects.toMatchObject({ code: "unavailable" });
}

describe("a post answered 503 that Redis ran all the same", () => {
  const space = testSpace("retraction");
  let proxy: ReplyHoldingProxy;
  let service: Engine;
  let observer: Engine;
  const retracted: string[] = [];
  const unresolved: string[] = [];

  beforeAll(async () => {
    proxy = await replyHoldingProxy("127.0.0.1", 6379);
    service = await engineFor(space, {
      redisUrl: `redis://127.0.0.1:${proxy.port}`,
      redisTimeoutMs: TIMEOUT_MS,
    });
    service.events.on("postRetracted", (_c, messageId) => retracted.push(messageId));
    service.events.on("postUnresolved", (_c, messageId) => unresolved.push(messageId));
    observer = await engineFor(space);
  });

  afterEach(() => proxy.release());

  afterAll(async () => {
    await service?.close().catch(() => {});
    await observer?.close().catch(() => {});
    await proxy?.close();
    await cleanup(space);
  });

  it("is retracted once its reply arrives late: unknown, uncounted, the sender's cursor back", async () => {
    await service.join("c1", "ann");
    await service.join("c1", "bob");
    await service.post("c1", { messageId: "m1", senderId: "bob" });
    const before = {
      ann: await observer.memberState("c1", "ann"),
      bob: await observer.memberState("c1", "bob"),
    };

    proxy.holdReplies();
    const pending = service.post("c1", { messageId: "m2", senderId: "bob", mentions: ["ann"] });
    // Redis ran it; from now on nothing reaches Redis from the service (nor its retraction).
    await eventually(() => knownMessage(observer, "c1", "m2"));
    proxy.holdCommands();
    await unavailable(pending);
    // The 503 would be a lie if nothing followed.
    expect(await knownMessage(observer, "c1", "m2")).toBe(true);
    expect((await observer.memberState("c1", "ann")).mentions).toBe(1);

    proxy.release();
    await eventually(async () => !(await knownMessage(observer, "c1", "m2")));
    expect(retracted).toEqual(["m2"]);

    const ann = await observer.memberState("c1", "ann");
    expect(ann).toMatchObject({ unread: before.ann.unread, mentions: 0, firstUnreadMessageId: "m1" });
    const bob = await observer.memberState("c1", "bob");
    expect(bob).toMatchObject({ readSeq: before.bob.readSeq, unread: 0, lastReadMessageId: "m1" });
    expect((await observer.channelInfo("c1")).lastMessageId).toBe("m1");

    // Posting m2 again is a new message; the retracted seq stays a gap nobody counts.
    const again = await observer.post("c1", { messageId: "m2", senderId: "bob", mentions: ["ann"] });
    expect(again).toMatchObject({ created: true, seq: 3 });
    const annNow = await observer.memberState("c1", "ann");
    expect(annNow).toMatchObject({ channelSeq: 3, unread: 2, mentions: 1, firstUnreadMessageId: "m1" });

    // The same answers after the worker wrote it all and Redis forgot it.
    await observer.flush();
    const rows = await queryPg<{ message_id: string; seq: string; deleted: boolean }>(
      space,
      "SELECT message_id, seq, deleted FROM messages WHERE channel_id = 'c1' ORDER BY message_id",
    );
    expect(rows.map((r) => [r.message_id, Number(r.seq), r.deleted])).toEqual([
      ["m1", 1, false],
      ["m2", 3, false],
      ["~2", 2, true],
    ]);
    await wipeRedis(space);
    expect(await observer.memberState("c1", "ann")).toEqual(annNow);
    expect((await observer.memberState("c1", "bob")).lastReadMessageId).toBe("m2");
    expect((await observer.receipts("c1", "m2")).seq).toBe(3);
  });

  it("stays when a repeat of the post was acknowledged before the retraction", async () => {
    await service.join("c2", "ann");
    proxy.holdReplies();
    const pending = service.post("c2", { messageId: "m1", senderId: "ann" });
    await eventually(() => knownMessage(observer, "c2", "m1"));
    proxy.holdCommands();
    await unavailable(pending);
    // The client retried through another instance and got its answer: the message is acknowledged.
    expect(await observer.post("c2", { messageId: "m1", senderId: "ann" })).toMatchObject({
      created: false,
      seq: 1,
    });
    proxy.release();
    await eventually(async () => service.postsInDoubt() === 0);
    expect(await knownMessage(observer, "c2", "m1")).toBe(true);
    expect(retracted).not.toContain("m1");
  });

  it("is retracted when the connection broke after the command left", async () => {
    await service.join("c3", "ann");
    await service.post("c3", { messageId: "m1", senderId: "ann" });
    proxy.holdReplies();
    const pending = service.post("c3", { messageId: "m2", senderId: "ann" });
    await eventually(() => knownMessage(observer, "c3", "m2"));
    await proxy.cut();
    await unavailable(pending);
    await proxy.restore();
    await eventually(async () => !(await knownMessage(observer, "c3", "m2")));
    expect(retracted).toContain("m2");
    expect(await observer.memberState("c3", "ann")).toMatchObject({ channelSeq: 2, unread: 0, readSeq: 1 });
    expect(unresolved).toEqual([]);
  });

  it("leaves a post that never reached Redis alone", async () => {
    await service.join("c4", "ann");
    await proxy.cut();
    await unavailable(service.post("c4", { messageId: "m1", senderId: "ann" }));
    await proxy.restore();
    await eventually(async () => {
      try {
        await service.memberState("c4", "ann");
        return true;
      } catch {
        return false;
      }
    });
    await eventually(async () => service.postsInDoubt() === 0);
    expect(await observer.post("c4", { messageId: "m1", senderId: "ann" })).toMatchObject({
      created: true,
      seq: 1,
    });
  });
});
