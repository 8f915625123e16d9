// The ceiling-http phase's server: Fastify, the framework readstate serves with, answering constant
// JSON on one route, in its own process as `serve` runs. Whatever readstate's HTTP phases reach is
// read against what this reaches with the same load generator on the same machine.
//   node --import tsx bench/http/ceiling-server.ts PORT [PROCESSES]
import cluster from "node:cluster";
import Fastify from "fastify";
import { CEILING_PATH } from "./requests.js";

/** Shaped like a member state answer, so both servers serialize about the same JSON. */
const ANSWER = {
  channelId: "ch1",
  userId: "u1",
  unread: 0,
  mentions: 0,
  readSeq: 0,
  channelSeq: 0,
  lastReadMessageId: null,
  lastReadAt: null,
  firstUnreadMessageId: null,
  muted: false,
};

async function serve(port: number): Promise<void> {
  // No logger: readstate's own serve runs at level warn and logs nothing per request either.
  const app = Fastify({ logger: false });
  app.get(CEILING_PATH, async () => ANSWER);
  process.once("SIGTERM", () => {
    void app.close().then(() => process.exit(0));
  });
  await app.listen({ host: "127.0.0.1", port });
}

async function main(): Promise<void> {
  const port = Number(process.argv[2]);
  const processes = Math.max(1, Number(process.argv[3] ?? 1));
  if (!Number.isInteger(port) || port <= 0) throw new Error(`usage: ceiling-server.ts PORT [PROCESSES]`);
  // Like `serve --processes N`: N processes sharing the port, so the ceiling is measured alike.
  if (processes > 1 && cluster.isPrimary) {
    for (let i = 0; i < processes; i++) cluster.fork();
    process.once("SIGTERM", () => {
      for (const worker of Object.values(cluster.workers ?? {})) worker?.kill("SIGTERM");
      cluster.once("exit", () => {
        if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(0);
      });
    });
    return;
  }
  await serve(port);
}

main().catch((err: unknown) => {
  process.stderr.write(`ceiling server failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
