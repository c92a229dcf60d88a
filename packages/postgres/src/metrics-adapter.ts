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
import {
  conveyorMessage,
  emptyBucket,
  emptyHistogram,
  GRANULARITIES,
  HISTOGRAM_SLOTS,
  METRIC_KINDS,
} from '@conveyor/core';
import { PgContext } from './context';
import type { PostgresOptions } from './options';
import { COMPONENT, closedError, POSTGRES_CAPABILITIES, validationError } from './options';

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];
const KIND_SET: ReadonlySet<string> = new Set(METRIC_KINDS);
/** Buckets one prune statement deletes at most. */
const PRUNE_BATCH = 5000;

type Counters = Omit<MetricBucket, 'start'>;

interface BucketRow {
  key: number | string | null;
  enqueued: number;
  started: number;
  completed: number;
  failed: number;
  retried: number;
  stalled: number;
  timeout: number;
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
  const { start: _start, ...counters } = emptyBucket(0);
  return counters;
}

function histogramOf(counts: number[], count: number, sum: number, max: number): Histogram {
  const h = emptyHistogram();
  for (let i = 0; i < h.counts.length; i++) h.counts[i] = counts[i] ?? 0;
  h.count = count;
  h.sum = sum;
  h.max = max;
  return h;
}

/** `sum(column[1]), …`: the histogram slots of the matching buckets, summed one by one. */
function SLOT_SUMS(column: string): string {
  return Array.from({ length: HISTOGRAM_SLOTS }, (_, i) => `coalesce(sum(${column}[${i + 1}]), 0)`).join(', ');
}

function countersOf(r: BucketRow): Counters {
  return {
    enqueued: r.enqueued,
    started: r.started,
    completed: r.completed,
    failed: r.failed,
    retried: r.retried,
    stalled: r.stalled,
    timeout: r.timeout,
    duration: histogramOf(r.duration_counts, r.duration_count, r.duration_sum, r.duration_max),
    wait: histogramOf(r.wait_counts, r.wait_count, r.wait_sum, r.wait_max),
  };
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
    if (events.length === 0) return;
    // One statement: add_metrics aggregates the events into the buckets of every granularity in SQL, on a shard of
    // its own, so it never waits on a claim or ack recording into the same bucket.
    const n = events.length;
    const kinds = new Array<string>(n);
    const queues = new Array<string>(n);
    const types = new Array<string>(n);
    const ats = new Array<number>(n);
    const durations = new Array<number | null>(n);
    const waits = new Array<number | null>(n);
    const counts = new Array<number>(n);
    for (let i = 0; i < n; i++) {
      const e = events[i] as MetricEvent;
      kinds[i] = e.kind;
      queues[i] = e.queue;
      types[i] = e.type;
      ats[i] = e.at;
      durations[i] = e.durationMs ?? null;
      waits[i] = e.waitMs ?? null;
      counts[i] = e.count ?? 1;
    }
    const S = this.ctx.s;
    await this.ctx.query(
      `SELECT ${S}.add_metrics($1::integer, $2::text[], $3::text[], $4::text[], $5::double precision[],
  $6::double precision[], $7::double precision[], $8::double precision[]) FROM ${this.ctx.relaxedCommit}`,
      [this.ctx.nextShard(), kinds, queues, types, ats, durations, waits, counts],
      'recording metrics',
      undefined,
      `add_metrics${this.ctx.recordsTag}`,
    );
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.open();
    const rows = await this.read(query, 'start');
    return rows.map((r) => ({ start: r.key as number, ...countersOf(r) }));
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.open();
    const { groupBy } = query;
    if (groupBy !== undefined && groupBy !== 'queue' && groupBy !== 'type') {
      throw validationError(`groupBy must be 'queue' or 'type'; got ${String(groupBy)}.`);
    }
    const rows = await this.read(query, groupBy ?? null);
    if (groupBy === undefined) {
      const row = rows[0];
      return [{ key: null, ...(row === undefined ? emptyCounters() : countersOf(row)) }];
    }
    return rows.map((r) => ({ key: r.key as string, ...countersOf(r) }));
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

  /**
   * The buckets in [from, to) that match the filters, summed in SQL per `key` (bucket start, queue or type; one row
   * for null), ordered by it. Histogram slots are summed one array element at a time: plain aggregates, no unnest.
   */
  private async read(query: MetricsQuery, key: 'start' | 'queue' | 'type' | null): Promise<BucketRow[]> {
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
    // Metric events the claims, acks and enqueues appended since the last fold count too.
    await this.ctx.foldMetrics();
    const keyColumn = key === null ? 'NULL::text' : key;
    const group = key === null ? '' : ` GROUP BY ${key} ORDER BY ${key}`;
    const rows = await this.ctx.query<BucketRow>(
      `SELECT ${keyColumn} AS key, sum(enqueued) AS enqueued, sum(started) AS started, sum(completed) AS completed,
  sum(failed) AS failed, sum(retried) AS retried, sum(stalled) AS stalled, sum(timeout) AS timeout,
  ARRAY[${SLOT_SUMS('duration_counts')}] AS duration_counts, sum(duration_count) AS duration_count,
  sum(duration_sum) AS duration_sum, max(duration_max) AS duration_max,
  ARRAY[${SLOT_SUMS('wait_counts')}] AS wait_counts, sum(wait_count) AS wait_count, sum(wait_sum) AS wait_sum,
  max(wait_max) AS wait_max
FROM ${this.ctx.s}.metric_buckets
WHERE granularity = $1 AND start >= $2::bigint AND start < $3::bigint${filter}${group}`,
      values,
      'reading metrics',
    );
    // Without GROUP BY an empty range still yields one row of NULLs.
    return rows.filter((r) => r.duration_count !== null);
  }
}
