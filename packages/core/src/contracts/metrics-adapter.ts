import type { AdapterCapabilities } from './capabilities';

/**
 * What happened to a job, as counted by the metrics. `timeout` counts attempts that ended by timeout; each of them is
 * also counted in `failed` (no attempt left) or `retried`, so `timeout` is a subset of those two and carries no
 * duration of its own.
 */
export const METRIC_KINDS = ['enqueued', 'started', 'completed', 'failed', 'retried', 'stalled', 'timeout'] as const;
export type MetricKind = (typeof METRIC_KINDS)[number];

/** One observation; the runtime batches these. */
export interface MetricEvent {
  kind: MetricKind;
  queue: string;
  type: string;
  /** When it happened (ms). */
  at: number;
  /** For `completed` and `failed`: the attempt's duration. */
  durationMs?: number;
  /** For `started`: time from `runAt` to the claim. */
  waitMs?: number;
  /** How many events this stands for. @default 1 */
  count?: number;
}

/** Bucket widths, with how long each is kept (documented retention). */
export const GRANULARITIES = {
  /** Minute buckets, kept 24 hours. */
  minute: { ms: 60_000, retentionMs: 24 * 3_600_000 },
  /** Hour buckets, kept 30 days. */
  hour: { ms: 3_600_000, retentionMs: 30 * 86_400_000 },
  /** Day buckets, kept 366 days. */
  day: { ms: 86_400_000, retentionMs: 366 * 86_400_000 },
} as const;
export type Granularity = keyof typeof GRANULARITIES;

/**
 * A histogram on the fixed log-scale bounds of `HISTOGRAM_BOUNDS_MS` (see `metrics/histogram.ts`):
 * `counts[i]` counts values `<= bounds[i]` and `> bounds[i-1]`; the last slot counts values above every bound.
 * Fixed bounds make histograms from any process mergeable by adding counts.
 */
export interface Histogram {
  counts: number[];
  /** Number of values. */
  count: number;
  /** Sum of values (ms). */
  sum: number;
  /** Largest value (ms), 0 when empty. */
  max: number;
}

/** Counters and histograms for one time bucket (summed over whatever the query grouped). */
export interface MetricBucket {
  /** Bucket start (ms, aligned to the granularity in UTC). */
  start: number;
  enqueued: number;
  started: number;
  completed: number;
  failed: number;
  retried: number;
  stalled: number;
  /** Attempts that ended by timeout (also counted in `failed` or `retried`). */
  timeout: number;
  duration: Histogram;
  wait: Histogram;
}

export interface MetricsQuery {
  granularity: Granularity;
  /** Inclusive start (ms); rounded down to the granularity. */
  from: number;
  /** Exclusive end (ms). */
  to: number;
  queue?: string;
  type?: string;
}

/** Totals over a period, optionally per queue or type. */
export interface MetricsTotals extends Omit<MetricBucket, 'start'> {
  /** The queue or type name when grouped; null for the overall total. */
  key: string | null;
}

/**
 * Time-bucketed counters and duration histograms. Every event is added to the minute, hour and day bucket of its
 * (queue, type). A query's cost grows with buckets × distinct (queue, type) pairs, never with the number of jobs.
 */
export interface MetricsAdapter {
  readonly capabilities: AdapterCapabilities;
  init(): Promise<void>;
  close(): Promise<void>;

  /** Add events to their buckets (batched by the runtime). */
  record(events: MetricEvent[]): Promise<void>;
  /** Buckets with data in [from, to), oldest first; buckets without data may be omitted. */
  series(query: MetricsQuery): Promise<MetricBucket[]>;
  /** Sums over [from, to): one row overall, or one per queue/type with `groupBy`. */
  totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]>;
  /**
   * Drop buckets whose start is older than `now - retentionMs` of their granularity. Returns how many bucket rows
   * (one per granularity × start × queue × type) were dropped.
   */
  prune(now: number): Promise<number>;
}
