// The Redis commands each operation costs, read from MONITOR on the local Redis: the round trips the
// engine makes, and the commands its script runs inside Redis. Uses its own key prefix and schema.
//
//   npx tsx scripts/command-count.ts
import { createReadState } from "../src/index.js";
import { cleanup, REDIS_URL, testSpace } from "../test/helpers/env.js";
import { commandOf, monitorWhile } from "../test/helpers/monitor.js";

const space = testSpace("cmdcount");
const engine = await createReadState({ ...space, worker: false });

try {
  await engine.join("c", "a");
  await engine.join("c", "b");
  await engine.post("c", { messageId: "m0", senderId: "a" });
  console.log("| operation | round trips | commands inside the script |\n|---|---|---|");
  await count("join (new member)", () => engine.join("c", "z"));
  await count("post, 1 mention, member sender", () =>
    engine.post("c", { messageId: "m1", senderId: "a", mentions: ["b"] }),
  );
  await count("post, @channel", () => engine.post("c", { messageId: "m2", senderId: "a", mentionAll: true }));
  await count("markRead to newest (moves)", () => engine.markRead("c", "b"));
  await count("markRead (nothing new)", () => engine.markRead("c", "b"));
  await count("markUnread", () => engine.markUnread("c", "b", "m1"));
  await count("memberState (unread > 0)", () => engine.memberState("c", "b"));
  await count("channelInfo", () => engine.channelInfo("c"));
  await count("receipts", () => engine.receipts("c", "m1"));
  await count("userUnread (1 channel)", () => engine.userUnread("b"));
  await count("leave", () => engine.leave("c", "z"));
  await count("deleteChannel", () => engine.deleteChannel("c"));
} finally {
  await engine.close();
  await cleanup(space);
}

async function count(label: string, op: () => Promise<unknown>): Promise<void> {
  const lines = await monitorWhile(REDIS_URL, op);
  const ours = lines.filter((line) => line.includes(`"${space.keyPrefix}:`) || / lua\] "TIME"/.test(line));
  const outside = ours.filter((line) => !/ lua\] /.test(line)).map(commandOf);
  const inside = ours.filter((line) => / lua\] /.test(line)).map(commandOf);
  console.log(
    `| ${label} | ${outside.length} (${outside.join(", ")}) | ${inside.length}: ${inside.join(" ")} |`,
  );
}
