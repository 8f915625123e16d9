// Channel-level endpoints: post and delete messages, the channel summary, read receipts, delete.
import type { App, RouteDeps } from "../context.js";
import {
  ChannelInfoBody,
  ChannelParams,
  MessageParams,
  NOT_FOUND_WHEN,
  PostMessageBody,
  PostResultBody,
  ReceiptsBody,
  ReceiptsQuery,
  v1Errors,
} from "../schemas.js";

export function channelRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.post(
    "/v1/channels/:channelId/messages",
    {
      config: { op: "post" },
      schema: {
        operationId: "postMessage",
        summary: "Post a message, or a reply with threadId; idempotent per (channelId, messageId)",
        description:
          "A message takes the channel's next seq; a reply takes its thread's next seq and leaves the " +
          "channel's counts alone. A messageId posted before answers 200 with what it was first posted as.",
        tags: ["channels"],
        params: ChannelParams,
        body: PostMessageBody,
        response: {
          200: { ...PostResultBody, description: "the messageId was posted before: its first result" },
          201: { ...PostResultBody, description: "posted" },
          ...v1Errors({
            validated: true,
            body: true,
            notFound: NOT_FOUND_WHEN.root,
            alsoInvalid: "the threadId names a reply (threads do not nest)",
          }),
        },
      },
    },
    async ({ params, body }, reply) => {
      const { messageId, senderId, mentions, mentionAll, threadId } = body;
      const result = await metrics.run("post", () =>
        engine.post(params.channelId, { messageId, senderId, mentions, mentionAll, threadId }),
      );
      return reply.code(result.created ? 201 : 200).send(result);
    },
  );

  app.delete(
    "/v1/channels/:channelId/messages/:messageId",
    {
      config: { op: "delete_message" },
      schema: {
        operationId: "deleteMessage",
        summary: "Delete a message or a reply: it keeps its seq but no longer counts (idempotent)",
        tags: ["channels"],
        params: MessageParams,
        response: {
          204: { type: "null", description: "deleted, or deleted before" },
          ...v1Errors({
            validated: true,
            notFound: { ...NOT_FOUND_WHEN.channel, ...NOT_FOUND_WHEN.message },
          }),
        },
      },
    },
    async ({ params }, reply) => {
      await metrics.run("delete_message", () => engine.deleteMessage(params.channelId, params.messageId));
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/channels/:channelId",
    {
      config: { op: "channel_info" },
      schema: {
        operationId: "getChannel",
        summary: "Channel summary",
        tags: ["channels"],
        params: ChannelParams,
        response: {
          200: ChannelInfoBody,
          ...v1Errors({ validated: true, notFound: NOT_FOUND_WHEN.channel }),
        },
      },
    },
    ({ params }) => metrics.run("channel_info", () => engine.channelInfo(params.channelId)),
  );

  app.get(
    "/v1/channels/:channelId/messages/:messageId/receipts",
    {
      config: { op: "receipts" },
      schema: {
        operationId: "getReceipts",
        summary:
          "Who has read a message: members (for a reply, the thread's followers) with readSeq >= its seq",
        description: "Sorted by userId and paged: pass the previous page's `next` as `after`.",
        tags: ["channels"],
        params: MessageParams,
        querystring: ReceiptsQuery,
        response: {
          200: ReceiptsBody,
          ...v1Errors({
            validated: true,
            notFound: { ...NOT_FOUND_WHEN.channel, ...NOT_FOUND_WHEN.message },
          }),
        },
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
        operationId: "deleteChannel",
        summary: "Delete a channel with its threads and all its state; a later join or post starts at seq 0",
        tags: ["channels"],
        params: ChannelParams,
        response: {
          204: { type: "null", description: "deleted" },
          ...v1Errors({ validated: true, notFound: NOT_FOUND_WHEN.channel }),
        },
      },
    },
    async ({ params }, reply) => {
      await metrics.run("delete_channel", () => engine.deleteChannel(params.channelId));
      return reply.code(204).send(null);
    },
  );
}
