// The workload's operations as API.md requests: single endpoints, and /v1/batch entries; and the
// ceiling-http route.
import type { Op } from "../workload.js";

export interface HttpRequest {
  method: "GET" | "POST" | "PUT";
  path: string;
  body?: string;
}

/** The ceiling-http phase's only route (bench/http/ceiling-server.ts). */
export const CEILING_PATH = "/ceiling";

const seg = encodeURIComponent;

export function toRequest(op: Op): HttpRequest {
  switch (op.kind) {
    case "post":
      return {
        method: "POST",
        path: `/v1/channels/${seg(op.channelId)}/messages`,
        body: JSON.stringify(postBody(op)),
      };
    case "markRead":
      return {
        method: "POST",
        path: `/v1/channels/${seg(op.channelId)}/read`,
        body: JSON.stringify({ userId: op.userId }),
      };
    case "markUnread":
      return {
        method: "POST",
        path: `/v1/channels/${seg(op.channelId)}/unread`,
        body: JSON.stringify({ userId: op.userId, messageId: op.messageId }),
      };
    case "memberState":
      return { method: "GET", path: `/v1/channels/${seg(op.channelId)}/members/${seg(op.userId)}` };
    case "userUnread":
      return { method: "GET", path: `/v1/users/${seg(op.userId)}/unread` };
  }
}

/** A /v1/batch entry, or null for reads: the batch endpoint takes join/leave/post/read/unread only. */
export function toBatchEntry(op: Op): Record<string, unknown> | null {
  switch (op.kind) {
    case "post":
      return { op: "post", channelId: op.channelId, ...postBody(op) };
    case "markRead":
      return { op: "read", channelId: op.channelId, userId: op.userId };
    case "markUnread":
      return { op: "unread", channelId: op.channelId, userId: op.userId, messageId: op.messageId };
    default:
      return null;
  }
}

function postBody(op: Extract<Op, { kind: "post" }>): Record<string, unknown> {
  return {
    messageId: op.messageId,
    senderId: op.senderId,
    ...(op.mentions.length > 0 ? { mentions: op.mentions } : {}),
    ...(op.mentionAll ? { mentionAll: true } : {}),
  };
}
