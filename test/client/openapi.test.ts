// The client checked against the served OpenAPI (GET /openapi.json of a real app over a real
// engine): every operationId has a client method, and the fields of each JSON response schema are
// exactly the fields of what that method's type says it returns. The key lists below are checked
// against the client's types at compile time (a missing or extra key fails `npm run typecheck`) and
// against the served schemas at run time (a field added to the API fails this test).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type BatchOpName, createClient, ops, type ReadStateClient } from "../../src/client/index.js";
import type { Engine } from "../../src/engine.js";
import { build, type ReadStateApp } from "../../src/http/app.js";
import { cleanup, engineFor, type TestSpace, testSpace } from "../helpers/env.js";

type Missing<T, K extends readonly PropertyKey[]> = Exclude<keyof T, K[number]>;
/** `keysOf<T>()([...])`: the list must name every key of T, and nothing else. */
function keysOf<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    keys: K & ([Missing<T, K>] extends [never] ? unknown : { missing: Missing<T, K> }),
  ): readonly string[] => keys;
}
type Returns<M extends keyof ReadStateClient> = ReadStateClient[M] extends (...args: never[]) => infer R
  ? Awaited<R>
  : never;
type Item<T> = T extends readonly (infer I)[] ? I : never;

interface Shape {
  keys: readonly string[];
  nested?: Record<string, Shape>;
}

const memberState: Shape = {
  keys: keysOf<Returns<"memberState">>()([
    "channelId",
    "userId",
    "unread",
    "mentions",
    "readSeq",
    "channelSeq",
    "lastReadMessageId",
    "lastReadAt",
    "firstUnreadMessageId",
    "muted",
  ]),
};
const threadState: Shape = {
  keys: keysOf<Returns<"threadState">>()([
    "channelId",
    "threadId",
    "userId",
    "unread",
    "mentions",
    "readSeq",
    "threadSeq",
    "lastReadMessageId",
    "lastReadAt",
    "firstUnreadMessageId",
  ]),
};
const userUnread: Shape = {
  keys: keysOf<Returns<"userUnread">>()(["userId", "unread", "mentions", "channels", "threads"]),
  nested: {
    channels: memberState,
    threads: { keys: keysOf<Returns<"userUnread">["threads"]>()(["unreadThreads", "mentions"]) },
  },
};
const stats = keysOf<Returns<"stats">>()([
  "now",
  "intervalMs",
  "durabilityBudgetMs",
  "backpressureAgeMs",
  "current",
  "history",
]);

/** operationId → the client method, and the shape of its JSON answer where it has one. */
const OPERATIONS: Record<string, { method: keyof ReadStateClient; shape?: Shape; freeForm?: true }> = {
  joinChannel: { method: "join", shape: memberState },
  leaveChannel: { method: "leave" },
  getMemberState: { method: "memberState", shape: memberState },
  setMemberMuted: { method: "setMuted", shape: memberState },
  markRead: { method: "markRead", shape: memberState },
  markUnread: { method: "markUnread", shape: memberState },
  postMessage: {
    method: "post",
    shape: { keys: keysOf<Returns<"post">>()(["channelId", "messageId", "seq", "threadId", "created"]) },
  },
  deleteMessage: { method: "deleteMessage" },
  getChannel: {
    method: "channelInfo",
    shape: {
      keys: keysOf<Returns<"channelInfo">>()(["channelId", "channelSeq", "memberCount", "lastMessageId"]),
    },
  },
  getReceipts: {
    method: "receipts",
    shape: {
      keys: keysOf<Returns<"receipts">>()([
        "channelId",
        "messageId",
        "seq",
        "memberCount",
        "readCount",
        "readers",
        "next",
      ]),
      nested: { readers: { keys: keysOf<Item<Returns<"receipts">["readers"]>>()(["userId", "readSeq"]) } },
    },
  },
  deleteChannel: { method: "deleteChannel" },
  followThread: { method: "follow", shape: threadState },
  unfollowThread: { method: "unfollow" },
  getThreadState: { method: "threadState", shape: threadState },
  markThreadRead: { method: "markThreadRead", shape: threadState },
  markThreadUnread: { method: "markThreadUnread", shape: threadState },
  getThread: {
    method: "threadInfo",
    shape: {
      keys: keysOf<Returns<"threadInfo">>()([
        "channelId",
        "threadId",
        "threadSeq",
        "followerCount",
        "lastMessageId",
      ]),
    },
  },
  getUserUnread: { method: "userUnread", shape: userUnread },
  markAllRead: { method: "markAllRead", shape: userUnread },
  getUserThreads: {
    method: "userThreads",
    shape: {
      keys: keysOf<Returns<"userThreads">>()(["userId", "unreadThreads", "mentions", "threads", "next"]),
      nested: { threads: threadState },
    },
  },
  createUserToken: {
    method: "createUserToken",
    shape: { keys: keysOf<Returns<"createUserToken">>()(["token", "expiresAt"]) },
  },
  streamUserEvents: { method: "events" },
  applyBatch: { method: "batch", shape: { keys: ["results"] } },
  flushToPostgres: {
    method: "flush",
    shape: { keys: keysOf<Returns<"flush">>()(["flushed", "remaining"]) },
  },
  getSyncStatus: {
    method: "syncStatus",
    shape: {
      keys: keysOf<Returns<"syncStatus">>()([
        "dirty",
        "oldestDirtyAgeMs",
        "lastFlushAt",
        "lastFlushRows",
        "lastFlushMs",
        "shedding",
        "backpressureAgeMs",
      ]),
    },
  },
  getStats: {
    method: "stats",
    shape: {
      keys: stats,
      nested: {
        current: {
          keys: keysOf<Returns<"stats">["current"]>()([
            "windowSeconds",
            "opsPerSecond",
            "p99Ms",
            "errorsPerSecond",
            "dirty",
            "oldestDirtyAgeMs",
            "shedding",
            "flushRowsPerSecond",
            "flushMs",
            "lastFlushAt",
            "openStreams",
          ]),
        },
        history: {
          keys: keysOf<Item<Returns<"stats">["history"]>>()([
            "t",
            "ops",
            "p99Ms",
            "errors",
            "dirty",
            "oldestDirtyAgeMs",
            "shedding",
            "flushRows",
            "flushes",
            "flushMs",
            "flushErrors",
            "openStreams",
          ]),
        },
      },
    },
  },
  getHealth: { method: "health", shape: { keys: keysOf<Returns<"health">>()(["status"]) } },
  getReadiness: {
    method: "ready",
    shape: { keys: keysOf<Returns<"ready">>()(["ready", "redis", "postgres", "schema", "error"]) },
  },
  getMetrics: { method: "metrics" },
  // The document itself: an open object, typed as such.
  getOpenApiDocument: { method: "openApi", freeForm: true },
};

