// Thread endpoints: follow and unfollow, one follower's state, mark read / unread in a thread, the
// thread's summary. A thread is named by its root's messageId; only followers have thread state.
import type { App, RouteDeps } from "../context.js";
import {
  FollowerParams,
  MarkReadBody,
  MarkUnreadBody,
  NOT_FOUND_WHEN,
  ThreadInfoBody,
  ThreadParams,
  ThreadStateBody,
  v1Errors,
} from "../schemas.js";

export function threadRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.put(
    "/v1/channels/:channelId/threads/:threadId/followers/:userId",
    {
      config: { op: "follow" },
      schema: {
        operationId: "followThread",
        summary: "Follow a thread (idempotent: an existing follower is unchanged)",
        description:
          "The cursor starts at the thread's newest reply: nothing is unread. A root without replies may " +
          "be followed. Membership is checked first (not_a_member), then the root (unknown_message).",
        tags: ["threads"],
        params: FollowerParams,
        response: {
          200: ThreadStateBody,
          ...v1Errors({ validated: true, notFound: { ...NOT_FOUND_WHEN.member, ...NOT_FOUND_WHEN.root } }),
        },
      },
    },
    ({ params }) =>
      metrics.run("follow", () => engine.follow(params.channelId, params.threadId, params.userId)),
  );

  app.delete(
    "/v1/channels/:channelId/threads/:threadId/followers/:userId",
    {
      config: { op: "unfollow" },
      schema: {
        operationId: "unfollowThread",
        summary:
          "Stop following a thread; only a later reply of the user's own or a mention by name follows again",
        tags: ["threads"],
        params: FollowerParams,
        response: {
          204: { type: "null", description: "unfollowed" },
          ...v1Errors({ validated: true, notFound: NOT_FOUND_WHEN.following }),
        },
      },
    },
    async ({ params }, reply) => {
      await metrics.run("unfollow", () => engine.unfollow(params.channelId, params.threadId, params.userId));
      return reply.code(204).send(null);
    },
  );

  app.get(
    "/v1/channels/:channelId/threads/:threadId/followers/:userId",
    {
      config: { op: "thread_state" },
      schema: {
        operationId: "getThreadState",
        summary: "One follower's read state in a thread",
        tags: ["threads"],
        params: FollowerParams,
        response: {
          200: ThreadStateBody,
          ...v1Errors({ validated: true, notFound: NOT_FOUND_WHEN.following }),
        },
      },
    },
    ({ params }) =>
      metrics.run("thread_state", () => engine.threadState(params.channelId, params.threadId, params.userId)),
  );

  app.post(
    "/v1/channels/:channelId/threads/:threadId/read",
    {
      config: { op: "thread_read" },
      schema: {
        operationId: "markThreadRead",
        summary: "Mark a thread read up to a reply, or to the newest; the cursor only moves forward",
        description: "Following is checked first (not_following), then the messageId (unknown_message).",
        tags: ["threads"],
        params: ThreadParams,
        body: MarkReadBody,
        response: {
          200: ThreadStateBody,
          ...v1Errors({
            validated: true,
            body: true,
            notFound: { ...NOT_FOUND_WHEN.following, ...NOT_FOUND_WHEN.reply },
          }),
        },
      },
    },
    ({ params, body }) =>
      metrics.run("thread_read", () =>
        engine.markThreadRead(params.channelId, params.threadId, body.userId, body.messageId),
      ),
  );

  app.post(
    "/v1/channels/:channelId/threads/:threadId/unread",
    {
      config: { op: "thread_unread" },
      schema: {
        operationId: "markThreadUnread",
        summary: "Mark a thread unread from a reply: the cursor moves to just before it",
        description: "Following is checked first (not_following), then the messageId (unknown_message).",
        tags: ["threads"],
        params: ThreadParams,
        body: MarkUnreadBody,
        response: {
          200: ThreadStateBody,
          ...v1Errors({
            validated: true,
            body: true,
            notFound: { ...NOT_FOUND_WHEN.following, ...NOT_FOUND_WHEN.reply },
          }),
        },
      },
    },
    ({ params, body }) =>
      metrics.run("thread_unread", () =>
        engine.markThreadUnread(params.channelId, params.threadId, body.userId, body.messageId),
      ),
  );

  app.get(
    "/v1/channels/:channelId/threads/:threadId",
    {
      config: { op: "thread_info" },
      schema: {
        operationId: "getThread",
        summary: "Thread summary",
        tags: ["threads"],
        params: ThreadParams,
        response: { 200: ThreadInfoBody, ...v1Errors({ validated: true, notFound: NOT_FOUND_WHEN.thread }) },
      },
    },
    ({ params }) => metrics.run("thread_info", () => engine.threadInfo(params.channelId, params.threadId)),
  );
}
