import type { Histogram, MetricBucket } from '../contracts/metrics-adapter';

/**
 * Fixed log-scale upper bounds in ms: 1-2-5 steps from 1 ms to 1 hour. Fixed bounds make histograms from any
 * process and any bucket mergeable by adding counts; quantiles are interpolated inside a bound's range.
 */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = [
  1, 2, 5, 10, 20, 50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000,
  2_000_000, 3_600_000,
];

/** Slots: one per bound plus the overflow slot. */
export const HISTOGRAM_SLOTS = HISTOGRAM_BOUNDS_MS.length + 1;

export function emptyHistogram(): Histogram {
  return { counts: new Array<number>(HISTOGRAM_SLOTS).fill(0), count: 0, sum: 0, max: 0 };
}

/** A metric bucket with nothing in it (every counter 0, empty histograms). */
export function emptyBucket(start: number): MetricBucket {
  return {
    start,
    enqueued: 0,
    started: 0,
    completed: 0,
    failed: 0,
    retried: 0,
    stalled: 0,
    timeout: 0,
    duration: emptyHistogram(),
    wait: emptyHistogram(),
  };
}

/** Index of the slot a value falls in. */
export function histogramSlot(valueMs: number): number {
  const v = Math.max(0, valueMs);
  // 21 bounds: a linear scan is as fast as a binary search here.
  for (let i = 0; i < HISTOGRAM_BOUNDS_MS.length; i++) {
    if (v <= (HISTOGRAM_BOUNDS_MS[i] as number)) return i;
  }
  return HISTOGRAM_BOUNDS_MS.length;
}

/** Add `n` observations of `valueMs` in place. */
export function observe(h: Histogram, valueMs: number, n = 1): Histogram {
  const slot = histogramSlot(valueMs);
  h.counts[slot] = (h.counts[slot] ?? 0) + n;
  h.count += n;
  h.sum += valueMs * n;
  if (valueMs > h.max) h.max = valueMs;
  return h;
}

/** Add `b` into `a` in place and return `a`. */
export function mergeHistogram(a: Histogram, b: Histogram): Histogram {
  for (let i = 0; i < HISTOGRAM_SLOTS; i++) a.counts[i] = (a.counts[i] ?? 0) + (b.counts[i] ?? 0);
  a.count += b.count;
  a.sum += b.sum;
  if (b.max > a.max) a.max = b.max;
  return a;
}

/**
 * The q-quantile (0–1) estimated by linear interpolation within the slot that holds it; null when empty.
 * Never above the observed max.
 */
export function quantile(h: Histogram, q: number): number | null {
  if (h.count === 0) return null;
  const rank = Math.min(Math.max(q, 0), 1) * h.count;
  let seen = 0;
  for (let i = 0; i < HISTOGRAM_SLOTS; i++) {
    const c = h.counts[i] ?? 0;
    if (c === 0) continue;
    if (seen + c >= rank) {
      const lower = i === 0 ? 0 : (HISTOGRAM_BOUNDS_MS[i - 1] as number);
      const upper = i < HISTOGRAM_BOUNDS_MS.length ? (HISTOGRAM_BOUNDS_MS[i] as number) : Math.max(h.max, lower);
      const within = c === 0 ? 0 : (rank - seen) / c;
      return Math.min(lower + (upper - lower) * within, h.max);
    }
    seen += c;
  }
  return h.max;
}

/** Add `b`'s counters and histograms into `a` (in place) and return `a`. */
export function addBucketInto<T extends Omit<MetricBucket, 'start'>>(a: T, b: Omit<MetricBucket, 'start'>): T {
  a.enqueued += b.enqueued;
  a.started += b.started;
  a.completed += b.completed;
  a.failed += b.failed;
  a.retried += b.retried;
  a.stalled += b.stalled;
  a.timeout += b.timeout;
  mergeHistogram(a.duration, b.duration);
  mergeHistogram(a.wait, b.wait);
  return a;
}
