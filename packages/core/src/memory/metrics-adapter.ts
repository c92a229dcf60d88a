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
import { addBucketInto, emptyBucket, histogramSlot } from '../util/histogram';
import { copyBucket, MetricSeries, observeAt } from './metrics-series';
import type { MemoryAdapterOptions } from './options';
import { COMPONENT, closedError, MEMORY_CAPABILITIES, validationError } from './options';

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];
const WIDTHS: readonly number[] = GRANULARITY_NAMES.map((g) => GRANULARITIES[g].ms);
const KIND_SET: ReadonlySet<string> = new Set(METRIC_KINDS);

/**
 * Every series of one granularity: one per (queue, type) pair, plus roll-ups per queue, per type and overall that
 * `record` keeps up to date alongside the pair. A query reads the one series its filter names (or the few its
 * `groupBy` needs), so it never visits another queue's or type's buckets and never merges pairs it can read summed.
 */
class GranularityIndex {
  readonly all: MetricSeries;
  readonly byQueue = new Map<string, MetricSeries>();
  readonly byType = new Map<string, MetricSeries>();
  /** queue → type → pair series. */
  readonly pairsByQueue = new Map<string, Map<string, MetricSeries>>();
  /** type → queue → the same pair series. */
  readonly pairsByType = new Map<string, Map<string, MetricSeries>>();

  constructor(readonly width: number) {
    this.all = new MetricSeries(width);
  }

  /** The pair series and its queue, type and overall roll-ups, created when missing. */
  seriesOf(queue: string, type: string): MetricSeries[] {
    let pair = this.pairsByQueue.get(queue)?.get(type);
    if (pair === undefined) {
      pair = new MetricSeries(this.width);
      inner(this.pairsByQueue, queue).set(type, pair);
      inner(this.pairsByType, type).set(queue, pair);
    }
    return [pair, seriesIn(this.byQueue, queue, this.width), seriesIn(this.byType, type, this.width), this.all];
  }

  /** The one series holding exactly what a query with these filters asks for. */
  select(queue: string | undefined, type: string | undefined): MetricSeries | undefined {
    if (queue !== undefined && type !== undefined) return this.pairsByQueue.get(queue)?.get(type);
    if (queue !== undefined) return this.byQueue.get(queue);
    if (type !== undefined) return this.byType.get(type);
    return this.all;
  }

  /**
   * The series a grouped query sums, keyed by group: with no filter on the grouped dimension, the roll-ups of that
   * dimension (or, filtered on the other one, that value's pairs); filtered on it, the one matching series.
   */
  groups(groupBy: 'queue' | 'type', queue: string | undefined, type: string | undefined): Map<string, MetricSeries> {
    const [own, other] = groupBy === 'queue' ? [queue, type] : [type, queue];
    if (own !== undefined) {
      const one = this.select(queue, type);
      return one === undefined ? new Map() : new Map([[own, one]]);
    }
    if (other === undefined) return groupBy === 'queue' ? this.byQueue : this.byType;
    return (groupBy === 'queue' ? this.pairsByType.get(other) : this.pairsByQueue.get(other)) ?? new Map();
  }

  /** Drop buckets before `cutoff` and series left empty; returns how many pair buckets were dropped. */
  prune(cutoff: number): number {
    let dropped = 0;
    for (const [queue, types] of this.pairsByQueue) {
      for (const [type, pair] of types) {
        dropped += pair.prune(cutoff);
        if (pair.size > 0) continue;
        types.delete(type);
        const queues = this.pairsByType.get(type);
        queues?.delete(queue);
        if (queues?.size === 0) this.pairsByType.delete(type);
      }
      if (types.size === 0) this.pairsByQueue.delete(queue);
    }
    for (const rollups of [this.byQueue, this.byType]) {
      for (const [key, series] of rollups) {
        series.prune(cutoff);
        if (series.size === 0) rollups.delete(key);
      }
    }
    this.all.prune(cutoff);
    return dropped;
  }
}

function inner(map: Map<string, Map<string, MetricSeries>>, key: string): Map<string, MetricSeries> {
  let found = map.get(key);
  if (found === undefined) {
    found = new Map();
    map.set(key, found);
  }
  return found;
}

function seriesIn(map: Map<string, MetricSeries>, key: string, width: number): MetricSeries {
  let found = map.get(key);
  if (found === undefined) {
    found = new MetricSeries(width);
    map.set(key, found);
  }
  return found;
}

function emptyTotals(key: string | null): MetricsTotals {
  const { start: _start, ...rest } = emptyBucket(0);
  return { key, ...rest };
}

/**
 * The reference {@link MetricsAdapter}: minute, hour and day buckets per (queue, type) in memory, with roll-ups per
 * queue, per type and overall kept as events are recorded. Recording is a few map lookups per event (fewer when
 * events arrive in time order); a query costs the buckets of its period in the series it needs, never other series'
 * buckets and never jobs. Memory is bounded by `prune` (the runtime calls it on a timer) at the retention documented
 * in `GRANULARITIES`.
 */
