import assert from 'node:assert/strict';
import {
  emptyBucket,
  emptyHistogram,
  HISTOGRAM_SLOTS,
  type Histogram,
  type MetricBucket,
  type MetricEvent,
  mergeHistogram,
  observe,
} from '@conveyor/core';
import { defineCheck, ensure } from '../harness';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;

function ev(kind: MetricEvent['kind'], at: number, extra: Partial<MetricEvent> = {}): MetricEvent {
  return { kind, queue: 'mq', type: 'mt', at, ...extra };
}

/** Buckets without data may be omitted by an adapter: compare only those with data. */
function withData(buckets: MetricBucket[]): MetricBucket[] {
  return buckets.filter(
    (b) =>
      b.enqueued + b.started + b.completed + b.failed + b.retried + b.stalled + b.timeout > 0 ||
      b.duration.count > 0 ||
      b.wait.count > 0,
  );
}

function hist(values: [number, number][]): Histogram {
  const h = emptyHistogram();
  for (const [v, n] of values) observe(h, v, n);
  return h;
}

function bucket(start: number, counters: Partial<MetricBucket>): MetricBucket {
  return { ...emptyBucket(start), ...counters };
}

/** A fixed set of events over a day, starting at `t` (a day boundary). */
function sampleEvents(t: number): MetricEvent[] {
  return [
    ev('enqueued', t + 10_000, { count: 5 }),
    ev('started', t + 20_000, { waitMs: 1500 }),
    ev('completed', t + 50_000, { durationMs: 3 }),
    ev('failed', t + MIN + 10_000, { durationMs: 700 }),
    ev('retried', t + MIN + 10_000),
    ev('stalled', t + 3 * HOUR),
    ev('completed', t + 3 * HOUR + 5, { durationMs: 40, queue: 'other-q' }),
    ev('completed', t + 3 * HOUR + 6, { durationMs: 40, type: 'other-t' }),
  ];
}

