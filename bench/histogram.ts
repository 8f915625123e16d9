// Latency histogram with log-spaced buckets (1% wide): constant memory whatever the run length,
// mergeable across worker threads by adding counts, and accurate to ~1% at every percentile.

const GROWTH = 1.01;
const LOG_GROWTH = Math.log(GROWTH);
/** 1 µs … ~1,000 s fits in 2,100 buckets of 1%. */
const BUCKETS = 2100;

export interface LatencySummary {
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

export class Histogram {
  readonly counts: Float64Array;
  count = 0;
  sumUs = 0;
  maxUs = 0;

  constructor(counts?: Float64Array) {
    this.counts = counts ?? new Float64Array(BUCKETS);
  }

  recordMs(ms: number): void {
    const us = ms * 1000;
    const index = us <= 1 ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log(us) / LOG_GROWTH));
    this.counts[index] = (this.counts[index] ?? 0) + 1;
    this.count++;
    this.sumUs += us;
    if (us > this.maxUs) this.maxUs = us;
  }

  merge(other: HistogramData): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i] = (this.counts[i] ?? 0) + (other.counts[i] ?? 0);
    this.count += other.count;
    this.sumUs += other.sumUs;
    if (other.maxUs > this.maxUs) this.maxUs = other.maxUs;
  }

  /** The upper edge of the bucket holding the q-quantile, capped by the exact maximum. */
  quantileMs(q: number): number {
    if (this.count === 0) return 0;
    const target = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i] ?? 0;
      if (seen >= target) return Math.min(GROWTH ** i, this.maxUs) / 1000;
    }
    return this.maxUs / 1000;
  }

  summary(): LatencySummary {
    return {
      count: this.count,
      p50Ms: this.quantileMs(0.5),
      p99Ms: this.quantileMs(0.99),
      maxMs: this.maxUs / 1000,
      meanMs: this.count === 0 ? 0 : this.sumUs / this.count / 1000,
    };
  }

  toData(): HistogramData {
    return { counts: this.counts, count: this.count, sumUs: this.sumUs, maxUs: this.maxUs };
  }
}

/** A histogram as it crosses a worker-thread boundary (structured clone). */
export interface HistogramData {
  counts: Float64Array;
  count: number;
  sumUs: number;
  maxUs: number;
}

/** One histogram per operation type, created on first use. */
export class HistogramSet {
  readonly byOp = new Map<string, Histogram>();

  get(op: string): Histogram {
    let histogram = this.byOp.get(op);
    if (histogram === undefined) {
      histogram = new Histogram();
      this.byOp.set(op, histogram);
    }
    return histogram;
  }

  mergeData(data: Record<string, HistogramData>): void {
    for (const [op, histogram] of Object.entries(data)) this.get(op).merge(histogram);
  }

  toData(): Record<string, HistogramData> {
    return Object.fromEntries([...this.byOp].map(([op, h]) => [op, h.toData()]));
  }

  /** Per operation type, plus "all" over every type. */
  summaries(): Record<string, LatencySummary> {
    const all = new Histogram();
    const out: Record<string, LatencySummary> = {};
    for (const [op, histogram] of [...this.byOp].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      out[op] = histogram.summary();
      all.merge(histogram.toData());
    }
    out.all = all.summary();
    return out;
  }
}