// biome-ignore lint/suspicious/noExplicitAny: a JSON Schema walked by hand
type Json = any;

let space: TestSpace;
let engine: Engine;
let app: ReadStateApp;
let doc: Json;

beforeAll(async () => {
  space = testSpace("client-openapi");
  engine = await engineFor(space);
  app = build({ engine });
  const base = await app.listen({ host: "127.0.0.1", port: 0 });
  doc = await createClient({ baseUrl: base }).openApi();
});
afterAll(async () => {
  await app?.close();
  await engine?.close();
  if (space) await cleanup(space);
});

function operations(): { id: string; op: Json }[] {
  const list: { id: string; op: Json }[] = [];
  for (const item of Object.values<Json>(doc.paths)) {
    for (const op of Object.values<Json>(item)) if (op?.operationId) list.push({ id: op.operationId, op });
  }
  return list;
}

/** The object schema behind a property: through arrays and nullable unions. */
function objectOf(schema: Json): Json {
  if (schema?.type === "array") return objectOf(schema.items);
  for (const key of ["anyOf", "oneOf"]) {
    const object = schema?.[key]?.find((s: Json) => s.type === "object" || s.type === "array");
    if (object) return objectOf(object);
  }
  return schema;
}

function compare(schema: Json, shape: Shape, where: string): void {
  const object = objectOf(schema);
  expect(Object.keys(object?.properties ?? {}).sort(), where).toEqual([...shape.keys].sort());
  for (const [field, inner] of Object.entries(shape.nested ?? {})) {
    compare(object.properties[field], inner, `${where}.${field}`);
  }
}

describe("the client against /openapi.json", () => {
  it("has a method for every operationId, and maps nothing the API does not have", () => {
    const ids = operations().map((o) => o.id);
    expect(ids.length).toBeGreaterThan(25);
    const client = createClient({ baseUrl: "http://127.0.0.1:1" });
    for (const id of ids) {
      expect(OPERATIONS[id], `no client method for ${id}`).toBeDefined();
      expect(typeof client[OPERATIONS[id]?.method as keyof ReadStateClient], id).toBe("function");
    }
    expect(Object.keys(OPERATIONS).sort()).toEqual([...ids].sort());
  });

  it("answers with exactly the fields of each response schema", () => {
    let compared = 0;
    for (const { id, op } of operations()) {
      const shape = OPERATIONS[id]?.shape;
      if (OPERATIONS[id]?.freeForm) continue;
      for (const status of ["200", "201"]) {
        const schema = op.responses?.[status]?.content?.["application/json"]?.schema;
        if (!schema) continue;
        expect(shape, `${id} answers JSON on ${status}: the client needs its shape`).toBeDefined();
        if (shape) compare(schema, shape, `${id} ${status}`);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(20);
  });

  it("builds every batch op the API takes", () => {
    const body = doc.paths["/v1/batch"].post.requestBody.content["application/json"].schema;
    const names = new Set<string>();
    const walk = (node: Json): void => {
      if (!node || typeof node !== "object") return;
      if (node.properties?.op?.const) names.add(node.properties.op.const);
      for (const value of Object.values(node)) walk(value);
    };
    walk(body);
    expect([...names].sort()).toEqual(Object.keys(ops).sort() satisfies string[] as BatchOpName[]);
  });
});
