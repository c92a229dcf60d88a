import type {
  AdapterCapabilities,
  Granularity,
  Histogram,
  MetricBucket,
  MetricEvent,
  MetricsAdapter,
  MetricsQuery,
  MetricsTotals,
} from '@conveyor/core';
import { conveyorMessage, emptyHistogram, GRANULARITIES, METRIC_KINDS, mergeHistogram, observe } from '@conveyor/core';
import { PgContext } from './context';
import type { PostgresOptions } from './options';
import { COMPONENT, closedError, POSTGRES_CAPABILITIES, validationError } from './options';

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];
const KIND_SET: ReadonlySet<string> = new Set(METRIC_KINDS);
/** Buckets one prune statement deletes at most. */
const PRUNE_BATCH = 5000;

type Counters = Omit<MetricBucket, 'start'>;

interface BucketRow {
  start: number;
  queue: string;
  type: string;
  enqueued: number;
  started: number;
  completed: number;
  failed: number;
  retried: number;
  stalled: number;
  duration_counts: number[];
  duration_count: number;
  duration_sum: number;
  duration_max: number;
  wait_counts: number[];
  wait_count: number;
  wait_sum: number;
  wait_max: number;
}

function emptyCounters(): Counters {
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

function histogramOf(counts: number[], count: number, sum: number, max: number): Histogram {
  const h = emptyHistogram();
  for (let i = 0; i < h.counts.length; i++) h.counts[i] = counts[i] ?? 0;
  h.count = count;
  h.sum = sum;
  h.max = max;
  return h;
}

function addRow(into: Counters, r: BucketRow): void {
  into.enqueued += r.enqueued;
  into.started += r.started;
  into.completed += r.completed;
  into.failed += r.failed;
  into.retried += r.retried;
  into.stalled += r.stalled;
  mergeHistogram(into.duration, histogramOf(r.duration_counts, r.duration_count, r.duration_sum, r.duration_max));
  mergeHistogram(into.wait, histogramOf(r.wait_counts, r.wait_count, r.wait_sum, r.wait_max));
}

function validateEvent(e: MetricEvent, i: number): void {
  const fail = (sentence: string): never => {
    throw validationError(`metric event #${i}: ${sentence}`);
  };
  if (typeof e !== 'object' || e === null) fail('an event must be an object.');
  if (!KIND_SET.has(e.kind)) fail(`kind must be one of ${METRIC_KINDS.join(', ')}.`);
  if (typeof e.queue !== 'string' || typeof e.type !== 'string') fail('queue and type must be strings.');
  if (!Number.isFinite(e.at)) fail('at must be a time in ms.');
  if (e.count !== undefined && !(Number.isFinite(e.count) && e.count >= 0)) fail('count must be a number >= 0.');
  if (e.durationMs !== undefined && !Number.isFinite(e.durationMs)) fail('durationMs must be a number.');
  if (e.waitMs !== undefined && !Number.isFinite(e.waitMs)) fail('waitMs must be a number.');
}

/**
 * {@link MetricsAdapter} on Postgres: one row per (granularity, bucket start, queue, type) in `metric_buckets`, with
 * the counters and the fixed-bound histograms as arrays. `record` folds a batch in memory first and writes one
 * upsert (rows in key order, so concurrent writers never deadlock). Queries read buckets × pairs rows through the
 * primary key and merge histograms in JavaScript; their cost never depends on the number of jobs.
 */
export class PostgresMetricsAdapter implements MetricsAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = POSTGRES_CAPABILITIES;
  private readonly ctx: PgContext;
  private closed = false;

  /** Pass options, or the context shared by a backend's adapters. */
  constructor(options: PostgresOptions | PgContext) {
    this.ctx = options instanceof PgContext ? options : new PgContext(options);
    this.ctx.acquire();
  }

  async init(): Promise<void> {
    this.open();
    await this.ctx.migrate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ctx.release();
  }

  async record(events: MetricEvent[]): Promise<void> {
    this.open();
    if (!Array.isArray(events)) throw validationError('record takes an array of events.');
    for (let i = 0; i < events.length; i++) validateEvent(events[i] as MetricEvent, i);
    const buckets = new Map<string, { g: Granularity; start: number; queue: string; type: string; c: Counters }>();
    for (const e of events) {
      const n = e.count ?? 1;
      for (const g of GRANULARITY_NAMES) {
        const ms = GRANULARITIES[g].ms;
        const start = Math.floor(e.at / ms) * ms;
        const key = `${g}\u0000${start}\u0000${e.queue}\u0000${e.type}`;
        let b = buckets.get(key);
        if (b === undefined) {
          b = { g, start, queue: e.queue, type: e.type, c: emptyCounters() };
          buckets.set(key, b);
        }
        b.c[e.kind] += n;
        if (e.durationMs !== undefined && (e.kind === 'completed' || e.kind === 'failed')) {
          observe(b.c.duration, e.durationMs, n);
        }
        if (e.waitMs !== undefined && e.kind === 'started') observe(b.c.wait, e.waitMs, n);
      }
    }
    if (buckets.size === 0) return;
    const rows = [...buckets.values()]
      .sort((a, b) =>
        a.g !== b.g
          ? a.g < b.g
            ? -1
            : 1
          : a.start - b.start ||
            (a.queue < b.queue ? -1 : a.queue > b.queue ? 1 : a.type < b.type ? -1 : a.type > b.type ? 1 : 0),
      )
      .map(({ g, start, queue, type, c }) => ({
        granularity: g,
        start,
        queue,
        type,
        enqueued: c.enqueued,
        started: c.started,
        completed: c.completed,
        failed: c.failed,
        retried: c.retried,
        stalled: c.stalled,
        duration_counts: c.duration.counts,
        duration_count: c.duration.count,
        duration_sum: c.duration.sum,
        duration_max: c.duration.max,
        wait_counts: c.wait.counts,
        wait_count: c.wait.count,
        wait_sum: c.wait.sum,
        wait_max: c.wait.max,
      }));
    const S = this.ctx.s;
    await this.ctx.query(
      `INSERT INTO ${S}.metric_buckets AS m
SELECT r.* FROM json_to_recordset($1::json) AS r(granularity text, start bigint, queue text, type text,
  enqueued double precision, started double precision, completed double precision, failed double precision,
  retried double precision, stalled double precision, duration_counts double precision[],
  duration_count double precision, duration_sum double precision, duration_max double precision,
  wait_counts double precision[], wait_count double precision, wait_sum double precision, wait_max double precision)
  CROSS JOIN ${this.ctx.relaxedCommit}
ON CONFLICT (granularity, start, queue, type) DO UPDATE SET
  enqueued = m.enqueued + excluded.enqueued, started = m.started + excluded.started,
  completed = m.completed + excluded.completed, failed = m.failed + excluded.failed,
  retried = m.retried + excluded.retried, stalled = m.stalled + excluded.stalled,
  duration_counts = ${S}.add_counts(m.duration_counts, excluded.duration_counts),
  duration_count = m.duration_count + excluded.duration_count,
  duration_sum = m.duration_sum + excluded.duration_sum,
  duration_max = greatest(m.duration_max, excluded.duration_max),
  wait_counts = ${S}.add_counts(m.wait_counts, excluded.wait_counts),
  wait_count = m.wait_count + excluded.wait_count,
  wait_sum = m.wait_sum + excluded.wait_sum,
  wait_max = greatest(m.wait_max, excluded.wait_max)`,
      [JSON.stringify(rows)],
      'recording metrics',
      undefined,
      `record_metrics${this.ctx.recordsTag}`,
    );
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.open();
    const rows = await this.read(query);
    const byStart = new Map<number, MetricBucket>();
    for (const r of rows) {
      let b = byStart.get(r.start);
      if (b === undefined) {
        b = { start: r.start, ...emptyCounters() };
        byStart.set(r.start, b);
      }
      addRow(b, r);
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.open();
    const { groupBy } = query;
    if (groupBy !== undefined && groupBy !== 'queue' && groupBy !== 'type') {
      throw validationError(`groupBy must be 'queue' or 'type'; got ${String(groupBy)}.`);
    }
    const rows = await this.read(query);
    if (groupBy === undefined) {
      const overall: MetricsTotals = { key: null, ...emptyCounters() };
      for (const r of rows) addRow(overall, r);
      return [overall];
    }
    const groups = new Map<string, MetricsTotals>();
    for (const r of rows) {
      const key = groupBy === 'queue' ? r.queue : r.type;
      let g = groups.get(key);
      if (g === undefined) {
        g = { key, ...emptyCounters() };
        groups.set(key, g);
      }
      addRow(g, r);
    }
    return [...groups.values()].sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1));
  }

  async prune(now: number): Promise<number> {
    this.open();
    if (!Number.isFinite(now)) throw validationError('prune needs `now`, a time in ms.');
    let dropped = 0;
    for (const g of GRANULARITY_NAMES) {
      const cutoff = now - GRANULARITIES[g].retentionMs;
      for (;;) {
        const rows = await this.ctx.query<{ n: number }>(
          `WITH d AS (
  DELETE FROM ${this.ctx.s}.metric_buckets WHERE (granularity, start, queue, type) IN (
    SELECT granularity, start, queue, type FROM ${this.ctx.s}.metric_buckets
    WHERE granularity = $1 AND start < $2::bigint LIMIT $3)
  RETURNING 1
) SELECT count(*)::bigint AS n FROM d`,
          [g, Math.ceil(cutoff), PRUNE_BATCH],
          'pruning metrics',
        );
        const n = rows[0]?.n ?? 0;
        dropped += n;
        if (n < PRUNE_BATCH) break;
      }
    }
    if (dropped > 0) this.ctx.logger.debug(conveyorMessage(COMPONENT, `pruned ${dropped} metric bucket(s).`));
    return dropped;
  }

  private open(): void {
    if (this.closed) throw closedError('Postgres metrics adapter');
  }

  /** Rows of the buckets in [from, to) that match the filters. */
  private async read(query: MetricsQuery): Promise<BucketRow[]> {
    const g = GRANULARITIES[query.granularity];
    if (g === undefined) {
      throw validationError(
        `granularity must be one of ${GRANULARITY_NAMES.join(', ')}; got ${String(query.granularity)}.`,
      );
    }
    if (!Number.isFinite(query.from) || !Number.isFinite(query.to)) {
      throw validationError('from and to must be times in ms.');
    }
    const from = Math.floor(query.from / g.ms) * g.ms;
    const values: unknown[] = [query.granularity, from, Math.ceil(query.to)];
    let filter = '';
    if (query.queue !== undefined) {
      values.push(query.queue);
      filter += ` AND queue = $${values.length}`;
    }
    if (query.type !== undefined) {
      values.push(query.type);
      filter += ` AND type = $${values.length}`;
    }
    return this.ctx.query<BucketRow>(
      `SELECT start, queue, type, enqueued, started, completed, failed, retried, stalled, duration_counts,
  duration_count, duration_sum, duration_max, wait_counts, wait_count, wait_sum, wait_max
FROM ${this.ctx.s}.metric_buckets
WHERE granularity = $1 AND start >= $2::bigint AND start < $3::bigint${filter}`,
      values,
      'reading metrics',
    );
  }
}
