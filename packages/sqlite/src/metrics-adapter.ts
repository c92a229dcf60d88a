import type {
  AdapterCapabilities,
  Granularity,
  Histogram,
  MetricBucket,
  MetricEvent,
  MetricKind,
  MetricsAdapter,
  MetricsQuery,
  MetricsTotals,
} from '@conveyor/core';
import { ConveyorError, GRANULARITIES, HISTOGRAM_SLOTS, histogramSlot, METRIC_KINDS } from '@conveyor/core';
import { SQLITE_CAPABILITIES } from './capabilities';
import { sqliteMessage, validationError } from './errors';
import { METRIC_SLOTS, METRIC_VALUE_COLUMNS, metricCombiner } from './migrations';
import type { SqliteBackendOptions, SqliteStore } from './store';
import { SqlitePart } from './store';

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];

/** The roll-up name: a row with queue '' counts every queue, with type '' every type. */
const ALL = '';

/** Offset of a column among the value columns (see METRIC_VALUE_COLUMNS). */
function columnAt(name: string): number {
  const at = METRIC_VALUE_COLUMNS.indexOf(name);
  if (at < 0) throw new Error(`[conveyor] [sqlite] no metric column ${name}`);
  return at;
}

/** Offset of each metric kind's counter column (named after the kind). */
const KIND_AT: Readonly<Record<MetricKind, number>> = Object.fromEntries(
  METRIC_KINDS.map((kind) => [kind, columnAt(kind)]),
) as Record<MetricKind, number>;
/** Offsets of the histograms: count, sum, max, then the slots. */
const DURATION_AT = columnAt('d_count');
const WAIT_AT = columnAt('w_count');

/** Values of one cell, in METRIC_VALUE_COLUMNS order. */
type Values = number[];

/** The upsert of a row that adds `columns` (value columns) to it. */
function upsertSql(columns: readonly string[]): string {
  return `INSERT INTO conveyor_metric_buckets (granularity, queue, type, bucket, ${columns.join(', ')})
  VALUES (?, ?, ?, ?, ${columns.map(() => '?').join(', ')})
  ON CONFLICT (granularity, queue, type, bucket) DO UPDATE SET ${columns
    .map((c) => (metricCombiner(c) === 'max' ? `${c} = max(${c}, excluded.${c})` : `${c} = ${c} + excluded.${c}`))
    .join(', ')}`;
}

/** Upserts by the set of columns they add to (`'1'` per value column added, in METRIC_VALUE_COLUMNS order). */
const NARROW_SQL = new Map<string, string>();
/** Distinct column sets remembered; past this, a cell binds every column (same effect, more work). */
const NARROW_LIMIT = 256;
const UPSERT_SQL = upsertSql(METRIC_VALUE_COLUMNS);

/**
 * The upsert that adds only the columns `mask` marks, or undefined once {@link NARROW_LIMIT} sets are known. Cells of
 * claims, acks and enqueues each touch a counter or two and a few histogram columns, so only a handful of masks
 * occur; the statement of each is prepared once.
 */
function narrowUpsertSql(mask: string): string | undefined {
  let sql = NARROW_SQL.get(mask);
  if (sql === undefined && NARROW_SQL.size < NARROW_LIMIT) {
    sql = upsertSql(METRIC_VALUE_COLUMNS.filter((_, i) => mask[i] === '1'));
    NARROW_SQL.set(mask, sql);
  }
  return sql;
}

/** The value columns combined over the rows a query selects (SUM, or MAX for the maxima). */
const AGGREGATES = METRIC_VALUE_COLUMNS.map((c) => `${metricCombiner(c)}(m.${c})`).join(', ');

/** One bucket per row, as stored (each (queue, type, bucket) is one row: no aggregation needed). */
const SERIES_SQL = `SELECT m.bucket, ${METRIC_VALUE_COLUMNS.map((c) => `m.${c}`).join(', ')} FROM conveyor_metric_buckets m
  WHERE m.granularity = ? AND m.queue = ? AND m.type = ? AND m.bucket >= ? AND m.bucket < ? ORDER BY m.bucket`;

