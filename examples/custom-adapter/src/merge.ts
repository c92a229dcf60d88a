import { emptyHistogram, type MetricBucket, type MetricsTotals, mergeHistogram } from '@conveyor/core';

const COUNTERS = ['enqueued', 'started', 'completed', 'failed', 'retried', 'stalled'] as const;

function add<T extends Omit<MetricBucket, 'start'>>(into: T, from: Omit<MetricBucket, 'start'>): T {
  for (const c of COUNTERS) into[c] += from[c];
  mergeHistogram(into.duration, from.duration);
  mergeHistogram(into.wait, from.wait);
  return into;
}

function zero() {
  return {
    enqueued: 0,
    started: 0,
    completed: 0,
    failed: 0,
    retried: 0,
    stalled: 0,
    duration: emptyHistogram(),
    wait: emptyHistogram(),
  };
}

/** Sum several series bucket by bucket (histograms merge because their bounds are fixed). */
export function mergeBuckets(series: MetricBucket[][]): MetricBucket[] {
  const byStart = new Map<number, MetricBucket>();
  for (const bucket of series.flat()) {
    const into = byStart.get(bucket.start) ?? { start: bucket.start, ...zero() };
    byStart.set(bucket.start, add(into, bucket));
  }
  return [...byStart.values()].sort((a, b) => a.start - b.start);
}

/** Sum totals rows with the same key; one overall row when not grouped. */
export function mergeTotals(rows: MetricsTotals[], grouped: boolean): MetricsTotals[] {
  const byKey = new Map<string | null, MetricsTotals>();
  if (!grouped) byKey.set(null, { key: null, ...zero() });
  for (const row of rows) {
    const key = grouped ? row.key : null;
    const into = byKey.get(key) ?? { key, ...zero() };
    byKey.set(key, add(into, row));
  }
  return [...byKey.values()];
}
