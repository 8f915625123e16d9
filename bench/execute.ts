// One workload operation against an implementation of the v1 operations (A, B or C in process).
import type { ReadState } from "../src/core/types.js";
import type { Op } from "./workload.js";

type V1Operation =
  | "join"
  | "leave"
  | "post"
  | "markRead"
  | "markUnread"
  | "memberState"
  | "userUnread"
  | "channelInfo"
  | "receipts"
  | "deleteChannel"
  | "flush"
  | "syncStatus"
  | "close";

/**
 * What the benchmark drives: API.md v1's operations, answered with at least v1's fields. Pattern A
 * implements these only; readstate's v1.1 additions (deletes, mute, threads) are not in the default
 * mix, so A and C answer the same workload.
 */
export type V1ReadState = {
  [K in V1Operation]: (
    ...args: Parameters<ReadState[K]>
  ) => ReturnType<ReadState[K]> extends Promise<infer R> ? Promise<V1Shape<R>> : never;
};

/** A v1 answer: v1.1's added fields are optional. */
type V1Shape<T> = T extends { channels: unknown[] }
  ? Omit<T, "threads" | "channels"> & { channels: V1Shape<T["channels"][number]>[]; threads?: unknown }
  : T extends { firstUnreadMessageId: unknown }
    ? Omit<T, "firstUnreadMessageId" | "muted"> & { firstUnreadMessageId?: string | null; muted?: boolean }
    : T;

/** The v1.1 operations the v1.1 scenario adds (readstate's engine has them; A and D do not). */
type V11Operations = Pick<ReadState, "deleteMessage" | "setMuted" | "markThreadRead">;

export function execute(readState: V1ReadState | (V1ReadState & V11Operations), op: Op): Promise<unknown> {
  switch (op.kind) {
    case "post":
      return readState.post(op.channelId, {
        messageId: op.messageId,
        senderId: op.senderId,
        ...(op.mentions.length > 0 ? { mentions: op.mentions } : {}),
        ...(op.mentionAll ? { mentionAll: true } : {}),
      });
    case "markRead":
      return readState.markRead(op.channelId, op.userId);
    case "markUnread":
      return readState.markUnread(op.channelId, op.userId, op.messageId);
    case "memberState":
      return readState.memberState(op.channelId, op.userId);
    case "userUnread":
      return readState.userUnread(op.userId);
    case "threadReply":
      return readState.post(op.channelId, {
        messageId: op.messageId,
        senderId: op.senderId,
        threadId: op.threadId,
      });
    default:
      return executeV11(readState, op);
  }
}

function executeV11(readState: V1ReadState | (V1ReadState & V11Operations), op: Op): Promise<unknown> {
  if (!("deleteMessage" in readState))
    throw new Error(`${op.kind} is a v1.1 operation; this implementation has v1's only`);
  switch (op.kind) {
    case "deleteMessage":
      return readState.deleteMessage(op.channelId, op.messageId);
    case "mute":
      return readState.setMuted(op.channelId, op.userId, op.muted);
    case "threadRead":
      return readState.markThreadRead(op.channelId, op.threadId, op.userId);
    default:
      throw new Error(`not a v1.1 operation: ${op.kind}`);
  }
}

/** A short, stable label for an error, for the error counts of the report. */
export function errorLabel(err: unknown): string {
  if (err !== null && typeof err === "object" && "code" in err && typeof err.code === "string")
    return err.code;
  const message = err instanceof Error ? err.message : String(err);
  return message.slice(0, 80);
}
