// What Redis's MONITOR shows while an action runs, read over a raw socket: ioredis's monitor mode
// loses its place when the shared server is busy. For counting the commands an operation costs.
import { connect } from "node:net";

/** MONITOR's lines (`+<time> [0 lua] "HGET" "key" …`) seen while run() executed. */
export async function monitorWhile(redisUrl: string, run: () => Promise<unknown>): Promise<string[]> {
  const url = new URL(redisUrl);
  const socket = connect(Number(url.port || 6379), url.hostname);
  let text = "";
  socket.on("data", (chunk) => {
    text += chunk.toString("utf8");
  });
  socket.write("MONITOR\r\n");
  while (!text.startsWith("+OK")) await new Promise((resolve) => setTimeout(resolve, 5));
  await run();
  // MONITOR lines can trail the reply by a moment.
  await new Promise((resolve) => setTimeout(resolve, 100));
  socket.destroy();
  return text.split("\r\n");
}

/** The command name of a MONITOR line, lower-case. */
export function commandOf(line: string): string {
  return (/\] "([^"]+)"/.exec(line)?.[1] ?? "?").toLowerCase();
}
