import type { Histogram, MetricBucket } from '../contracts/metrics-adapter';
import { emptyBucket } from '../util/histogram';

function copyHistogram(h: Histogram): Histogram {
  return { counts: h.counts.slice(), count: h.count, sum: h.sum, max: h.max };
}

/** A copy sharing nothing with `b`, so callers can never change what is stored. */
export function copyBucket(b: MetricBucket): MetricBucket {
  return {
    start: b.start,
    enqueued: b.enqueued,
    started: b.started,
    completed: b.completed,
    failed: b.failed,
    retried: b.retried,
    stalled: b.stalled,
    timeout: b.timeout,
    duration: copyHistogram(b.duration),
    wait: copyHistogram(b.wait),
  };
}

/** Add `n` observations of `valueMs` into slot `slot` (already computed once per event by the caller). */
export function observeAt(h: Histogram, slot: number, valueMs: number, n: number): void {
  h.counts[slot] = (h.counts[slot] ?? 0) + n;
  h.count += n;
  h.sum += valueMs * n;
  if (valueMs > h.max) h.max = valueMs;
}

/**
 * The buckets of one series (one (queue, type) pair, or a roll-up over a queue, a type or everything) at one
 * granularity, keyed by bucket start. A range read costs the buckets in the range, whatever else is stored:
 * it probes each aligned start of the range, or, when the series holds fewer buckets than the range spans,
 * scans the series instead.
 */
export class MetricSeries {
  private readonly buckets = new Map<number, MetricBucket>();
  /** Oldest bucket start held (Infinity when empty): prune skips a series with nothing old enough. */
  private oldest = Number.POSITIVE_INFINITY;
  /** The bucket written last: events mostly arrive in time order, so most writes skip the map lookup. */
  private lastStart = Number.NaN;
  private last: MetricBucket | undefined;

  constructor(
    /** Bucket width (ms). */
    readonly width: number,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** The stored bucket starting at `start` (aligned), created empty when missing. */
  bucket(start: number): MetricBucket {
    if (start === this.lastStart && this.last !== undefined) return this.last;
    let b = this.buckets.get(start);
    if (b === undefined) {
      b = emptyBucket(start);
      this.buckets.set(start, b);
      if (start < this.oldest) this.oldest = start;
    }
    this.lastStart = start;
    this.last = b;
    return b;
  }

  /** Call `visit` with each stored bucket whose start is in [from, to), oldest first. `from` is aligned. */
  range(from: number, to: number, visit: (bucket: MetricBucket) => void): void {
    const size = this.buckets.size;
    if (size === 0 || !(from < to)) return;
    const span = Math.ceil((to - from) / this.width);
    if (span <= size) {
      for (let start = from; start < to; start += this.width) {
        const b = this.buckets.get(start);
        if (b !== undefined) visit(b);
      }
      return;
    }
    const found: MetricBucket[] = [];
    for (const b of this.buckets.values()) if (b.start >= from && b.start < to) found.push(b);
    if (found.length > 1) found.sort((a, b) => a.start - b.start);
    for (const b of found) visit(b);
  }

  /** Drop buckets starting before `cutoff`; returns how many. */
  prune(cutoff: number): number {
    if (this.oldest >= cutoff) return 0;
    let dropped = 0;
    let oldest = Number.POSITIVE_INFINITY;
    for (const start of this.buckets.keys()) {
      if (start < cutoff) {
        this.buckets.delete(start);
        dropped++;
      } else if (start < oldest) {
        oldest = start;
      }
    }
    this.oldest = oldest;
    this.lastStart = Number.NaN;
    this.last = undefined;
    return dropped;
  }
}
