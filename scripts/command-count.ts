// The Redis commands each operation costs, read from MONITOR on the local Redis: the round trips the
// engine makes, and the commands its scripts run inside Redis. Uses its own key prefix and schema.
//
//   npx tsx scripts/command-count.ts
//
// MONITOR shows the whole shared server, so a command counts only when it is the operation's:
// - a round trip: a command of the engine's own connection (the one that sent a script call on this
//   run's keys during the operation) on this run's keys. Every engine also samples the backlog every
//   250 ms on its worker connection (about 514 commands: ZCARD and ZRANGE per partition, 2 HMGET);
//   that connection never calls a script, so a sample that falls inside the window is left out.
// - a command inside a script: a `[0 lua]` line after one of those calls. A script runs atomically,
//   so its commands follow its call in MONITOR with nothing in between; TIME (keyless) counts too,
//   and other clients' scripts on the shared server do not.
// Operations are measured in a steady state: channels loaded and dirty, users' channel lists merged
// with PostgreSQL for good (the first read of a user's list also reads PostgreSQL; a list merged
// before a flush is confirmed by one more read of the flushed frontier until the worker flushes).
import { createReadState } from "../src/index.js";
import { cleanup, REDIS_URL, testSpace } from "../test/helpers/env.js";
import { monitorWhile } from "../test/helpers/monitor.js";

const space = testSpace("cmdcount");
const engine = await createReadState({ ...space, worker: false });
/** Channels of the user that markAllRead, userUnread and userThreads are measured over. */
const MANY = 10;
const many = Array.from({ length: MANY }, (_, i) => `d${i}`);
/** Commands of other connections on this run's keys seen while counting (the backlog samples). */
let leftOut = 0;

try {
  // Channel c: members a, b (and z, joined below); m0 is the root of a thread.
  await engine.join("c", "a");
  await engine.join("c", "b");
  await engine.post("c", { messageId: "m0", senderId: "a" });
  // The reader: a member of MANY channels, following one thread in each (named in its first reply).
  for (const channelId of many) {
    await engine.join(channelId, "reader");
    await engine.post(channelId, { messageId: "root", senderId: "a" });
    await engine.post(channelId, { messageId: "t1", senderId: "a", threadId: "root", mentions: ["reader"] });
  }
  // Users' channel lists: the first read merges PostgreSQL's list and marks it pending; once a flush
  // after that mark (by more than the clock margin, store.ts) confirms it, the next read completes it.
  await engine.userUnread("b");
  await engine.userUnread("reader");
  await new Promise((resolve) => setTimeout(resolve, 1100));
  await engine.flush();
  await engine.userUnread("b");
  await engine.userUnread("reader");
  // Dirty again (the first change after a flush also lifts the cache expiry of the channel's keys).
  await engine.post("c", { messageId: "warm", senderId: "a" });
  for (const channelId of many) await engine.post(channelId, { messageId: "m1", senderId: "a" });

  console.log("| operation | round trips | commands inside the scripts |\n|---|---|---|");
  await count("join (new member)", () => engine.join("c", "z"));
  await count("post, 1 mention, member sender", () =>
    engine.post("c", { messageId: "m1", senderId: "a", mentions: ["b"] }),
  );
  await count("post, @channel", () => engine.post("c", { messageId: "m2", senderId: "a", mentionAll: true }));
  await count("reply, first of its thread (sender, named, root's sender follow)", () =>
    engine.post("c", { messageId: "r1", senderId: "b", threadId: "m0", mentions: ["z"] }),
  );
  await count("reply, 1 mention, follower sender", () =>
    engine.post("c", { messageId: "r2", senderId: "b", threadId: "m0", mentions: ["a"] }),
  );
  await count("reply, @channel", () =>
    engine.post("c", { messageId: "r3", senderId: "a", threadId: "m0", mentionAll: true }),
  );
  await count("markRead to newest (moves)", () => engine.markRead("c", "b"));
  await count("markRead (nothing new)", () => engine.markRead("c", "b"));
  await count("markUnread", () => engine.markUnread("c", "b", "m1"));
  await count("memberState (unread > 0)", () => engine.memberState("c", "b"));
  await count("setMuted", () => engine.setMuted("c", "b", true));
  await count("channelInfo", () => engine.channelInfo("c"));
  await count("receipts", () => engine.receipts("c", "m1"));
  await count("receipts of a reply", () => engine.receipts("c", "r1"));
  await count("follow", () => engine.follow("c", "m2", "b"));
  await count("threadState (unread > 0)", () => engine.threadState("c", "m0", "z"));
  await count("markThreadRead to newest (moves)", () => engine.markThreadRead("c", "m0", "z"));
  await count("markThreadUnread", () => engine.markThreadUnread("c", "m0", "z", "r2"));
  await count("threadInfo", () => engine.threadInfo("c", "m0"));
  await count("deleteMessage, 1 mention", () => engine.deleteMessage("c", "m1"));
  await count("deleteMessage, @channel", () => engine.deleteMessage("c", "m2"));
  await count("deleteMessage, a reply", () => engine.deleteMessage("c", "r2"));
  await count("channelInfo (newest message deleted)", () => engine.channelInfo("c"));
  await count("userUnread (1 channel, 1 thread)", () => engine.userUnread("b"));
  await count("userThreads (1 channel, 1 thread)", () => engine.userThreads("b"));
  await count(`userUnread (${MANY} channels, ${MANY} threads)`, () => engine.userUnread("reader"));
  await count(`userThreads (${MANY} channels, ${MANY} threads)`, () => engine.userThreads("reader"));
  await count(`markAllRead (${MANY} channels, each with unread)`, () => engine.markAllRead("reader"));
  await count(`markAllRead (${MANY} channels, nothing new)`, () => engine.markAllRead("reader"));
  await count("unfollow", () => engine.unfollow("c", "m2", "b"));
  await count("leave (following 1 thread)", () => engine.leave("c", "z"));
  await count("deleteChannel", () => engine.deleteChannel("c"));
  console.log(`\nLeft out: ${leftOut} commands of the engine's other connection (its backlog samples).`);
} finally {
  await engine.close();
  await cleanup(space);
}

