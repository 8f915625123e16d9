// Member-level endpoints: join, leave, mute, mark read / unread, one member's state.
import type { App, RouteDeps } from "../context.js";
import {
  ChannelParams,
  MarkReadBody,
  MarkUnreadBody,
  MemberParams,
  MemberStateBody,
  MuteBody,
  NOT_FOUND_WHEN,
  v1Errors,
} from "../schemas.js";

export function memberRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.put(
    "/v1/channels/:channelId/members/:userId",
    {
      config: { op: "join" },
      schema: {
        operationId: "joinChannel",
        summary: "Join a channel (idempotent: an existing member is unchanged)",
        description: "The new member's cursor starts at the channel's newest message: nothing is unread.",
        tags: ["members"],
        params: MemberParams,
        response: { 200: MemberStateBody, ...v1Errors({ validated: true }) },
      },
    },
    ({ params }) => metrics.run("join", () => engine.join(params.channelId, params.userId)),
  );

  app.delete(
    "/v1/channels/:channelId/members/:userId",
    {
      config: { op: "leave" },
      schema: {
        operationId: "leaveChannel",
        summary: "Leave a channel: the member, its state, its mute and its thread states are removed",
        tags: ["members"],
        params: MemberParams,
        response: {
          204: { type: "null", description: "left" },
          ...v1Errors({ validated: true, notFound: NOT_FOUND_WHEN.member }),
        },
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
        operationId: "getMemberState",
        summary: "One member's read state",
        tags: ["members"],
        params: MemberParams,
        response: { 200: MemberStateBody, ...v1Errors({ validated: true, notFound: NOT_FOUND_WHEN.member }) },
      },
    },
    ({ params }) => metrics.run("member_state", () => engine.memberState(params.channelId, params.userId)),
  );

  app.patch(
    "/v1/channels/:channelId/members/:userId",
    {
      config: { op: "mute" },
      schema: {
        operationId: "setMemberMuted",
        summary: "Mute or unmute a channel for a member",
        description:
          "A muted channel is left out of the user's total unread, never out of the total mentions; " +
          "its own entry keeps its counts. Leaving the channel drops the setting.",
        tags: ["members"],
        params: MemberParams,
        body: MuteBody,
        response: {
          200: MemberStateBody,
          ...v1Errors({ validated: true, body: true, notFound: NOT_FOUND_WHEN.member }),
        },
      },
    },
    ({ params, body }) =>
      metrics.run("mute", () => engine.setMuted(params.channelId, params.userId, body.muted)),
  );

  app.post(
    "/v1/channels/:channelId/read",
    {
      config: { op: "read" },
      schema: {
        operationId: "markRead",
        summary: "Mark read up to a message, or to the newest; the cursor only moves forward",
        tags: ["members"],
        params: ChannelParams,
        body: MarkReadBody,
        response: {
          200: MemberStateBody,
          ...v1Errors({
            validated: true,
            body: true,
            notFound: { ...NOT_FOUND_WHEN.member, ...NOT_FOUND_WHEN.topLevel },
          }),
        },
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
        operationId: "markUnread",
        summary: "Mark unread from a message: the cursor moves to just before it",
        tags: ["members"],
        params: ChannelParams,
        body: MarkUnreadBody,
        response: {
          200: MemberStateBody,
          ...v1Errors({
            validated: true,
            body: true,
            notFound: { ...NOT_FOUND_WHEN.member, ...NOT_FOUND_WHEN.topLevel },
          }),
        },
      },
    },
    ({ params, body }) =>
      metrics.run("unread", () => engine.markUnread(params.channelId, body.userId, body.messageId)),
  );
}
