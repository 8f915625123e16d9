// The workload's operations as API.md requests: single endpoints, and /v1/batch entries; and the
// ceiling-http route.
import type { Op } from "../workload.js";

export interface HttpRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
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
    case "deleteMessage":
      return { method: "DELETE", path: `/v1/channels/${seg(op.channelId)}/messages/${seg(op.messageId)}` };
    case "mute":
      return {
        method: "PATCH",
        path: `/v1/channels/${seg(op.channelId)}/members/${seg(op.userId)}`,
        body: JSON.stringify({ muted: op.muted }),
      };
    case "threadReply":
      return {
        method: "POST",
        path: `/v1/channels/${seg(op.channelId)}/messages`,
        body: JSON.stringify({ messageId: op.messageId, senderId: op.senderId, threadId: op.threadId }),
      };
    case "threadRead":
      return {
        method: "POST",
        path: `/v1/channels/${seg(op.channelId)}/threads/${seg(op.threadId)}/read`,
        body: JSON.stringify({ userId: op.userId }),
      };
  }
}

/** A /v1/batch entry, or null for reads and v1.1's operations: the batch phase sends v1's writes. */
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