/** The total of one (queue, type) row set over a bucket range: one primary-key range. */
const TOTAL_SQL = `SELECT count(*), ${AGGREGATES} FROM conveyor_metric_buckets m
  WHERE m.granularity = ? AND m.queue = ? AND m.type = ? AND m.bucket >= ? AND m.bucket < ?`;

/**
 * Totals per group: for each known (queue, type) pair of the group's kind, one primary-key range. `group` is the
 * column that names the group; the other one is fixed (a name or the roll-up '').
 */
function groupedSql(group: 'queue' | 'type', groupFilter: boolean): string {
  const fixed = group === 'queue' ? 'type' : 'queue';
  // CROSS JOIN keeps the keys table as the outer loop (SQLite would otherwise walk every bucket of the granularity).
  return `SELECT k.${group}, ${AGGREGATES} FROM conveyor_metric_keys k
    CROSS JOIN conveyor_metric_buckets m ON m.granularity = ? AND m.queue = k.queue AND m.type = k.type
      AND m.bucket >= ? AND m.bucket < ?
    WHERE k.${fixed} = ? AND k.${group} <> ''${groupFilter ? ` AND k.${group} = ?` : ''}
    GROUP BY k.${group}`;
}

function zeroValues(): Values {
  return new Array<number>(METRIC_VALUE_COLUMNS.length).fill(0);
}

function histogramAt(row: readonly unknown[], at: number): Histogram {
  const counts = new Array<number>(METRIC_SLOTS);
  for (let i = 0; i < METRIC_SLOTS; i++) counts[i] = (row[at + 3 + i] as number | null) ?? 0;
  return {
    counts,
    count: (row[at] as number | null) ?? 0,
    sum: (row[at + 1] as number | null) ?? 0,
    max: (row[at + 2] as number | null) ?? 0,
  };
}

/** Counters and histograms of a row whose value columns start at `offset`. */
function valuesOf(row: readonly unknown[], offset: number): Omit<MetricBucket, 'start'> {
  const at = (kind: MetricKind) => (row[offset + KIND_AT[kind]] as number | null) ?? 0;
  return {
    enqueued: at('enqueued'),
    started: at('started'),
    completed: at('completed'),
    failed: at('failed'),
    retried: at('retried'),
    stalled: at('stalled'),
    timeout: at('timeout'),
    duration: histogramAt(row, offset + DURATION_AT),
    wait: histogramAt(row, offset + WAIT_AT),
  };
}

function observeInto(values: Values, at: number, valueMs: number, n: number): void {
  values[at] = (values[at] as number) + n;
  values[at + 1] = (values[at + 1] as number) + valueMs * n;
  if (valueMs > (values[at + 2] as number)) values[at + 2] = valueMs;
  const slot = at + 3 + histogramSlot(valueMs);
  values[slot] = (values[slot] as number) + n;
}

/** Throws `VALIDATION_FAILED` unless `e` is an event {@link writeMetrics} can store. */
export function checkMetricEvent(e: MetricEvent): void {
  if (!(METRIC_KINDS as readonly string[]).includes(e.kind)) {
    throw validationError(`metric kind must be one of ${METRIC_KINDS.join(', ')}, got ${String(e.kind)}.`);
  }
  if (typeof e.at !== 'number' || !Number.isFinite(e.at))
    throw validationError('metric event `at` must be a time in ms.');
  if (typeof e.queue !== 'string' || e.queue === ALL || typeof e.type !== 'string' || e.type === ALL) {
    throw validationError('metric event `queue` and `type` must be non-empty strings.');
  }
}

/** One row of `conveyor_metric_buckets` a write adds to, with the values folded so far. */
interface Cell {
  granularity: Granularity;
  queue: string;
  type: string;
  bucket: number;
  values: Values;
}