/** A MONITOR line: `+<time> [<db> <client address, or lua>] "COMMAND" "arg" …`. */
interface MonitorLine {
  client: string;
  command: string;
  text: string;
}

function parse(line: string): MonitorLine | undefined {
  const match = /^\+[\d.]+ \[\d+ ([^\]]+)\] "([^"]+)"/.exec(line);
  if (!match) return undefined;
  return { client: match[1] as string, command: (match[2] as string).toLowerCase(), text: line };
}

async function count(label: string, op: () => Promise<unknown>): Promise<void> {
  const lines = (await monitorWhile(REDIS_URL, op)).map(parse).filter((l) => l !== undefined);
  const ours = (l: MonitorLine) => l.text.includes(`"${space.keyPrefix}:`);
  const isScriptCall = (l: MonitorLine) => l.client !== "lua" && /^(eval|fcall)/.test(l.command) && ours(l);
  const engineClients = new Set(lines.filter(isScriptCall).map((l) => l.client));
  if (engineClients.size === 0)
    throw new Error(`${label}: no script call seen; cannot tell the engine's commands`);

  const outside: string[] = [];
  const inside: string[] = [];
  let counted = false;
  for (const line of lines) {
    if (line.client === "lua") {
      if (counted) inside.push(line.command);
      continue;
    }
    counted = engineClients.has(line.client) && ours(line);
    if (counted) outside.push(line.command);
    else if (ours(line)) leftOut += 1;
  }
  console.log(
    `| ${label} | ${outside.length} (${summary(outside)}) | ${inside.length}: ${summary(inside)} |`,
  );
}

/** The commands in order, or counted by name when there are many. */
function summary(commands: string[]): string {
  if (commands.length <= 40) return commands.join(" ");
  const counts = new Map<string, number>();
  for (const command of commands) counts.set(command, (counts.get(command) ?? 0) + 1);
  return [...counts].map(([command, n]) => `${command}×${n}`).join(" ");
}
