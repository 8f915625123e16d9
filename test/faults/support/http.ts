// A tiny HTTP client for the scenarios: never throws, so a network failure is an outcome to record.
export interface Reply {
  /** 0 when no response arrived (connection refused, reset or timed out). */
  status: number;
  body: unknown;
  error?: string;
}

export interface Client {
  request(method: string, path: string, body?: unknown): Promise<Reply>;
}

export function client(baseUrl: string, token?: string, timeoutMs = 5000): Client {
  return {
    async request(method, path, body) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      try {
        const response = await fetch(`${baseUrl}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        let parsed: unknown = text;
        try {
          parsed = text === "" ? undefined : JSON.parse(text);
        } catch {
          // Prometheus text and the like stay strings.
        }
        return { status: response.status, body: parsed };
      } catch (err) {
        return { status: 0, body: undefined, error: (err as Error).message };
      }
    },
  };
}

/** The contract's error shape: `{ error: { code, message } }`, both non-empty strings. */
export function errorCode(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const error = (body as { error?: unknown }).error;
  if (typeof error !== "object" || error === null) return undefined;
  const { code, message } = error as { code?: unknown; message?: unknown };
  if (typeof code !== "string" || typeof message !== "string" || code === "" || message === "")
    return undefined;
  return code;
}

export const enc = encodeURIComponent;
