// The Server-Sent Events streams of one app (GET /v1/users/{userId}/events): framing, keep-alive
// comments, slow consumers, and a clean end on shutdown.
import type { ServerResponse } from "node:http";
import { eventData } from "../core/live.js";
import type { LiveEvent } from "../core/types.js";

export interface SseSettings {
  /** A comment goes to every stream this often, so idle connections stay open (API.md: ≤ 15 s). */
  heartbeatMs: number;
  /**
   * Bytes a stream may have written but not yet sent before it is dropped: a client that reads
   * slower than its events come is cut off (it reconnects with Last-Event-ID) rather than buffered
   * without bound.
   */
  maxBufferedBytes: number;
  /**
   * The `retry:` a stream gets when the server shuts down: from `retryMinMs`, spread uniformly over
   * `retrySpreadMs`, so the clients of a stopping instance do not all reconnect at once.
   */
  retryMinMs: number;
  retrySpreadMs: number;
}

export const SSE_DEFAULTS: SseSettings = {
  // Well inside 15 s, so timer drift on a busy event loop cannot stretch a gap past it.
  heartbeatMs: 10_000,
  // About 1,000 events: far more than a live client ever lags behind.
  maxBufferedBytes: 256 * 1024,
  // 1,000 streams reconnect at about 110 per second over 9 s (scripts/live-latency.ts measures it).
  retryMinMs: 1000,
  retrySpreadMs: 9000,
};

export interface SseCounters {
  /** A stream was dropped because its client did not keep up. */
  dropped(): void;
}

export class SseStream {
  private ended = false;
  private expiry: NodeJS.Timeout | undefined;

  constructor(
    readonly raw: ServerResponse,
    private readonly streams: SseStreams,
    private readonly onClose: () => void,
  ) {
    raw.on("close", () => this.closed());
  }

  send(event: LiveEvent): void {
    this.write(`id: ${event.id}\nevent: ${event.event}\ndata: ${eventData(event)}\n\n`);
  }

  comment(text = ""): void {
    this.write(`:${text}\n\n`);
  }

  /** Ends the stream when the user token it was opened with expires. */
  expireAt(ms: number): void {
    const wait = Math.min(Math.max(0, ms - Date.now()), 2 ** 31 - 1);
    this.expiry = setTimeout(() => {
      this.comment(" the user token expired; reconnect with a fresh one");
      this.end();
    }, wait);
    this.expiry.unref();
  }

  /** Ends the stream, telling the client when to come back (`retry:`, ms) if given. */
  end(retryMs?: number): void {
    if (this.ended) return;
    if (retryMs !== undefined) this.write(`retry: ${Math.round(retryMs)}\n\n`);
    this.ended = true;
    this.raw.end();
  }

  private write(text: string): void {
    if (this.ended || this.raw.destroyed) return;
    this.raw.write(text);
    if (this.raw.writableLength > this.streams.settings.maxBufferedBytes) {
      this.streams.counters.dropped();
      this.ended = true;
      this.raw.destroy();
    }
  }

  private closed(): void {
    this.ended = true;
    clearTimeout(this.expiry);
    this.streams.forget(this);
    this.onClose();
  }
}

export class SseStreams {
  private readonly open = new Set<SseStream>();
  private heartbeat: NodeJS.Timeout | undefined;

  constructor(
    readonly settings: SseSettings,
    readonly counters: SseCounters,
  ) {}

  /** Takes over a response whose status and headers were written. */
  add(raw: ServerResponse, onClose: () => void): SseStream {
    const stream = new SseStream(raw, this, onClose);
    this.open.add(stream);
    if (!this.heartbeat) {
      this.heartbeat = setInterval(() => {
        for (const open of this.open) open.comment();
      }, this.settings.heartbeatMs);
      this.heartbeat.unref();
    }
    return stream;
  }

  forget(stream: SseStream): void {
    this.open.delete(stream);
    if (this.open.size === 0) {
      clearInterval(this.heartbeat);
      this.heartbeat = undefined;
    }
  }

  get size(): number {
    return this.open.size;
  }

  /** A retry hint with jitter. */
  retryMs(): number {
    return this.settings.retryMinMs + Math.random() * this.settings.retrySpreadMs;
  }

  /** Shutdown: every stream gets its own jittered `retry:` and ends. */
  endAll(): void {
    for (const stream of [...this.open]) stream.end(this.retryMs());
  }
}
