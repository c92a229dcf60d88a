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
import { emptyHistogram, GRANULARITIES, METRIC_KINDS, mergeHistogram, observe } from '@conveyor/core';
import { SQLITE_CAPABILITIES } from './capabilities';
import { validationError } from './errors';
import type { SqliteBackendOptions, SqliteStore } from './store';
import { SqlitePart } from './store';

type Counters = Record<MetricKind, number>;

function zeroCounters(): Counters {
  return { enqueued: 0, started: 0, completed: 0, failed: 0, retried: 0, stalled: 0 };
}

interface Cell {
  granularity: Granularity;
  bucket: number;
  queue: string;
  type: string;
  counters: Counters;
  duration: Histogram;
  wait: Histogram;
}

interface MetricRow {
  granularity: Granularity;
  bucket: number;
  queue: string;
  type: string;
  counters: string;
  duration: string;
  wait: string;
}

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];

function emptyBucket(start: number): MetricBucket {
  return {
    start,
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

function addRow(into: Omit<MetricBucket, 'start'>, row: MetricRow): void {
  const c = JSON.parse(row.counters) as Partial<Counters>;
  for (const kind of METRIC_KINDS) into[kind] += c[kind] ?? 0;
  mergeHistogram(into.duration, JSON.parse(row.duration) as Histogram);
  mergeHistogram(into.wait, JSON.parse(row.wait) as Histogram);
}

/**
 * Time-bucketed counters and histograms: one row per (granularity, bucket, queue, type), keyed by a primary key
 * that every query walks as a range. A batch of events is folded in memory first, then each touched row is read,
 * merged and written once, inside one `BEGIN IMMEDIATE` transaction (so concurrent processes add, never overwrite).
 */
export class SqliteMetricsAdapter extends SqlitePart implements MetricsAdapter {
  readonly capabilities: AdapterCapabilities = SQLITE_CAPABILITIES;

  constructor(source?: SqliteStore | SqliteBackendOptions) {
    super(source, 'metrics adapter');
  }

  async record(events: MetricEvent[]): Promise<void> {
    this.guard();
    if (events.length === 0) return;
    const cells = new Map<string, Cell>();
    for (const e of events) {
      if (!(METRIC_KINDS as readonly string[]).includes(e.kind)) {
        throw validationError(`metric kind must be one of ${METRIC_KINDS.join(', ')}, got ${String(e.kind)}.`);
      }
      if (typeof e.at !== 'number' || !Number.isFinite(e.at))
        throw validationError('metric event `at` must be a time in ms.');
      const n = e.count ?? 1;
      for (const granularity of GRANULARITY_NAMES) {
        const width = GRANULARITIES[granularity].ms;
        const bucket = Math.floor(e.at / width) * width;
        const key = `${granularity}\u0000${bucket}\u0000${e.queue}\u0000${e.type}`;
        let cell = cells.get(key);
        if (cell === undefined) {
          cell = {
            granularity,
            bucket,
            queue: e.queue,
            type: e.type,
            counters: zeroCounters(),
            duration: emptyHistogram(),
            wait: emptyHistogram(),
          };
          cells.set(key, cell);
        }
        cell.counters[e.kind] += n;
        if ((e.kind === 'completed' || e.kind === 'failed') && e.durationMs !== undefined) {
          observe(cell.duration, e.durationMs, n);
        }
        if (e.kind === 'started' && e.waitMs !== undefined) observe(cell.wait, e.waitMs, n);
      }
    }
    this.store.write(() => {
      const read = this.store.stmt(
        'SELECT * FROM conveyor_metrics WHERE granularity = ? AND bucket = ? AND queue = ? AND type = ?',
      );
      const write = this.store.stmt(
        `INSERT OR REPLACE INTO conveyor_metrics (granularity, bucket, queue, type, counters, duration, wait)
          VALUES (?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const cell of cells.values()) {
        const row = read.get(cell.granularity, cell.bucket, cell.queue, cell.type) as MetricRow | undefined;
        if (row !== undefined) {
          const stored = JSON.parse(row.counters) as Partial<Counters>;
          for (const kind of METRIC_KINDS) cell.counters[kind] += stored[kind] ?? 0;
          mergeHistogram(cell.duration, JSON.parse(row.duration) as Histogram);
          mergeHistogram(cell.wait, JSON.parse(row.wait) as Histogram);
        }
        write.run(
          cell.granularity,
          cell.bucket,
          cell.queue,
          cell.type,
          JSON.stringify(cell.counters),
          JSON.stringify(cell.duration),
          JSON.stringify(cell.wait),
        );
      }
    });
  }

  /** Rows of [from, to) at one granularity, filtered by queue and type (a primary-key range). */
  private rows(query: MetricsQuery): MetricRow[] {
    const g = GRANULARITIES[query.granularity];
    if (g === undefined) throw validationError(`granularity must be one of ${GRANULARITY_NAMES.join(', ')}.`);
    if (!Number.isFinite(query.from) || !Number.isFinite(query.to)) {
      throw validationError('metrics query `from` and `to` must be times in ms.');
    }
    const from = Math.floor(query.from / g.ms) * g.ms;
    const where = ['granularity = ?', 'bucket >= ?', 'bucket < ?'];
    const params: unknown[] = [query.granularity, from, query.to];
    if (query.queue !== undefined) {
      where.push('queue = ?');
      params.push(query.queue);
    }
    if (query.type !== undefined) {
      where.push('type = ?');
      params.push(query.type);
    }
    this.store.ensureReady();
    return this.store
      .stmt(`SELECT * FROM conveyor_metrics WHERE ${where.join(' AND ')} ORDER BY bucket`)
      .all(...params) as MetricRow[];
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.guard();
    const out: MetricBucket[] = [];
    let current: MetricBucket | undefined;
    for (const row of this.rows(query)) {
      if (current === undefined || current.start !== row.bucket) {
        current = emptyBucket(row.bucket);
        out.push(current);
      }
      addRow(current, row);
    }
    return out;
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.guard();
    const groups = new Map<string | null, MetricsTotals>();
    for (const row of this.rows(query)) {
      const key = query.groupBy === 'queue' ? row.queue : query.groupBy === 'type' ? row.type : null;
      let t = groups.get(key);
      if (t === undefined) {
        const { start: _start, ...rest } = emptyBucket(0);
        t = { key, ...rest };
        groups.set(key, t);
      }
      addRow(t, row);
    }
    if (query.groupBy === undefined && groups.size === 0) {
      const { start: _start, ...rest } = emptyBucket(0);
      return [{ key: null, ...rest }];
    }
    // Code-unit order, like every other adapter (not locale order).
    return [...groups.values()].sort((a, b) =>
      (a.key ?? '') < (b.key ?? '') ? -1 : (a.key ?? '') > (b.key ?? '') ? 1 : 0,
    );
  }

  async prune(now: number): Promise<number> {
    this.guard();
    return this.store.write(() => {
      let removed = 0;
      const del = this.store.stmt('DELETE FROM conveyor_metrics WHERE granularity = ? AND bucket < ?');
      for (const granularity of GRANULARITY_NAMES) {
        removed += del.run(granularity, now - GRANULARITIES[granularity].retentionMs).changes;
      }
      return removed;
    });
  }
}
