// Public errors: a stable code and an HTTP status, listed once (API.md, "Errors").

export const ERROR_STATUS = {
  validation_failed: 400,
  unauthorized: 401,
  not_found: 404,
  not_a_member: 404,
  unknown_message: 404,
  not_following: 404,
  payload_too_large: 413,
  unavailable: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class ReadStateError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** When set, HTTP answers carry `Retry-After` with this many seconds. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; retryAfterSeconds?: number }) {
    super(message, options);
    this.name = "ReadStateError";
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.retryAfterSeconds = options?.retryAfterSeconds;
  }

  /** The contract's error body: `{ "error": { "code", "message" } }`. */
  toJSON(): { error: { code: ErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isReadStateError(err: unknown): err is ReadStateError {
  return err instanceof ReadStateError;
}
