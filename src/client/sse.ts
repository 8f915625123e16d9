// A Server-Sent Events parser over fetch's body stream (Node 20 has no EventSource): the subset of
// the WHATWG rules readstate's stream uses — `id`, `event`, `data` (joined by "\n"), `retry`, and
// comment lines — with CRLF, LF or CR line ends and chunks that split lines anywhere.

export interface SseMessage {
  /** The last `id` seen so far on the stream (SSE carries it over to later events). */
  id: string | undefined;
  event: string;
  data: string;
}

export interface SseHandlers {
  onMessage(message: SseMessage): void;
  /** A `retry:` field: the server's reconnection delay, ms. */
  onRetry?(ms: number): void;
}

/** Feeds decoded text in; calls the handlers for each complete event. */
export class SseParser {
  #buffer = "";
  #lastId: string | undefined;
  #event = "";
  #data: string[] = [];
  #hasData = false;

  constructor(private readonly handlers: SseHandlers) {}

  get lastEventId(): string | undefined {
    return this.#lastId;
  }

  push(text: string): void {
    this.#buffer += text;
    for (;;) {
      const match = /\r\n|\r|\n/.exec(this.#buffer);
      if (!match) return;
      // A lone "\r" at the end may be the first half of "\r\n": wait for the next chunk.
      if (match[0] === "\r" && match.index === this.#buffer.length - 1) return;
      const line = this.#buffer.slice(0, match.index);
      this.#buffer = this.#buffer.slice(match.index + match[0].length);
      this.#line(line);
    }
  }

  #line(line: string): void {
    if (line === "") {
      if (this.#hasData) {
        this.handlers.onMessage({
          id: this.#lastId,
          event: this.#event || "message",
          data: this.#data.join("\n"),
        });
      }
      this.#event = "";
      this.#data = [];
      this.#hasData = false;
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "id":
        if (!value.includes("\0")) this.#lastId = value;
        break;
      case "event":
        this.#event = value;
        break;
      case "data":
        this.#data.push(value);
        this.#hasData = true;
        break;
      case "retry":
        if (/^\d+$/.test(value)) this.handlers.onRetry?.(Number(value));
        break;
    }
  }
}
