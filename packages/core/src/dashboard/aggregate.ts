import type { Granularity, Histogram, MetricBucket, MetricsAdapter, MetricsTotals } from '../contracts/metrics-adapter';
import { GRANULARITIES } from '../contracts/metrics-adapter';
import { addBucketInto, emptyBucket, quantile } from '../util/histogram';
import type { Period } from './schemas';

/**
 * Everything the read endpoints compute comes from metric buckets and counters, never from scanning jobs: these
 * helpers turn buckets into windows, trends and rates.
 */

const MINUTE = 60_000;

/** How a period is charted: the bucket width shown and the stored granularity it is built from. */
export interface PeriodPlan {
  periodMs: number;
  bucketMs: number;
  source: Granularity;
  buckets: number;
}

/** minute for 1h, 5 min (merged minute buckets) for 6h, hour for 24h and 7d, day for 30d (API.md). */
export const PERIOD_PLANS: Record<Period, PeriodPlan> = {
  '1h': { periodMs: 3_600_000, bucketMs: MINUTE, source: 'minute', buckets: 60 },
  '6h': { periodMs: 6 * 3_600_000, bucketMs: 5 * MINUTE, source: 'minute', buckets: 72 },
  '24h': { periodMs: 24 * 3_600_000, bucketMs: 3_600_000, source: 'hour', buckets: 24 },
  '7d': { periodMs: 7 * 86_400_000, bucketMs: 3_600_000, source: 'hour', buckets: 168 },
  '30d': { periodMs: 30 * 86_400_000, bucketMs: 86_400_000, source: 'day', buckets: 30 },
};

/** The window of a period ending at `now`: whole buckets, the last one being the current (partial) one. */
export function periodRange(period: Period, now: number): { from: number; to: number; plan: PeriodPlan } {
  const plan = PERIOD_PLANS[period];
  const to = Math.floor(now / plan.bucketMs) * plan.bucketMs + plan.bucketMs;
  return { from: to - plan.buckets * plan.bucketMs, to, plan };
}

/**
 * Buckets of `series` re-cut to `bucketMs` (merging minute buckets into 5-minute ones for 6h) over [from, to),
 * every bucket present, empty ones filled with zeros.
 */
export function fillBuckets(
  series: readonly MetricBucket[],
  from: number,
  to: number,
  bucketMs: number,
): MetricBucket[] {
  const count = Math.max(0, Math.round((to - from) / bucketMs));
  const out: MetricBucket[] = [];
  for (let i = 0; i < count; i++) out.push(emptyBucket(from + i * bucketMs));
  for (const bucket of series) {
    const index = Math.floor((bucket.start - from) / bucketMs);
    const target = out[index];
    if (target !== undefined) addBucketInto(target, bucket);
  }
  return out;
}

/** Sum buckets into one. */
export function sumBuckets(buckets: readonly Omit<MetricBucket, 'start'>[]): MetricBucket {
  const total = emptyBucket(0);
  for (const b of buckets) addBucketInto(total, b);
  return total;
}

/** Finished executions a bucket stands for: successes, failures (final or retried) and stalls. */
export function finishedOf(b: Omit<MetricBucket, 'start'>): number {
  return b.completed + b.failed + b.retried + b.stalled;
}

/** Executions that did not succeed. */
export function unsuccessfulOf(b: Omit<MetricBucket, 'start'>): number {
  return b.failed + b.retried + b.stalled;
}

/** completed ÷ finished, null when nothing finished. */
export function successRateOf(b: Omit<MetricBucket, 'start'>): number | null {
  const finished = finishedOf(b);
  return finished === 0 ? null : b.completed / finished;
}

/** Mean of a histogram, null when empty. */
export function meanOf(h: Histogram): number | null {
  return h.count === 0 ? null : h.sum / h.count;
}

/** Round a derived figure for display (3 decimals); null stays null. */
export function round(value: number | null): number | null {
  return value === null ? null : Math.round(value * 1000) / 1000;
}

/** p-quantile rounded, null when empty. */
export function q(h: Histogram, p: number): number | null {
  return round(quantile(h, p));
}

/** What a sliding-window query returns for one key. */
export type WindowTotals = Omit<MetricBucket, 'start'>;

/**
 * Totals over the sliding window `[now − minutes, now)`, estimated from minute buckets: the buckets entirely in the
 * window count fully, the oldest one (partly outside) counts in proportion to the part still inside (the sliding
 * window counter estimate). Keyed by group (`''` when not grouped). Two `totals` calls, whatever the job count.
 */
export async function slidingTotals(
  metrics: MetricsAdapter,
  now: number,
  minutes: number,
  filter: { queue?: string; type?: string; groupBy?: 'queue' | 'type' } = {},
): Promise<Map<string, WindowTotals>> {
  const current = Math.floor(now / MINUTE) * MINUTE;
  const elapsed = (now - current) / MINUTE;
  const recentFrom = current - (minutes - 1) * MINUTE;
  const base = {
    granularity: 'minute' as const,
    ...(filter.queue === undefined ? {} : { queue: filter.queue }),
    ...(filter.type === undefined ? {} : { type: filter.type }),
    ...(filter.groupBy === undefined ? {} : { groupBy: filter.groupBy }),
  };
  const [recent, oldest] = await Promise.all([
    metrics.totals({ ...base, from: recentFrom, to: current + MINUTE }),
    elapsed > 0 ? metrics.totals({ ...base, from: recentFrom - MINUTE, to: recentFrom }) : Promise.resolve([]),
  ]);
  const out = new Map<string, WindowTotals>();
  const slot = (row: MetricsTotals): WindowTotals => {
    const key = row.key ?? '';
    let acc = out.get(key);
    if (!acc) {
      acc = emptyBucket(0);
      out.set(key, acc);
    }
    return acc;
  };
  for (const row of recent) addBucketInto(slot(row), row);
  const weight = 1 - elapsed;
  for (const row of oldest) {
    const acc = slot(row);
    acc.enqueued += row.enqueued * weight;
    acc.started += row.started * weight;
    acc.completed += row.completed * weight;
    acc.failed += row.failed * weight;
    acc.retried += row.retried * weight;
    acc.stalled += row.stalled * weight;
    acc.timeout += row.timeout * weight;
    // Histograms are not scaled: rates and quantiles over the window come from the buckets fully inside it.
  }
  return out;
}

/** Merged totals of a `totals` answer (one row overall or several grouped). */
export function mergeRows(rows: readonly MetricsTotals[]): WindowTotals {
  return sumBuckets(rows);
}

/** Aligned start of the granularity bucket holding `ms`. */
export function alignDown(ms: number, granularity: Granularity): number {
  const width = GRANULARITIES[granularity].ms;
  return Math.floor(ms / width) * width;
}
