// Channel-level endpoints: post a message, the channel summary, read receipts, delete.
import type { App, RouteDeps } from "../context.js";
import {
  ChannelInfoBody,
  ChannelParams,
  MessageParams,
  PostMessageBody,
  PostResultBody,
  ReceiptsBody,
  ReceiptsQuery,
  V1Errors,
} from "../schemas.js";

export function channelRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.post(
    "/v1/channels/:channelId/messages",
    {
      config: { op: "post" },
      schema: {
        summary: "Post a message: allocates the next seq; idempotent per (channelId, messageId)",
        tags: ["channels"],
        params: ChannelParams,
        body: PostMessageBody,
        response: { 200: PostResultBody, 201: PostResultBody, ...V1Errors },
      },
    },
    async ({ params, body }, reply) => {
      const { messageId, senderId, mentions, mentionAll } = body;
      const result = await metrics.run("post", () =>
        engine.post(params.channelId, { messageId, senderId, mentions, mentionAll }),
      );
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );

  app.get(
    "/v1/channels/:channelId",
    {
      config: { op: "channel_info" },
      schema: {
        summary: "Channel summary",
        tags: ["channels"],
        params: ChannelParams,
        response: { 200: ChannelInfoBody, ...V1Errors },
      },
    },
    ({ params }) => metrics.run("channel_info", () => engine.channelInfo(params.channelId)),
  );

  app.get(
    "/v1/channels/:channelId/messages/:messageId/receipts",
    {
      config: { op: "receipts" },
      schema: {
        summary: "Who has read a message: members with readSeq >= its seq, sorted by userId, paged",
        tags: ["channels"],
        params: MessageParams,
        querystring: ReceiptsQuery,
        response: { 200: ReceiptsBody, ...V1Errors },
      },
    },
    ({ params, query }) =>
      metrics.run("receipts", () =>
        engine.receipts(params.channelId, params.messageId, { limit: query.limit, after: query.after }),
      ),
  );

  app.delete(
    "/v1/channels/:channelId",
    {
      config: { op: "delete_channel" },
      schema: {
        summary: "Delete a channel and all its state; a later join or post starts again at seq 0",
        tags: ["channels"],
        params: ChannelParams,
        response: { 204: { type: "null", description: "deleted" }, ...V1Errors },
      },
    },
    async ({ params }, reply) => {
      await metrics.run("delete_channel", () => engine.deleteChannel(params.channelId));
      return reply.code(204).send(null);
    },
  );
}