export class MemoryMetricsAdapter implements MetricsAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = MEMORY_CAPABILITIES;
  private closed = false;
  private indexes = new Map<Granularity, GranularityIndex>();
  /**
   * queue → type → the twelve series an event of that pair is added to (pair, queue, type and overall, for each
   * granularity in `GRANULARITY_NAMES` order). Cleared whenever prune drops a series, and rebuilt on demand.
   */
  private targets = new Map<string, Map<string, MetricSeries[]>>();

  private readonly logger: Logger;

  // Every time here comes from the caller (event times, `prune(now)`), so the clock option is not needed.
  constructor(options: MemoryAdapterOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.reset();
  }

  async init(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.reset();
  }

  async record(events: MetricEvent[]): Promise<void> {
    this.open();
    // Validate the whole batch first so a bad event records nothing.
    for (let i = 0; i < events.length; i++) validateEvent(events[i] as MetricEvent, i);
    for (const e of events) {
      const n = e.count ?? 1;
      const kind = e.kind;
      const duration =
        e.durationMs !== undefined && (kind === 'completed' || kind === 'failed') ? e.durationMs : undefined;
      const wait = e.waitMs !== undefined && kind === 'started' ? e.waitMs : undefined;
      const durationSlot = duration === undefined ? -1 : histogramSlot(duration);
      const waitSlot = wait === undefined ? -1 : histogramSlot(wait);
      const targets = this.targetsOf(e.queue, e.type);
      for (let g = 0; g < WIDTHS.length; g++) {
        const ms = WIDTHS[g] as number;
        const start = Math.floor(e.at / ms) * ms;
        for (let s = g * 4; s < g * 4 + 4; s++) {
          const b = (targets[s] as MetricSeries).bucket(start);
          b[kind] += n;
          if (duration !== undefined) observeAt(b.duration, durationSlot, duration, n);
          if (wait !== undefined) observeAt(b.wait, waitSlot, wait, n);
        }
      }
    }
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.open();
    const { index, from, to } = this.resolve(query);
    const out: MetricBucket[] = [];
    index.select(query.queue, query.type)?.range(from, to, (b) => {
      out.push(copyBucket(b));
    });
    return out;
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.open();
    const { groupBy } = query;
    if (groupBy !== undefined && groupBy !== 'queue' && groupBy !== 'type') {
      throw validationError(`groupBy must be 'queue' or 'type'; got ${String(groupBy)}.`);
    }
    const { index, from, to } = this.resolve(query);
    if (groupBy === undefined) {
      const overall = emptyTotals(null);
      index.select(query.queue, query.type)?.range(from, to, (b) => addBucketInto(overall, b));
      return [overall];
    }
    const rows: MetricsTotals[] = [];
    for (const [key, series] of index.groups(groupBy, query.queue, query.type)) {
      let row: MetricsTotals | undefined;
      series.range(from, to, (b) => {
        row ??= emptyTotals(key);
        addBucketInto(row, b);
      });
      if (row !== undefined) rows.push(row);
    }
    return rows.sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1));
  }

  async prune(now: number): Promise<number> {
    this.open();
    let dropped = 0;
    for (const g of GRANULARITY_NAMES) {
      dropped += (this.indexes.get(g) as GranularityIndex).prune(now - GRANULARITIES[g].retentionMs);
    }
    if (dropped > 0) {
      // Some series may be gone from the indexes: rebuild the per-pair shortcuts on the next record.
      this.targets.clear();
      this.logger.debug(conveyorMessage(COMPONENT, `pruned ${dropped} metric bucket(s).`));
    }
    return dropped;
  }

  private reset(): void {
    this.indexes = new Map(GRANULARITY_NAMES.map((g) => [g, new GranularityIndex(GRANULARITIES[g].ms)]));
    this.targets = new Map();
  }

  private open(): void {
    if (this.closed) throw closedError('memory metrics adapter');
  }

  private targetsOf(queue: string, type: string): MetricSeries[] {
    let byType = this.targets.get(queue);
    if (byType === undefined) {
      byType = new Map();
      this.targets.set(queue, byType);
    }
    let found = byType.get(type);
    if (found === undefined) {
      found = GRANULARITY_NAMES.flatMap((g) => (this.indexes.get(g) as GranularityIndex).seriesOf(queue, type));
      byType.set(type, found);
    }
    return found;
  }

  /** Validate a query's granularity and times; `from` rounded down to the granularity. */
  private resolve(query: MetricsQuery): { index: GranularityIndex; from: number; to: number } {
    const g = GRANULARITIES[query.granularity];
    if (g === undefined) {
      throw validationError(
        `granularity must be one of ${GRANULARITY_NAMES.join(', ')}; got ${String(query.granularity)}.`,
      );
    }
    if (!Number.isFinite(query.from) || !Number.isFinite(query.to)) {
      throw validationError('from and to must be times in ms.');
    }
    const index = this.indexes.get(query.granularity) as GranularityIndex;
    return { index, from: Math.floor(query.from / g.ms) * g.ms, to: query.to };
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