/**
 * Add checked events to their rows, inside the caller's write transaction: folded in memory first (pair and roll-up
 * rows, every granularity), then one upsert per touched row. Used by `record` and by the queue adapter's inline
 * records.
 */
export function writeMetrics(store: SqliteStore, events: readonly MetricEvent[]): void {
  const cells = new Map<string, Cell>();
  const keys = new Set<string>();
  // Events of one batch mostly share their queue, type and buckets: those reuse the previous event's cells instead
  // of building 12 keys again.
  let last: Cell[] = [];
  let lastQueue = '';
  let lastType = '';
  const lastBuckets: number[] = [];
  for (const e of events) {
    const n = e.count ?? 1;
    const kind = KIND_AT[e.kind];
    const duration = (e.kind === 'completed' || e.kind === 'failed') && e.durationMs !== undefined;
    const wait = e.kind === 'started' && e.waitMs !== undefined;
    let same = last.length > 0 && e.queue === lastQueue && e.type === lastType;
    for (let g = 0; g < GRANULARITY_NAMES.length; g++) {
      const width = GRANULARITIES[GRANULARITY_NAMES[g] as Granularity].ms;
      const bucket = Math.floor(e.at / width) * width;
      if (lastBuckets[g] !== bucket) {
        same = false;
        lastBuckets[g] = bucket;
      }
    }
    if (!same) {
      last = [];
      lastQueue = e.queue;
      lastType = e.type;
      for (const [queue, type] of [
        [e.queue, e.type],
        [e.queue, ALL],
        [ALL, e.type],
        [ALL, ALL],
      ] as const) {
        keys.add(`${queue}\u0000${type}`);
        for (let g = 0; g < GRANULARITY_NAMES.length; g++) {
          const granularity = GRANULARITY_NAMES[g] as Granularity;
          const bucket = lastBuckets[g] as number;
          const key = `${granularity}\u0000${bucket}\u0000${queue}\u0000${type}`;
          let cell = cells.get(key);
          if (cell === undefined) {
            cell = { granularity, queue, type, bucket, values: zeroValues() };
            cells.set(key, cell);
          }
          last.push(cell);
        }
      }
    }
    for (const cell of last) {
      const v = cell.values;
      v[kind] = (v[kind] as number) + n;
      if (duration) observeInto(v, DURATION_AT, e.durationMs as number, n);
      if (wait) observeInto(v, WAIT_AT, e.waitMs as number, n);
    }
  }
  for (const c of cells.values()) {
    const v = c.values;
    // Only the columns this cell changes: adding 0 to a sum changes nothing, and neither does max(stored, 0) (every
    // stored value is >= 0). A batch of claims or acks touches a counter and a few histogram columns of ~60, and
    // binding and evaluating the rest was most of the upsert's cost.
    let mask = '';
    const params: unknown[] = [c.granularity, c.queue, c.type, c.bucket];
    for (let i = 0; i < v.length; i++) {
      const x = v[i] as number;
      if (x === 0) mask += '0';
      else {
        mask += '1';
        params.push(x);
      }
    }
    const sql = params.length > 4 ? narrowUpsertSql(mask) : undefined;
    // A cell of zeros (events of count 0) still creates its row, as the full upsert does.
    if (sql === undefined) store.stmt(UPSERT_SQL).run(c.granularity, c.queue, c.type, c.bucket, ...v);
    else store.stmt(sql).run(params);
  }
  for (const k of keys) {
    if (store.metricKeys.has(k)) continue;
    store.stmt('INSERT OR IGNORE INTO conveyor_metric_keys (queue, type) VALUES (?, ?)').run(...k.split('\u0000'));
    store.metricKeyWritten(k);
  }
}

