// Network helpers for process- and fault-level tests: a free port, and a TCP proxy that can cut a
// dependency off for real (connections reset, new ones refused) and later let it back, or hold its
// replies or commands back.
import { connect, createServer, type Server, type Socket } from "node:net";

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no port assigned");
  return address.port;
}

export interface CuttableProxy {
  port: number;
  /** Resets every open connection and refuses new ones, like a dependency that went away. */
  cut(): Promise<void>;
  /** Accepts connections again on the same port. */
  restore(): Promise<void>;
  close(): Promise<void>;
}

/**
 * A proxy that can also stall the server-to-client direction while the other still flows: the lost
 * or late reply of a command the server did run (a socket that stopped passing replies, a server
 * stopped right after running a command and before answering it).
 */
export interface ReplyHoldingProxy extends CuttableProxy {
  /** From now on commands still reach the server, but its replies are kept back. */
  holdReplies(): void;
  /** From now on commands are kept back too (nothing more reaches the server). */
  holdCommands(): void;
  /** Delivers what was kept back, both ways, and lets everything through again. */
  release(): void;
  /** Resets every open connection (what was kept back is dropped, holding ends) and refuses new ones. */
  cut(): Promise<void>;
}

export function cuttableProxy(targetHost: string, targetPort: number): Promise<CuttableProxy> {
  return replyHoldingProxy(targetHost, targetPort);
}

export async function replyHoldingProxy(targetHost: string, targetPort: number): Promise<ReplyHoldingProxy> {
  const sockets = new Set<Socket>();
  const held: { to: Socket; data: Buffer }[] = [];
  const port = await freePort();
  let holdingReplies = false;
  let holdingCommands = false;
  let server: Server | undefined;

  const listen = async () => {
    if (server) return;
    server = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on("error", drop).on("close", drop);
      upstream.on("error", drop).on("close", drop);
      client.on("data", (data: Buffer) => {
        if (holdingCommands) held.push({ to: upstream, data });
        else upstream.write(data);
      });
      upstream.on("data", (data: Buffer) => {
        if (holdingReplies) held.push({ to: client, data });
        else client.write(data);
      });
    });
    await new Promise<void>((resolve) => server?.listen(port, "127.0.0.1", resolve));
  };
  const stop = async () => {
    holdingReplies = false;
    holdingCommands = false;
    held.length = 0;
    for (const socket of sockets) socket.resetAndDestroy();
    sockets.clear();
    const current = server;
    server = undefined;
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()));
  };

  await listen();
  return {
    port,
    holdReplies: () => {
      holdingReplies = true;
    },
    holdCommands: () => {
      holdingCommands = true;
    },
    release: () => {
      holdingReplies = false;
      holdingCommands = false;
      for (const { to, data } of held.splice(0)) if (!to.destroyed) to.write(data);
    },
    cut: stop,
    restore: listen,
    close: stop,
  };
}
