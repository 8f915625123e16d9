// One workload operation against an implementation of the ReadState interface (A, B or C in process).
import type { ReadState } from "../src/core/types.js";
import type { Op } from "./workload.js";

export function execute(readState: ReadState, op: Op): Promise<unknown> {
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
  }
}

/** A short, stable label for an error, for the error counts of the report. */
export function errorLabel(err: unknown): string {
  if (err !== null && typeof err === "object" && "code" in err && typeof err.code === "string")
    return err.code;
  const message = err instanceof Error ? err.message : String(err);
  return message.slice(0, 80);
}