/**
 * Time-bucketed counters and histograms in `conveyor_metric_buckets`: one row per (granularity, queue, type,
 * bucket), every counter and histogram slot a column, so reads aggregate in SQL. Each event is added to its pair's
 * row and to three roll-up rows (its queue over every type, its type over every queue, and everything), so a read
 * with or without a queue or type filter is one primary-key range of one row per bucket, and a total grouped by
 * queue or type is one such range per group. A batch of events is folded in memory first, then each touched row is
 * upserted once (`value = value + excluded.value`) inside one `BEGIN IMMEDIATE` transaction, so concurrent
 * processes add, never overwrite.
 *
 * Queue and type names must be non-empty ('' names the roll-ups).
 */
export class SqliteMetricsAdapter extends SqlitePart implements MetricsAdapter {
  readonly capabilities: AdapterCapabilities = SQLITE_CAPABILITIES;

  constructor(source?: SqliteStore | SqliteBackendOptions) {
    super(source, 'metrics adapter');
    if (HISTOGRAM_SLOTS !== METRIC_SLOTS) {
      throw new ConveyorError(
        'CONFIG_INVALID',
        sqliteMessage(
          `@conveyor/core histograms have ${HISTOGRAM_SLOTS} slots but this @conveyor/sqlite stores ${METRIC_SLOTS}. Use matching versions of the two packages.`,
        ),
      );
    }
  }

  async record(events: MetricEvent[]): Promise<void> {
    this.guard();
    if (events.length === 0) return;
    for (const e of events) checkMetricEvent(e);
    this.store.write(() => writeMetrics(this.store, events));
  }

  /** The granularity and the bucket range [from, to) of a query, validated. */
  private range(query: MetricsQuery): [Granularity, number, number] {
    const g = GRANULARITIES[query.granularity];
    if (g === undefined) throw validationError(`granularity must be one of ${GRANULARITY_NAMES.join(', ')}.`);
    if (!Number.isFinite(query.from) || !Number.isFinite(query.to)) {
      throw validationError('metrics query `from` and `to` must be times in ms.');
    }
    this.store.ensureReady();
    return [query.granularity, Math.floor(query.from / g.ms) * g.ms, query.to];
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.guard();
    const [granularity, from, to] = this.range(query);
    const rows = this.store
      .stmt(SERIES_SQL)
      .raw(true)
      .all(granularity, query.queue ?? ALL, query.type ?? ALL, from, to) as unknown[][];
    return rows.map((row) => ({ start: row[0] as number, ...valuesOf(row, 1) }));
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.guard();
    const [granularity, from, to] = this.range(query);
    const { groupBy } = query;
    if (groupBy === undefined) {
      const row = this.store
        .stmt(TOTAL_SQL)
        .raw(true)
        .get(granularity, query.queue ?? ALL, query.type ?? ALL, from, to) as unknown[];
      return [{ key: null, ...valuesOf(row, 1) }];
    }
    const fixed = groupBy === 'queue' ? query.type : query.queue;
    const filter = groupBy === 'queue' ? query.queue : query.type;
    const params: unknown[] = [granularity, from, to, fixed ?? ALL];
    if (filter !== undefined) params.push(filter);
    const rows = this.store
      .stmt(groupedSql(groupBy, filter !== undefined))
      .raw(true)
      .all(...params) as unknown[][];
    // Code-unit order, like every other adapter (not locale order).
    return rows
      .map((row): MetricsTotals => ({ key: row[0] as string, ...valuesOf(row, 1) }))
      .sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : (a.key as string) > (b.key as string) ? 1 : 0));
  }

  async prune(now: number): Promise<number> {
    this.guard();
    return this.store.write(() => {
      let removed = 0;
      // One primary-key range per known (queue, type) pair and granularity.
      const del = this.store.stmt(
        'DELETE FROM conveyor_metric_buckets WHERE granularity = ? AND queue = ? AND type = ? AND bucket < ?',
      );
      const pairs = this.store.stmt('SELECT queue, type FROM conveyor_metric_keys').raw(true).all() as string[][];
      for (const granularity of GRANULARITY_NAMES) {
        const before = now - GRANULARITIES[granularity].retentionMs;
        for (const [queue, type] of pairs) removed += del.run(granularity, queue, type, before).changes;
      }
      return removed;
    });
  }
}
