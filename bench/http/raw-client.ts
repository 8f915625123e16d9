// A minimal HTTP/1.1 keep-alive client over a raw socket. The load generator must cost far less
// than the server it measures; node:http's client costs about as much per request as the server.
import net from "node:net";

export interface HttpResponse {
  status: number;
  body: Buffer;
}

const HEADER_END = Buffer.from("\r\n\r\n");
const CHUNKED_END = Buffer.from("\r\n0\r\n\r\n");

export class HttpConnection {
  private buffer: Buffer = Buffer.alloc(0);
  private pending: { resolve: (r: HttpResponse) => void; reject: (e: Error) => void } | null = null;
  private failure: Error | null = null;
  private closing = false;

  private constructor(private readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error) => {
      this.failure = err;
      this.pending?.reject(err);
      this.pending = null;
    };
    socket.on("error", fail);
    socket.on("close", () => fail(new Error("connection closed by the server")));
  }

  static connect(port: number, host = "127.0.0.1"): Promise<HttpConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, host, () => {
        socket.off("error", reject);
        resolve(new HttpConnection(socket));
      });
      socket.once("error", reject);
    });
  }

  /** False once the connection failed or the server said `Connection: close` (a 503 may). */
  get reusable(): boolean {
    return this.failure === null && !this.closing;
  }

  request(method: string, path: string, body?: string): Promise<HttpResponse> {
    if (this.failure) return Promise.reject(this.failure);
    const head =
      body === undefined
        ? `${method} ${path} HTTP/1.1\r\nHost: bench\r\n\r\n`
        : `${method} ${path} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
    return new Promise((resolve, reject) => {
      this.pending = { resolve, reject };
      this.socket.write(head);
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const headerEnd = this.buffer.indexOf(HEADER_END);
    if (headerEnd === -1) return;
    const status = Number(this.buffer.toString("latin1", 9, 12));
    const head = this.buffer.toString("latin1", 0, headerEnd).toLowerCase();
    const bodyStart = headerEnd + 4;
    let end: number;
    const length = /\r\ncontent-length: *(\d+)/.exec(head);
    if (length?.[1] !== undefined) {
      end = bodyStart + Number(length[1]);
      if (this.buffer.length < end) return;
    } else if (head.includes("transfer-encoding: chunked")) {
      const last = this.buffer.indexOf(CHUNKED_END, bodyStart - 2);
      if (last === -1) return;
      end = last + CHUNKED_END.length;
    } else {
      end = bodyStart;
    }
    if (/\r\nconnection: *close/.test(head)) this.closing = true;
    const body = this.buffer.subarray(bodyStart, end);
    this.buffer = this.buffer.subarray(end);
    const pending = this.pending;
    this.pending = null;
    pending?.resolve({ status, body });
  }
}
