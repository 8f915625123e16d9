// User tokens for GET /v1/users/{userId}/events (API.md, "Live events"): an HMAC-SHA256-signed
// statement "this user's events, until then", so a browser can open its own stream without the
// service token. Every instance checks them with the same key and no shared state:
// - READSTATE_TOKEN_SECRET when set;
// - else a key derived from READSTATE_API_TOKEN (HKDF, fixed label: the service token itself never
//   signs anything, and rotating it invalidates the user tokens it vouched for);
// - else (a server without any token, whose /events is open anyway) a key derived from nothing: the
//   tokens it issues guard nothing, and no server with a secret accepts them.
// Never a random key per process: another instance could not check its tokens.
//
// Format: "rsu1.<payload>.<signature>", both base64url; payload {"sub":userId,"exp":unix seconds,
// "scope":"events"}. The signature covers "rsu1.<payload>".
import { createHmac, hkdfSync, timingSafeEqual } from "node:crypto";

const VERSION = "rsu1";
const SCOPE = "events";
/** HKDF's info: binds derived keys to this one use. */
const KEY_LABEL = "readstate user tokens v1";

export interface IssuedToken {
  token: string;
  /** ISO 8601, whole seconds. */
  expiresAt: string;
}

export type TokenCheck = { ok: true; expiresAtMs: number } | { ok: false; reason: string };

export class UserTokens {
  private readonly key: Buffer;

  constructor(
    secrets: { tokenSecret?: string | undefined; apiToken?: string | undefined },
    readonly ttlSeconds: number,
  ) {
    this.key = signingKey(secrets);
  }

  issue(userId: string, nowMs = Date.now()): IssuedToken {
    const exp = Math.floor(nowMs / 1000) + this.ttlSeconds;
    const payload = Buffer.from(JSON.stringify({ sub: userId, exp, scope: SCOPE })).toString("base64url");
    const signed = `${VERSION}.${payload}`;
    return { token: `${signed}.${this.sign(signed)}`, expiresAt: new Date(exp * 1000).toISOString() };
  }

  /** Whether `token` lets its bearer read `userId`'s events now; the reason when not. */
  check(token: string, userId: string, nowMs = Date.now()): TokenCheck {
    const parts = token.split(".");
    if (parts.length !== 3 || parts[0] !== VERSION)
      return { ok: false, reason: "not a readstate user token" };
    const signed = `${parts[0]}.${parts[1]}`;
    const expected = Buffer.from(this.sign(signed));
    const presented = Buffer.from(parts[2] ?? "");
    if (presented.length !== expected.length || !timingSafeEqual(presented, expected)) {
      return { ok: false, reason: "the user token's signature does not match this deployment's key" };
    }
    let claims: { sub?: unknown; exp?: unknown; scope?: unknown };
    try {
      claims = JSON.parse(Buffer.from(parts[1] ?? "", "base64url").toString("utf8"));
    } catch {
      return { ok: false, reason: "the user token is malformed" };
    }
    if (claims.scope !== SCOPE || typeof claims.exp !== "number") {
      return { ok: false, reason: "the user token is malformed" };
    }
    if (claims.sub !== userId) return { ok: false, reason: "the user token is for another user" };
    const expiresAtMs = claims.exp * 1000;
    if (expiresAtMs <= nowMs) {
      return {
        ok: false,
        reason: "the user token expired; get a fresh one from POST /v1/users/{userId}/tokens",
      };
    }
    return { ok: true, expiresAtMs };
  }

  private sign(text: string): string {
    return createHmac("sha256", this.key).update(text).digest("base64url");
  }
}

function signingKey(secrets: { tokenSecret?: string | undefined; apiToken?: string | undefined }): Buffer {
  if (secrets.tokenSecret) return Buffer.from(secrets.tokenSecret, "utf8");
  return Buffer.from(hkdfSync("sha256", secrets.apiToken ?? "", "", KEY_LABEL, 32));
}
