import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Granularity, MetricBucket, MetricEvent, MetricsTotals } from '../../src/contracts/metrics-adapter';
import { GRANULARITIES, METRIC_KINDS } from '../../src/contracts/metrics-adapter';
import { MemoryMetricsAdapter } from '../../src/memory/index';
import { MetricSeries } from '../../src/memory/metrics-series';
import { emptyBucket, mergeHistogram, observe } from '../../src/util/histogram';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 1);
const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];

function addInto(a: Omit<MetricBucket, 'start'>, b: MetricBucket): void {
  for (const kind of METRIC_KINDS) a[kind] += b[kind];
  mergeHistogram(a.duration, b.duration);
  mergeHistogram(a.wait, b.wait);
}

/**
 * The obvious implementation, kept deliberately naive: one flat map per granularity keyed by (start, queue, type),
 * every query scanning all of it. The indexed adapter must answer exactly as this does.
 */
class ReferenceMetrics {
  private readonly tables = new Map<Granularity, Map<string, { queue: string; type: string; b: MetricBucket }>>(
    GRANULARITY_NAMES.map((g) => [g, new Map()]),
  );

  record(events: MetricEvent[]): void {
    for (const e of events) {
      const n = e.count ?? 1;
      for (const g of GRANULARITY_NAMES) {
        const ms = GRANULARITIES[g].ms;
        const start = Math.floor(e.at / ms) * ms;
        const table = this.tables.get(g) as Map<string, { queue: string; type: string; b: MetricBucket }>;
        const key = `${start}\u0000${e.queue}\u0000${e.type}`;
        let row = table.get(key);
        if (row === undefined) {
          row = { queue: e.queue, type: e.type, b: emptyBucket(start) };
          table.set(key, row);
        }
        row.b[e.kind] += n;
        if (e.durationMs !== undefined && (e.kind === 'completed' || e.kind === 'failed')) {
          observe(row.b.duration, e.durationMs, n);
        }
        if (e.waitMs !== undefined && e.kind === 'started') observe(row.b.wait, e.waitMs, n);
      }
    }
  }

  private rows(q: Query) {
    const ms = GRANULARITIES[q.granularity].ms;
    const from = Math.floor(q.from / ms) * ms;
    return [...(this.tables.get(q.granularity)?.values() ?? [])].filter(
      (r) =>
        r.b.start >= from &&
        r.b.start < q.to &&
        (q.queue === undefined || r.queue === q.queue) &&
        (q.type === undefined || r.type === q.type),
    );
  }

