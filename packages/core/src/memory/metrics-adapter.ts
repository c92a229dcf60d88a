import type { AdapterCapabilities } from '../contracts/capabilities';
import { conveyorMessage } from '../contracts/errors';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';
import type {
  Granularity,
  MetricBucket,
  MetricEvent,
  MetricsAdapter,
  MetricsQuery,
  MetricsTotals,
} from '../contracts/metrics-adapter';
import { GRANULARITIES, METRIC_KINDS } from '../contracts/metrics-adapter';
import { emptyHistogram, mergeHistogram, observe } from '../util/histogram';
import type { MemoryAdapterOptions } from './options';
import { COMPONENT, closedError, MEMORY_CAPABILITIES, validationError } from './options';

/** One bucket of one (queue, type) pair. */
interface PairBucket {
  queue: string;
  type: string;
  data: MetricBucket;
}

/** Buckets of one granularity: bucket start → (queue NUL type) → counters. */
type BucketTable = Map<number, Map<string, PairBucket>>;

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];
const KIND_SET: ReadonlySet<string> = new Set(METRIC_KINDS);

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

/** Add `b`'s counters and histograms into `a`. */
function addInto(a: Omit<MetricBucket, 'start'>, b: MetricBucket): void {
  a.enqueued += b.enqueued;
  a.started += b.started;
  a.completed += b.completed;
  a.failed += b.failed;
  a.retried += b.retried;
  a.stalled += b.stalled;
  mergeHistogram(a.duration, b.duration);
  mergeHistogram(a.wait, b.wait);
}

function emptyTotals(key: string | null): MetricsTotals {
  const { start: _start, ...rest } = emptyBucket(0);
  return { key, ...rest };
}

/**
 * The reference {@link MetricsAdapter}: minute, hour and day buckets per (queue, type) in memory. Recording is a few
 * map lookups per event; a query walks buckets × pairs, never jobs. Memory is bounded by `prune` (the runtime calls
 * it on a timer) at the retention documented in `GRANULARITIES`.
 */
export class MemoryMetricsAdapter implements MetricsAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = MEMORY_CAPABILITIES;
  private closed = false;
  private readonly tables = new Map<Granularity, BucketTable>(GRANULARITY_NAMES.map((g) => [g, new Map()]));

  private readonly logger: Logger;

  // Every time here comes from the caller (event times, `prune(now)`), so the clock option is not needed.
  constructor(options: MemoryAdapterOptions = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  async init(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const table of this.tables.values()) table.clear();
  }

  async record(events: MetricEvent[]): Promise<void> {
    this.open();
    // Validate the whole batch first so a bad event records nothing.
    for (let i = 0; i < events.length; i++) validateEvent(events[i] as MetricEvent, i);
    for (const e of events) {
      const n = e.count ?? 1;
      for (const g of GRANULARITY_NAMES) {
        const ms = GRANULARITIES[g].ms;
        const start = Math.floor(e.at / ms) * ms;
        const table = this.tables.get(g) as BucketTable;
        let pairs = table.get(start);
        if (pairs === undefined) {
          pairs = new Map();
          table.set(start, pairs);
        }
        const pairKey = `${e.queue}\u0000${e.type}`;
        let pair = pairs.get(pairKey);
        if (pair === undefined) {
          pair = { queue: e.queue, type: e.type, data: emptyBucket(start) };
          pairs.set(pairKey, pair);
        }
        const b = pair.data;
        b[e.kind] += n;
        if (e.durationMs !== undefined && (e.kind === 'completed' || e.kind === 'failed')) {
          observe(b.duration, e.durationMs, n);
        }
        if (e.waitMs !== undefined && e.kind === 'started') observe(b.wait, e.waitMs, n);
      }
    }
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.open();
    const out: MetricBucket[] = [];
    this.walk(query, (start, pairs) => {
      let bucket: MetricBucket | undefined;
      for (const pair of pairs) {
        bucket ??= emptyBucket(start);
        addInto(bucket, pair.data);
      }
      if (bucket !== undefined) out.push(bucket);
    });
    return out.sort((a, b) => a.start - b.start);
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.open();
    const { groupBy } = query;
    if (groupBy !== undefined && groupBy !== 'queue' && groupBy !== 'type') {
      throw validationError(`groupBy must be 'queue' or 'type'; got ${String(groupBy)}.`);
    }
    const overall = emptyTotals(null);
    const groups = new Map<string, MetricsTotals>();
    this.walk(query, (_start, pairs) => {
      for (const pair of pairs) {
        if (groupBy === undefined) {
          addInto(overall, pair.data);
          continue;
        }
        const key = groupBy === 'queue' ? pair.queue : pair.type;
        let row = groups.get(key);
        if (row === undefined) {
          row = emptyTotals(key);
          groups.set(key, row);
        }
        addInto(row, pair.data);
      }
    });
    if (groupBy === undefined) return [overall];
    return [...groups.values()].sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1));
  }

  async prune(now: number): Promise<number> {
    this.open();
    let dropped = 0;
    for (const g of GRANULARITY_NAMES) {
      const cutoff = now - GRANULARITIES[g].retentionMs;
      const table = this.tables.get(g) as BucketTable;
      for (const [start, pairs] of table) {
        if (start < cutoff) {
          dropped += pairs.size;
          table.delete(start);
        }
      }
    }
    if (dropped > 0) this.logger.debug(conveyorMessage(COMPONENT, `pruned ${dropped} metric bucket(s).`));
    return dropped;
  }

  private open(): void {
    if (this.closed) throw closedError('memory metrics adapter');
  }

  /** Call `visit` for each bucket in [from, to) with the pairs that match the query's filters. */
  private walk(query: MetricsQuery, visit: (start: number, pairs: PairBucket[]) => void): void {
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
    const table = this.tables.get(query.granularity) as BucketTable;
    const selected: PairBucket[] = [];
    for (const [start, pairs] of table) {
      if (start < from || start >= query.to) continue;
      selected.length = 0;
      for (const pair of pairs.values()) {
        if (query.queue !== undefined && pair.queue !== query.queue) continue;
        if (query.type !== undefined && pair.type !== query.type) continue;
        selected.push(pair);
      }
      if (selected.length > 0) visit(start, selected);
    }
  }
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
