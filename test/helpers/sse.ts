// A Server-Sent Events client over a real HTTP connection, as a browser's EventSource reads a stream:
// events (id, event, data), comments and retry hints, each with its arrival time.
import { request } from "node:http";
import { performance } from "node:perf_hooks";
import type { LiveEvent } from "../../src/core/types.js";
import { EventLog } from "./live.js";

export interface SseClient {
  url: string;
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** The error body of a refused stream (status ≠ 200). */
  body: unknown;
  log: EventLog;
  comments: { text: string; at: number }[];
  retries: number[];
  /** Resolves when the server ended the stream (or the connection dropped). */
  ended: Promise<void>;
  isEnded(): boolean;
  close(): void;
}

/** Opens `url` (e.g. http://127.0.0.1:port/v1/users/u/events) and parses what comes. */
export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: "text/event-stream", ...headers } }, (res) => {
      const status = res.statusCode ?? 0;
      if (status !== 200) {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => {
          resolve({
            url,
            status,
            headers: res.headers,
            body: text ? JSON.parse(text) : undefined,
            log: new EventLog(),
            comments: [],
            retries: [],
            ended: Promise.resolve(),
            isEnded: () => true,
            close: () => {},
          });
        });
        return;
      }
      const log = new EventLog();
      const comments: { text: string; at: number }[] = [];
      const retries: number[] = [];
      let ended = false;
      let buffer = "";
      let field: { id?: string; event?: string; data: string[] } = { data: [] };
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        buffer += chunk;
        for (let end = buffer.indexOf("\n"); end >= 0; end = buffer.indexOf("\n")) {
          const line = buffer.slice(0, end);
          buffer = buffer.slice(end + 1);
          if (line === "") {
            if (field.data.length > 0) {
              log.onEvent({
                id: field.id ?? "",
                event: field.event ?? "message",
                data: JSON.parse(field.data.join("\n")),
              } as LiveEvent);
            }
            field = { data: [] };
          } else if (line.startsWith(":")) {
            comments.push({ text: line.slice(1), at: performance.now() });
          } else {
            const colon = line.indexOf(":");
            const name = line.slice(0, colon);
            const value = line.slice(colon + 1).replace(/^ /, "");
            if (name === "id") field.id = value;
            else if (name === "event") field.event = value;
            else if (name === "data") field.data.push(value);
            else if (name === "retry") retries.push(Number(value));
          }
        }
      });
      const done = new Promise<void>((finish) => {
        res.on("end", finish);
        res.on("close", finish);
        res.on("error", () => finish());
      }).then(() => {
        ended = true;
      });
      resolve({
        url,
        status,
        headers: res.headers,
        body: undefined,
        log,
        comments,
        retries,
        ended: done,
        isEnded: () => ended,
        close: () => req.destroy(),
      });
    });
    req.on("error", reject);
    req.end();
  });
}
