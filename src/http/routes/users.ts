// User-level endpoints: one user's unread totals over every channel, mark all read, followed threads.
import type { App, RouteDeps } from "../context.js";
import {
  MarkAllReadBody,
  MarkAllReadRequest,
  UserParams,
  UserThreadsBody,
  UserThreadsQuery,
  UserUnreadBody,
  v1Errors,
} from "../schemas.js";

export function userRoutes(app: App, { engine, metrics }: RouteDeps): void {
  app.get(
    "/v1/users/:userId/unread",
    {
      config: { op: "user_unread" },
      schema: {
        operationId: "getUserUnread",
        summary: "Every channel of a user, sorted by channelId, with the totals and the thread totals",
        description: "An unknown user gets zeros and no channels.",
        tags: ["users"],
        params: UserParams,
        response: { 200: UserUnreadBody, ...v1Errors({ validated: true }) },
      },
    },
    ({ params }) => metrics.run("user_unread", () => engine.userUnread(params.userId)),
  );

  app.post(
    "/v1/users/:userId/read",
    {
      config: { op: "mark_all_read", openapi: { body: MarkAllReadBody, bodyRequired: false } },
      schema: {
        operationId: "markAllRead",
        summary: "Mark the listed channels, or every channel of the user, read to their newest message",
        description:
          "No body, {} or { channelIds: [...] }. Channels the user is not a member of are left alone; " +
          "threads are not touched. Each channel changes atomically, the call as a whole does not: a 503 " +
          "may leave some channels marked, and repeating the call is safe. Answers as GET /v1/users/{userId}/unread.",
        tags: ["users"],
        params: UserParams,
        body: MarkAllReadRequest,
        response: { 200: UserUnreadBody, ...v1Errors({ validated: true, body: true }) },
      },
    },
    ({ params, body }) =>
      metrics.run("mark_all_read", () => engine.markAllRead(params.userId, body?.channelIds)),
  );

  app.get(
    "/v1/users/:userId/threads",
    {
      config: { op: "user_threads" },
      schema: {
        operationId: "getUserThreads",
        summary: "The threads a user follows, sorted by channelId then threadId, paged, with totals over all",
        description: "Pass the previous page's `next` as `after`; `next` is null on the last page.",
        tags: ["users"],
        params: UserParams,
        querystring: UserThreadsQuery,
        response: { 200: UserThreadsBody, ...v1Errors({ validated: true }) },
      },
    },
    ({ params, query }) =>
      metrics.run("user_threads", () =>
        engine.userThreads(params.userId, { limit: query.limit, after: query.after }),
      ),
  );
}