export const metricsChecks = {
  seriesBucketsByMinute: defineCheck(
    'metrics',
    'series answers minute buckets oldest first with counters and duration/wait histograms',
    async ({ backend, clock }) => {
      const t = clock.now() - (clock.now() % DAY);
      await backend.metrics.record(sampleEvents(t));
      const minute = withData(
        await backend.metrics.series({
          granularity: 'minute',
          from: t + 30_000,
          to: t + HOUR,
          queue: 'mq',
          type: 'mt',
        }),
      );
      assert.deepEqual(minute, [
        bucket(t, { enqueued: 5, started: 1, completed: 1, duration: hist([[3, 1]]), wait: hist([[1500, 1]]) }),
        bucket(t + MIN, { failed: 1, retried: 1, duration: hist([[700, 1]]) }),
      ]);
      ensure(minute[0]?.duration.counts.length === HISTOGRAM_SLOTS, 'histograms use the fixed bucket bounds');
    },
  ),

  seriesRollsUpHoursAndDays: defineCheck(
    'metrics',
    'every event also lands in its hour and day bucket; to is exclusive',
    async ({ backend, clock }) => {
      const t = clock.now() - (clock.now() % DAY);
      await backend.metrics.record(sampleEvents(t));
      const all = { from: t, to: t + DAY };
      const hours = withData(await backend.metrics.series({ granularity: 'hour', ...all, queue: 'mq', type: 'mt' }));
      assert.deepEqual(hours, [
        bucket(t, {
          enqueued: 5,
          started: 1,
          completed: 1,
          failed: 1,
          retried: 1,
          duration: hist([
            [3, 1],
            [700, 1],
          ]),
          wait: hist([[1500, 1]]),
        }),
        bucket(t + 3 * HOUR, { stalled: 1 }),
      ]);
      const days = withData(await backend.metrics.series({ granularity: 'day', ...all }));
      assert.deepEqual(
        days.map((d) => [d.start, d.completed, d.stalled, d.duration.count]),
        [[t, 3, 1, 4]],
        'one day bucket over every queue and type',
      );
      const early = withData(await backend.metrics.series({ granularity: 'hour', from: t, to: t + 3 * HOUR }));
      assert.equal(early.length, 1, 'the bucket starting at `to` is excluded');
    },
  ),

  seriesFiltersByQueueAndType: defineCheck(
    'metrics',
    'series and totals filter by queue and by type',
    async ({ backend, clock }) => {
      const t = clock.now() - (clock.now() % DAY);
      await backend.metrics.record(sampleEvents(t));
      const q = { granularity: 'day' as const, from: t, to: t + DAY };
      const completed = async (f: { queue?: string; type?: string }) =>
        withData(await backend.metrics.series({ ...q, ...f })).reduce((n, b) => n + b.completed, 0);
      assert.equal(await completed({}), 3);
      assert.equal(await completed({ queue: 'other-q' }), 1);
      assert.equal(await completed({ queue: 'mq' }), 2);
      assert.equal(await completed({ type: 'other-t' }), 1);
      assert.equal(await completed({ queue: 'mq', type: 'mt' }), 1);
      assert.equal(await completed({ queue: 'none' }), 0);
      const [total] = await backend.metrics.totals({ ...q, queue: 'mq', type: 'mt' });
      assert.deepEqual([total?.key, total?.completed, total?.enqueued], [null, 1, 5]);
    },
  ),

  totalsGroupAndMerge: defineCheck(
    'metrics',
    'totals sums a period overall or per queue / type, and its histograms equal the merged buckets',
    async ({ backend, clock }) => {
      const t = clock.now() - (clock.now() % DAY);
      await backend.metrics.record(sampleEvents(t));
      // Two "processes" recording into the same bucket: counts add up.
      await backend.metrics.record([ev('completed', t + 40_000, { durationMs: 3 })]);
      const period = { granularity: 'minute' as const, from: t, to: t + DAY };
      const overall = await backend.metrics.totals(period);
      assert.equal(overall.length, 1, 'one row without groupBy');
      const [row] = overall;
      assert.deepEqual(
        [row?.key, row?.enqueued, row?.started, row?.completed, row?.failed, row?.retried, row?.stalled],
        [null, 5, 1, 4, 1, 1, 1],
      );
      const merged = emptyHistogram();
      for (const b of await backend.metrics.series(period)) mergeHistogram(merged, b.duration);
      assert.deepEqual(row?.duration, merged, 'totals = merge of the series buckets');
      assert.deepEqual(
        row?.duration,
        hist([
          [3, 2],
          [700, 1],
          [40, 2],
        ]),
      );
      const byQueue = (await backend.metrics.totals({ ...period, groupBy: 'queue' }))
        .map((r) => [r.key, r.completed])
        .sort();
      assert.deepEqual(byQueue, [
        ['mq', 3],
        ['other-q', 1],
      ]);
      const byType = (await backend.metrics.totals({ ...period, groupBy: 'type' })).map((r) => [r.key, r.completed]);
      assert.deepEqual(byType.sort(), [
        ['mt', 3],
        ['other-t', 1],
      ]);
    },
  ),

  timeoutsCountedApart: defineCheck(
    'metrics',
    'timeout events are counted in their own counter at every granularity, filtered and grouped like the others',
    async ({ backend, clock }) => {
      const t = clock.now() - (clock.now() % DAY);
      // A timed-out attempt is recorded twice by the runtime: as `failed` or `retried` (with its duration) and as
      // `timeout` (a count, no duration). The timeout counter must not touch the histograms.
      await backend.metrics.record([
        ev('retried', t + 5_000, { durationMs: 30_000 }),
        ev('timeout', t + 5_000),
        ev('failed', t + 2 * HOUR, { durationMs: 30_000 }),
        ev('timeout', t + 2 * HOUR, { count: 2 }),
        ev('timeout', t + 2 * HOUR + 1, { queue: 'other-q' }),
        ev('timeout', t + 2 * HOUR + 2, { type: 'other-t' }),
      ]);
      const all = { from: t, to: t + DAY, queue: 'mq', type: 'mt' };
      const minute = withData(await backend.metrics.series({ granularity: 'minute', ...all }));
      assert.deepEqual(
        minute.map((b) => [b.start, b.timeout, b.failed, b.retried]),
        [
          [t, 1, 0, 1],
          [t + 2 * HOUR, 2, 1, 0],
        ],
        'minute buckets',
      );
      assert.equal(
        minute[1]?.duration.count,
        1,
        'the failed attempt has its duration; the timeout events add none to the histogram',
      );
      const hours = withData(await backend.metrics.series({ granularity: 'hour', ...all }));
      assert.deepEqual(
        hours.map((b) => [b.start, b.timeout]),
        [
          [t, 1],
          [t + 2 * HOUR, 2],
        ],
      );
      const day = withData(await backend.metrics.series({ granularity: 'day', from: t, to: t + DAY }));
      assert.deepEqual(
        day.map((b) => [b.start, b.timeout]),
        [[t, 5]],
        'the day bucket over every queue and type',
      );
      const period = { granularity: 'hour' as const, from: t, to: t + DAY };
      const [overall] = await backend.metrics.totals(period);
      assert.equal(overall?.timeout, 5, 'totals overall');
      const byQueue = (await backend.metrics.totals({ ...period, groupBy: 'queue' }))
        .map((r) => [r.key, r.timeout])
        .sort();
      assert.deepEqual(byQueue, [
        ['mq', 4],
        ['other-q', 1],
      ]);
      const byType = (await backend.metrics.totals({ ...period, groupBy: 'type' }))
        .map((r) => [r.key, r.timeout])
        .sort();
      assert.deepEqual(byType, [
        ['mt', 4],
        ['other-t', 1],
      ]);
      const [filtered] = await backend.metrics.totals({ ...period, queue: 'other-q' });
      assert.equal(filtered?.timeout, 1, 'totals filtered by queue');
    },
  ),

  pruneDropsExpiredBuckets: defineCheck(
    'metrics',
    'prune drops minute buckets after 24 h, hour buckets after 30 d and day buckets after 366 d',
    async ({ backend, clock }) => {
      const now = clock.now();
      const ago = (ms: number) => now - ms - ((now - ms) % DAY) + HOUR; // 01:00 of the day `ms` ago
      await backend.metrics.record([
        ev('completed', ago(2 * DAY)),
        ev('completed', ago(40 * DAY)),
        ev('completed', ago(400 * DAY)),
        ev('completed', now - MIN),
      ]);
      const pruned = await backend.metrics.prune(now);
      // Six buckets are past retention here (three minute, two hour, one day), but an adapter may lay out its
      // buckets differently, so only "some" is required of the count; the effects are checked below.
      ensure(pruned > 0, `prune must report what it dropped, got ${pruned}`);
      const count = async (granularity: 'minute' | 'hour' | 'day', at: number) =>
        withData(await backend.metrics.series({ granularity, from: at - 1, to: at + 1 })).reduce(
          (n, b) => n + b.completed,
          0,
        );
      assert.deepEqual(
        [await count('minute', ago(2 * DAY)), await count('hour', ago(2 * DAY)), await count('day', ago(2 * DAY))],
        [0, 1, 1],
        '2 days ago: the minute bucket is gone, hour and day stay',
      );
      assert.deepEqual(
        [await count('hour', ago(40 * DAY)), await count('day', ago(40 * DAY))],
        [0, 1],
        '40 days ago: the hour bucket is gone, the day stays',
      );
      assert.equal(await count('day', ago(400 * DAY)), 0, '400 days ago: the day bucket is gone too');
      assert.equal(await count('minute', now - MIN), 1, 'recent buckets stay');
    },
  ),
};
