// Who is in which channel: a heavy-tailed size distribution (mostly DMs and small groups, some
// 1,000-member channels, a few 10,000-member ones), with popular users in many channels.
import type { BenchOptions } from "./options.js";
import { childSeed, mulberry32, type Random, randomInt, shuffle, zipfRank } from "./prng.js";

export type SizeClass = "dm" | "small" | "medium" | "large" | "huge";

export interface Channel {
  id: string;
  /** User indices; index 0 of `users` is the most active user, and members are sorted that way. */
  members: number[];
  sizeClass: SizeClass;
}

export interface Topology {
  /** userId by user index; lower index = more active (Zipf rank). */
  users: string[];
  /** Channels by activity rank: channels[0] is the hottest. */
  channels: Channel[];
  /** Channel indices of each user, hottest first. */
  channelsOfUser: number[][];
  memberships: number;
  /** Channel indices by size class, for the burst scenario and the fan-out probe. */
  bySize: Record<SizeClass, number[]>;
}

export function sizeClassOf(
  members: number,
  options: Pick<BenchOptions, "largeSize" | "hugeSize">,
): SizeClass {
  if (members >= options.hugeSize) return "huge";
  if (members >= options.largeSize) return "large";
  if (members > 50) return "medium";
  return members <= 2 ? "dm" : "small";
}

type TopologyOptions = Pick<
  BenchOptions,
  | "seed"
  | "channels"
  | "users"
  | "hugeChannels"
  | "hugeSize"
  | "largePercent"
  | "largeSize"
  | "mediumPercent"
  | "skew"
  | "scenario"
>;

export function buildTopology(options: TopologyOptions): Topology {
  const random = mulberry32(childSeed(options.seed, "topology"));
  const userCount = options.users;
  const users = Array.from({ length: userCount }, (_, i) => `u${i}`);
  const sizes = channelSizes(random, options);
  const channels: Channel[] = sizes.map((size, index) => {
    const members = pickMembers(random, userCount, size);
    return {
      id: `ch${index}`,
      members,
      sizeClass: sizeClassOf(members.length, { largeSize: options.largeSize, hugeSize: options.hugeSize }),
    };
  });
  const channelsOfUser: number[][] = users.map(() => []);
  let memberships = 0;
  channels.forEach((channel, channelIndex) => {
    for (const user of channel.members) {
      (channelsOfUser[user] as number[]).push(channelIndex);
      memberships++;
    }
  });
  const bySize: Record<SizeClass, number[]> = { dm: [], small: [], medium: [], large: [], huge: [] };
  channels.forEach((channel, index) => {
    bySize[channel.sizeClass].push(index);
  });
  return { users, channels, channelsOfUser, memberships, bySize };
}

/** Sizes in activity-rank order: the tail is shuffled so a big channel is not automatically a hot one. */
function channelSizes(random: Random, options: TopologyOptions): number[] {
  const n = options.channels;
  const cap = (size: number) => Math.max(2, Math.min(size, options.users));
  const sizes: number[] = [];
  const huge = Math.min(options.hugeChannels, n);
  // The burst scenario is about 1,000-member channels: it needs enough of them to spread over.
  const largePercent =
    options.scenario === "burst" ? Math.max(options.largePercent, 5) : options.largePercent;
  const large = Math.min(n - huge, Math.max(1, Math.round((n * largePercent) / 100)));
  const medium = Math.min(n - huge - large, Math.round((n * options.mediumPercent) / 100));
  for (let i = 0; i < huge; i++) sizes.push(cap(options.hugeSize));
  for (let i = 0; i < large; i++) sizes.push(cap(options.largeSize));
  for (let i = 0; i < medium; i++) sizes.push(cap(logUniform(random, 51, 300)));
  while (sizes.length < n) {
    // Direct messages are the most common conversation in every chat product.
    sizes.push(cap(random() < 0.4 ? 2 : logUniform(random, 3, 50)));
  }
  return shuffle(random, sizes);
}

function logUniform(random: Random, min: number, max: number): number {
  return Math.round(Math.exp(Math.log(min) + random() * (Math.log(max) - Math.log(min))));
}

/**
 * Popular users are in more channels: half the members are drawn by popularity (Zipf), half
 * uniformly. The popularity exponent is milder than the activity skew on purpose: with the activity
 * exponent the top user would sit in a quarter of all channels; with this one a power user is in
 * ~200 (the two 10,000-member channels, some 1,000-member ones, and many small ones).
 */
const MEMBERSHIP_SKEW = 0.6;

function pickMembers(random: Random, userCount: number, size: number): number[] {
  if (size >= userCount) return Array.from({ length: userCount }, (_, i) => i);
  const chosen = new Set<number>();
  if (size > userCount / 2) {
    // Dense channels: rejection sampling would crawl, so choose who is left out instead.
    const excluded = new Set<number>();
    while (excluded.size < userCount - size) excluded.add(randomInt(random, 0, userCount - 1));
    for (let i = 0; i < userCount; i++) if (!excluded.has(i)) chosen.add(i);
  } else {
    while (chosen.size < size) {
      chosen.add(
        random() < 0.5 ? zipfRank(random, userCount, MEMBERSHIP_SKEW) : randomInt(random, 0, userCount - 1),
      );
    }
  }
  return [...chosen].sort((a, b) => a - b);
}
