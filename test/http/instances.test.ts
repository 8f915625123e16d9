// Two service instances on one Redis and one PostgreSQL (same prefix and schema), as behind a load
// balancer: every write acknowledged by one is visible at once through the other.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Engine } from "../../src/engine.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { cleanup, engineFor, testSpace } from "../helpers/env.js";
import { call } from "./helpers.js";

const space = testSpace("http-instances");
let engines: Engine[] = [];
let apps: ReadStateApp[] = [];

beforeAll(async () => {
  // Both run a worker, as two `serve` processes would; they share the dirty partitions.
  engines = [await engineFor(space, { worker: true }), await engineFor(space, { worker: true })];
  apps = engines.map((engine) => build({ engine }));
  await Promise.all(apps.map((app) => app.ready()));
});

afterAll(async () => {
  for (const app of apps) await app.close();
  for (const engine of engines) await engine.close();
  await cleanup(space);
});

describe("two instances", () => {
  it("read their writes across instances, alternating on every request", async () => {
    const [a, b] = apps as [ReadStateApp, ReadStateApp];
    expect((await call(a, "PUT", "/v1/channels/x1/members/ann")).status).toBe(200);
    expect((await call(b, "PUT", "/v1/channels/x1/members/bob")).status).toBe(200);
    expect((await call(b, "GET", "/v1/channels/x1")).body.memberCount).toBe(2);

    for (let i = 1; i <= 20; i++) {
      const writer = i % 2 === 0 ? a : b;
      const reader = i % 2 === 0 ? b : a;
      const post = await call(writer, "POST", "/v1/channels/x1/messages", {
        messageId: `m${i}`,
        senderId: "ann",
        mentions: i % 5 === 0 ? ["bob"] : [],
      });
      expect(post.body.seq).toBe(i);
      const bob = await call(reader, "GET", "/v1/channels/x1/members/bob");
      expect(bob.body).toMatchObject({ channelSeq: i, unread: i, mentions: Math.floor(i / 5) });
    }

    const read = await call(a, "POST", "/v1/channels/x1/read", { userId: "bob", messageId: "m10" });
    expect(read.body).toMatchObject({ readSeq: 10, unread: 10, mentions: 2 });
    expect((await call(b, "GET", "/v1/users/bob/unread")).body).toMatchObject({ unread: 10, mentions: 2 });
    const receipts = await call(b, "GET", "/v1/channels/x1/messages/m10/receipts");
    expect(receipts.body.readers.map((r: { userId: string }) => r.userId)).toEqual(["ann", "bob"]);

    const repeat = await call(b, "POST", "/v1/channels/x1/messages", { messageId: "m3", senderId: "ann" });
    expect(repeat.status).toBe(200);
    expect(repeat.body.seq).toBe(3);

    expect((await call(b, "DELETE", "/v1/channels/x1/members/bob")).status).toBe(204);
    expect((await call(a, "GET", "/v1/channels/x1/members/bob")).body.error.code).toBe("not_a_member");
  });

  it("agree under concurrent writes: posts from both get distinct, gap-free seqs", async () => {
    const [a, b] = apps as [ReadStateApp, ReadStateApp];
    const posts = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        call(i % 2 === 0 ? a : b, "POST", "/v1/channels/x2/messages", {
          messageId: `c${i}`,
          senderId: "ann",
        }),
      ),
    );
    const seqs = posts.map((post) => post.body.seq as number).sort((x, y) => x - y);
    expect(seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    const viewA = (await call(a, "GET", "/v1/channels/x2")).body;
    const viewB = (await call(b, "GET", "/v1/channels/x2")).body;
    expect(viewA).toEqual(viewB);
    expect(viewA.channelSeq).toBe(40);
  });

  it("flush from either instance leaves nothing dirty for both", async () => {
    const [a, b] = apps as [ReadStateApp, ReadStateApp];
    const flush = await call(b, "POST", "/v1/admin/flush");
    expect(flush.status).toBe(200);
    expect((await call(a, "GET", "/v1/admin/sync")).body.dirty).toBe(0);
  });
});
