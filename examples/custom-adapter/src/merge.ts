import { addBucketInto, emptyBucket, type MetricBucket, type MetricsTotals } from '@conveyor/core';

/** Counters and histograms at zero, without a bucket start (core's `emptyBucket` supplies the shape). */
function zero(): Omit<MetricBucket, 'start'> {
  const { start: _start, ...rest } = emptyBucket(0);
  return rest;
}

/** Sum several series bucket by bucket (histograms merge because their bounds are fixed). */
export function mergeBuckets(series: MetricBucket[][]): MetricBucket[] {
  const byStart = new Map<number, MetricBucket>();
  for (const bucket of series.flat()) {
    const into = byStart.get(bucket.start) ?? { start: bucket.start, ...zero() };
    byStart.set(bucket.start, addBucketInto(into, bucket));
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
    byKey.set(key, addBucketInto(into, row));
  }
  return [...byKey.values()];
}
