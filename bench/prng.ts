// Seeded randomness: the same --seed gives the same topology and the same operation stream,
// so a run can be repeated and two implementations see identical work.

/** A random source in [0, 1). */
export type Random = () => number;

/** mulberry32: 32-bit state, fast, and good enough for workload shaping (not for cryptography). */
export function mulberry32(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Derives an independent stream from a seed and a label, so adding a stream never shifts another. */
export function childSeed(seed: number, label: string): number {
  let hash = 2166136261 ^ seed;
  for (let i = 0; i < label.length; i++) {
    hash = Math.imul(hash ^ label.charCodeAt(i), 16777619);
  }
  return hash >>> 0;
}

export function randomInt(random: Random, minInclusive: number, maxInclusive: number): number {
  return minInclusive + Math.floor(random() * (maxInclusive - minInclusive + 1));
}

/**
 * A rank in [0, n) with P(rank = k) roughly proportional to 1/(k+1)^s, by inverting the continuous
 * Zipf CDF: O(1) per draw, so skewed choices over 10,000 users cost no table per channel.
 */
export function zipfRank(random: Random, n: number, s: number): number {
  if (n <= 1) return 0;
  const u = random();
  let x: number;
  if (Math.abs(s - 1) < 1e-9) {
    x = (n + 1) ** u;
  } else {
    const a = 1 - s;
    x = (((n + 1) ** a - 1) * u + 1) ** (1 / a);
  }
  const rank = Math.floor(x) - 1;
  return rank < 0 ? 0 : rank >= n ? n - 1 : rank;
}

/** Fisher–Yates in place. */
export function shuffle<T>(random: Random, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    const tmp = items[i] as T;
    items[i] = items[j] as T;
    items[j] = tmp;
  }
  return items;
}
