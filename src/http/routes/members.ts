// Member-level endpoints: join, leave, mark read / unread, one member's state, a user's unread totals.
import type { App, RouteDeps } from "../context.js";
import {
  ChannelParams,
  MarkReadBody,
  MarkUnreadBody,
  MemberParams,
  MemberStateBody,
  UserParams,
  UserUnreadBody,
  V1Errors,
} from "../schemas.js";

export function memberRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.put(
    "/v1/channels/:channelId/members/:userId",
    {
      config: { op: "join" },
      schema: {
        summary: "Join a channel (idempotent: an existing member is unchanged)",
        tags: ["members"],
        params: MemberParams,
        response: { 200: MemberStateBody, ...V1Errors },
      },
    },
    ({ params }) => metrics.run("join", () => engine.join(params.channelId, params.userId)),
  );

  app.delete(
    "/v1/channels/:channelId/members/:userId",
    {
      config: { op: "leave" },
      schema: {
        summary: "Leave a channel: the member and its state are removed",
        tags: ["members"],
        params: MemberParams,
        response: { 204: { type: "null", description: "left" }, ...V1Errors },
      },
    },
    async ({ params }, reply) => {
      await metrics.run("leave", () => engine.leave(params.channelId, params.userId));
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/channels/:channelId/members/:userId",
    {
      config: { op: "member_state" },
      schema: {
        summary: "One member's read state",
        tags: ["members"],
        params: MemberParams,
        response: { 200: MemberStateBody, ...V1Errors },
      },
    },
    ({ params }) => metrics.run("member_state", () => engine.memberState(params.channelId, params.userId)),
  );

  app.post(
    "/v1/channels/:channelId/read",
    {
      config: { op: "read" },
      schema: {
        summary: "Mark read up to a message, or to the newest; the cursor only moves forward",
        tags: ["members"],
        params: ChannelParams,
        body: MarkReadBody,
        response: { 200: MemberStateBody, ...V1Errors },
      },
    },
    ({ params, body }) =>
      metrics.run("read", () => engine.markRead(params.channelId, body.userId, body.messageId)),
  );

  app.post(
    "/v1/channels/:channelId/unread",
    {
      config: { op: "unread" },
      schema: {
        summary: "Mark unread from a message: the cursor moves to just before it",
        tags: ["members"],
        params: ChannelParams,
        body: MarkUnreadBody,
        response: { 200: MemberStateBody, ...V1Errors },
      },
    },
    ({ params, body }) =>
      metrics.run("unread", () => engine.markUnread(params.channelId, body.userId, body.messageId)),
  );

  app.get(
    "/v1/users/:userId/unread",
    {
      config: { op: "user_unread" },
      schema: {
        summary: "Every channel of a user, sorted by channelId, with the totals",
        tags: ["members"],
        params: UserParams,
        response: { 200: UserUnreadBody, ...V1Errors },
      },
    },
    ({ params }) => metrics.run("user_unread", () => engine.userUnread(params.userId)),
  );
}