  series(q: Query): MetricBucket[] {
    const byStart = new Map<number, MetricBucket>();
    for (const r of this.rows(q)) {
      let b = byStart.get(r.b.start);
      if (b === undefined) {
        b = emptyBucket(r.b.start);
        byStart.set(r.b.start, b);
      }
      addInto(b, r.b);
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }

  totals(q: Query & { groupBy?: 'queue' | 'type' }): MetricsTotals[] {
    const groups = new Map<string | null, MetricsTotals>();
    if (q.groupBy === undefined) groups.set(null, { key: null, ...withoutStart(emptyBucket(0)) });
    for (const r of this.rows(q)) {
      const key = q.groupBy === undefined ? null : q.groupBy === 'queue' ? r.queue : r.type;
      let row = groups.get(key);
      if (row === undefined) {
        row = { key, ...withoutStart(emptyBucket(0)) };
        groups.set(key, row);
      }
      addInto(row, r.b);
    }
    return [...groups.values()].sort((a, b) => ((a.key ?? '') < (b.key ?? '') ? -1 : 1));
  }

  prune(now: number): number {
    let dropped = 0;
    for (const g of GRANULARITY_NAMES) {
      const cutoff = now - GRANULARITIES[g].retentionMs;
      const table = this.tables.get(g) as Map<string, { b: MetricBucket }>;
      for (const [key, row] of table) {
        if (row.b.start < cutoff) {
          table.delete(key);
          dropped++;
        }
      }
    }
    return dropped;
  }
}

function withoutStart(b: MetricBucket): Omit<MetricBucket, 'start'> {
  const { start: _start, ...rest } = b;
  return rest;
}

interface Query {
  granularity: Granularity;
  from: number;
  to: number;
  queue?: string;
  type?: string;
}

const names = (prefix: string) => fc.constantFrom(`${prefix}1`, `${prefix}2`, `${prefix}3`);
// Times over ~3 years so every granularity's retention comes into play, often exactly on a bucket boundary so
// off-by-one range ends and prune cutoffs show; integer durations keep sums exact.
const time = fc
  .tuple(fc.integer({ min: 0, max: 3 * 366 }), fc.integer({ min: 0, max: DAY - 1 }), fc.constantFrom(1, MIN, HOUR, DAY))
  .map(([days, ms, align]) => T0 + days * DAY + Math.floor(ms / align) * align);
const eventArb: fc.Arbitrary<MetricEvent> = fc.record(
  {
    kind: fc.constantFrom(...METRIC_KINDS),
    queue: names('q'),
    type: names('t'),
    at: fc.oneof(
      time,
      fc.integer({ min: 0, max: 180 }).map((minutes) => T0 + minutes * MIN),
    ),
    durationMs: fc.integer({ min: 0, max: 5_000_000 }),
    waitMs: fc.integer({ min: 0, max: 100_000 }),
    count: fc.integer({ min: 0, max: 5 }),
  },
  { requiredKeys: ['kind', 'queue', 'type', 'at'] },
);
const queryArb: fc.Arbitrary<Query & { groupBy?: 'queue' | 'type' }> = fc
  .record(
    {
      granularity: fc.constantFrom(...GRANULARITY_NAMES),
      from: fc.oneof(
        time,
        fc.constant(T0 - DAY),
        fc.integer({ min: 0, max: 180 }).map((minutes) => T0 + minutes * MIN),
      ),
      span: fc.oneof(
        fc.integer({ min: 0, max: 4 * HOUR }),
        // A few buckets: narrower than the series, so the probing path is taken.
        fc
          .tuple(fc.integer({ min: 0, max: 5 }), fc.constantFrom(MIN, HOUR, DAY))
          .map(([buckets, width]) => buckets * width),
        fc.integer({ min: 0, max: 240 }).map((minutes) => minutes * MIN),
        fc.integer({ min: 0, max: 40 * DAY }),
        fc.integer({ min: 0, max: 40 }).map((days) => days * DAY),
        fc.constant(4 * 366 * DAY),
      ),
      queue: names('q'),
      type: names('t'),
      groupBy: fc.constantFrom('queue' as const, 'type' as const),
    },
    { requiredKeys: ['granularity', 'from', 'span'] },
  )
  .map(({ span, from, ...rest }) => ({ ...rest, from, to: from + span }));

type Step =
  | { op: 'record'; events: MetricEvent[] }
  | { op: 'prune'; now: number }
  | { op: 'query'; query: Query & { groupBy?: 'queue' | 'type' } };
const stepArb: fc.Arbitrary<Step> = fc.oneof(
  { weight: 3, arbitrary: fc.array(eventArb, { maxLength: 30 }).map((events) => ({ op: 'record' as const, events })) },
  {
    weight: 1,
    arbitrary: fc
      .oneof(
        time,
        fc.integer({ min: 0, max: 180 }).map((minutes) => T0 + DAY + minutes * MIN),
      )
      .map((now) => ({ op: 'prune' as const, now })),
  },
  { weight: 4, arbitrary: queryArb.map((query) => ({ op: 'query' as const, query })) },
);

describe('memory metrics indexes', () => {
  it('answer series and totals exactly as a brute-force scan, through records and prunes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 5, maxLength: 60, size: 'medium' }), async (steps) => {
        const m = new MemoryMetricsAdapter();
        const ref = new ReferenceMetrics();
        for (const step of steps) {
          if (step.op === 'record') {
            await m.record(step.events);
            ref.record(step.events);
          } else if (step.op === 'prune') {
            expect(await m.prune(step.now)).toBe(ref.prune(step.now));
          } else {
            const { groupBy, ...query } = step.query;
            expect(await m.series(query)).toEqual(ref.series(query));
            expect(await m.totals(step.query)).toEqual(ref.totals(step.query));
            if (groupBy !== undefined) expect(await m.totals(query)).toEqual(ref.totals(query));
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it('never hands out its own buckets: changing an answer changes nothing stored', async () => {
    const m = new MemoryMetricsAdapter();
    await m.record([{ kind: 'completed', queue: 'q', type: 't', at: T0, durationMs: 40 }]);
    const q = { granularity: 'minute' as const, from: T0, to: T0 + MIN };
    const [first] = await m.series(q);
    if (first === undefined) throw new Error('expected a bucket');
    first.completed = 99;
    (first.duration.counts as number[])[0] = 99;
    const [row] = await m.totals({ ...q, groupBy: 'queue' });
    if (row === undefined) throw new Error('expected a row');
    row.completed = 99;
    expect(await m.series(q)).toMatchObject([{ completed: 1, duration: { count: 1 } }]);
    expect((await m.series(q))[0]?.duration.counts[0]).toBe(0);
    expect(await m.totals({ ...q, queue: 'q', type: 't' })).toMatchObject([{ completed: 1 }]);
  });

  it('prunes a bucket starting exactly at the cutoff only once it is past it, in every view', async () => {
    const m = new MemoryMetricsAdapter();
    await m.record([{ kind: 'failed', queue: 'q', type: 't', at: T0 + 30 * MIN }]);
    const q = { granularity: 'minute' as const, from: T0, to: T0 + HOUR };
    const views = async () => [
      (await m.totals(q))[0]?.failed,
      (await m.totals({ ...q, queue: 'q' }))[0]?.failed,
      (await m.totals({ ...q, type: 't' }))[0]?.failed,
      (await m.totals({ ...q, queue: 'q', type: 't' }))[0]?.failed,
      (await m.totals({ ...q, groupBy: 'queue' })).length,
      (await m.totals({ ...q, groupBy: 'type', queue: 'q' })).length,
      (await m.series(q)).length,
    ];
    const atCutoff = T0 + 30 * MIN + GRANULARITIES.minute.retentionMs;
    expect(await m.prune(atCutoff)).toBe(0);
    expect(await views()).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(await m.prune(atCutoff + 1)).toBe(1);
    expect(await views()).toEqual([0, 0, 0, 0, 0, 0, 0]);
  });

  it('keeps recording into a pair after prune dropped its series', async () => {
    const m = new MemoryMetricsAdapter();
    await m.record([{ kind: 'enqueued', queue: 'q', type: 't', at: T0 }]);
    const later = T0 + GRANULARITIES.day.retentionMs + DAY;
    expect(await m.prune(later)).toBe(3);
    await m.record([{ kind: 'enqueued', queue: 'q', type: 't', at: later, count: 2 }]);
    const q = { granularity: 'hour' as const, from: later - HOUR, to: later + HOUR };
    expect(await m.totals({ ...q, groupBy: 'type', queue: 'q' })).toMatchObject([{ key: 't', enqueued: 2 }]);
    expect(await m.totals(q)).toMatchObject([{ key: null, enqueued: 2 }]);
  });
});

describe('MetricSeries', () => {
  it('reads a range by probing or by scanning, oldest first either way', () => {
    const s = new MetricSeries(MIN);
    // Written out of order, so the scan path has to sort.
    for (const i of [5, 1, 9, 3, 100]) s.bucket(T0 + i * MIN).completed = i;
    const read = (from: number, to: number) => {
      const got: number[] = [];
      s.range(from, to, (b) => got.push(b.completed));
      return got;
    };
    // Spans 4 buckets < 5 stored: probes.
    expect(read(T0 + 2 * MIN, T0 + 6 * MIN)).toEqual([3, 5]);
    // Spans far more than stored: scans.
    expect(read(T0, T0 + 1_000 * MIN)).toEqual([1, 3, 5, 9, 100]);
    expect(read(T0 + MIN, T0 + MIN)).toEqual([]);
    expect(read(T0 + 10 * MIN, T0)).toEqual([]);
  });

  it('prunes only what is older than the cutoff and skips a series with nothing that old', () => {
    const s = new MetricSeries(HOUR);
    for (let i = 0; i < 5; i++) s.bucket(T0 + i * HOUR).enqueued = 1;
    expect(s.prune(T0)).toBe(0);
    expect(s.prune(T0 + 2 * HOUR)).toBe(2);
    expect(s.size).toBe(3);
    // The last-written bucket was pruned: writing there again starts from zero.
    expect(s.prune(T0 + 10 * HOUR)).toBe(3);
    expect(s.bucket(T0 + 4 * HOUR).enqueued).toBe(0);
  });
});
