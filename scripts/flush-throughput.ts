// Flush throughput of the write-behind worker into PostgreSQL, on the local Redis and PostgreSQL:
// 500 channels × 100 members and 20 messages each are written with the worker off, then one
// engine.flush() is timed; then every member reads to the newest message and a second flush is timed
// (cursor rows only). Uses its own key prefix and schema and removes them.
//
//   npx tsx scripts/flush-throughput.ts
import { createReadState } from "../src/index.js";
import { cleanup, queryPg, testSpace } from "../test/helpers/env.js";

const CHANNELS = 500;
const MEMBERS = 100;
const POSTS = 20;

const space = testSpace("flushtp");
const engine = await createReadState({ ...space, worker: false });
try {
  await inChunks(CHANNELS * MEMBERS, (i) => engine.join(`c${Math.floor(i / MEMBERS)}`, `u${i % MEMBERS}`));
  await inChunks(CHANNELS * POSTS, (i) =>
    engine.post(`c${Math.floor(i / POSTS)}`, {
      messageId: `m${i % POSTS}`,
      senderId: `u${i % POSTS}`,
      mentions: [`u${(i % POSTS) + 1}`],
    }),
  );
  await timedFlush(`${CHANNELS} channels, ${CHANNELS * MEMBERS} members, ${CHANNELS * POSTS} messages`);
  await inChunks(CHANNELS * MEMBERS, (i) =>
    engine.markRead(`c${Math.floor(i / MEMBERS)}`, `u${i % MEMBERS}`),
  );
  await timedFlush("cursor rows only");
  const [stored] = await queryPg(
    space,
    "SELECT (SELECT count(*) FROM members)::int AS members, (SELECT count(*) FROM messages)::int AS messages",
  );
  console.log("in PostgreSQL:", stored);
} finally {
  await engine.close();
  await cleanup(space);
}

async function timedFlush(what: string): Promise<void> {
  const started = performance.now();
  const { flushed } = await engine.flush();
  const ms = performance.now() - started;
  console.log(
    `${what}: ${flushed} rows in ${ms.toFixed(0)} ms = ${Math.round((flushed / ms) * 1000)} rows/s`,
  );
}

async function inChunks(count: number, op: (i: number) => Promise<unknown>): Promise<void> {
  for (let start = 0; start < count; start += 2000) {
    await Promise.all(Array.from({ length: Math.min(2000, count - start) }, (_, j) => op(start + j)));
  }
}
