// The stream side of /events on its own: a client that stops reading is dropped once its unsent
// bytes pass the bound, instead of being buffered without end. The response is a Writable that never
// drains, which is what a stalled TCP peer becomes once the kernel's buffers are full.
import type { ServerResponse } from "node:http";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import type { LiveEvent } from "../../src/core/types.js";
import { SSE_DEFAULTS, SseStreams } from "../../src/http/sse.js";

/** Accepts the first `accepted` writes, then never calls back again: bytes pile up unsent. */
function stalledResponse(accepted: number): Writable {
  let writes = 0;
  return new Writable({
    highWaterMark: 1,
    write(_chunk, _encoding, done) {
      if (++writes <= accepted) done();
    },
  });
}

const event = (n: number): LiveEvent => ({
  id: `x-1.${n}`,
  event: "member",
  data: {
    channelId: "general",
    userId: "ann",
    unread: n,
    mentions: 0,
    readSeq: 0,
    channelSeq: n,
    lastReadMessageId: null,
    lastReadAt: null,
    firstUnreadMessageId: "m1",
    muted: false,
  },
});

describe("an event stream", () => {
  it("drops a client that does not read once its unsent bytes pass the bound", () => {
    let dropped = 0;
    let closed = 0;
    const streams = new SseStreams({ ...SSE_DEFAULTS, maxBufferedBytes: 4096 }, { dropped: () => dropped++ });
    const raw = stalledResponse(2);
    const stream = streams.add(raw as unknown as ServerResponse, () => closed++);
    let sent = 0;
    while (!raw.destroyed && sent < 1000) stream.send(event(++sent));
    expect(raw.destroyed).toBe(true);
    expect(dropped).toBe(1);
    // About 4 KiB of events (~230 bytes each), not 1000 of them.
    expect(sent).toBeLessThan(30);
    expect(sent).toBeGreaterThan(10);
    // Nothing more is written to it, and it is forgotten (its subscription ends).
    stream.send(event(++sent));
    return new Promise<void>((resolve) => {
      setImmediate(() => {
        expect(closed).toBe(1);
        expect(streams.size).toBe(0);
        resolve();
      });
    });
  });

  it("frames events, comments and retry hints as Server-Sent Events", () => {
    const chunks: string[] = [];
    const raw = new Writable({
      write(chunk, _encoding, done) {
        chunks.push(String(chunk));
        done();
      },
    });
    const streams = new SseStreams(SSE_DEFAULTS, { dropped: () => {} });
    const stream = streams.add(raw as unknown as ServerResponse, () => {});
    stream.send(event(1));
    stream.comment();
    stream.end(2500);
    stream.send(event(2));
    expect(chunks.join("")).toBe(
      `id: x-1.1\nevent: member\ndata: ${JSON.stringify(event(1).data)}\n\n:\n\nretry: 2500\n\n`,
    );
  });
});
