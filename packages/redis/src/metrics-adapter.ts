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
import { emptyHistogram, GRANULARITIES, histogramSlot, METRIC_KINDS, mergeHistogram } from '@conveyor/core';
import { RedisConnection } from './connection';
import { PRUNE_METRICS, READ_METRICS, RECORD_METRICS } from './lua/storage';
import type { RedisBackendOptions } from './options';
import { closedError, REDIS_CAPABILITIES, validationError } from './options';

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];
const KIND_SET: ReadonlySet<string> = new Set(METRIC_KINDS);
const SEP = '\u001f';

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

/** One bucket's pending writes, summed on the client before the single script call. */
interface PendingBucket {
  g: Granularity;
  start: number;
  member: string;
  add: Map<string, number>;
  max: Map<string, number>;
}

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

/** A stored bucket hash (field → value) as counters and histograms. Fields: the kinds, then d… (duration) and w… (wait) histogram parts. */
function readBucket(start: number, flat: string[]): MetricBucket {
  const b = emptyBucket(start);
  for (let i = 0; i < flat.length; i += 2) {
    const field = flat[i] as string;
    const value = Number(flat[i + 1]);
    if (KIND_SET.has(field)) {
      b[field as (typeof METRIC_KINDS)[number]] = value;
      continue;
    }
    const h: Histogram = field[0] === 'd' ? b.duration : b.wait;
    const part = field.slice(1);
    if (part === 'c') h.count = value;
    else if (part === 's') h.sum = value;
    else if (part === 'm') h.max = value;
    else h.counts[Number(part)] = value;
  }
  return b;
}

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

/**
 * {@link MetricsAdapter} on Redis: one small hash per (granularity, bucket start, queue, type) holding the six
 * counters and the two fixed-bound histograms (slot counts, count, sum, max), plus one sorted set per granularity
 * indexing the buckets by start. A `record` batch is summed per bucket on the client and written by one script;
 * a query reads buckets × pairs in range, never jobs. `prune` drops buckets past their granularity's retention.
 */
export class RedisMetricsAdapter implements MetricsAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = REDIS_CAPABILITIES;
  private readonly conn: RedisConnection;
  private closed = false;

  /** Pass options to own a connection, or a {@link RedisConnection} to share one with the other adapters. */
  constructor(options: RedisBackendOptions | RedisConnection = {}) {
    this.conn = options instanceof RedisConnection ? options : new RedisConnection(options);
    this.conn.acquire();
  }

  async init(): Promise<void> {
    this.open();
    await this.conn.checkServer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.release();
  }

  async record(events: MetricEvent[]): Promise<void> {
    this.open();
    for (let i = 0; i < events.length; i++) validateEvent(events[i] as MetricEvent, i);
    if (events.length === 0) return;
    const pending = new Map<string, PendingBucket>();
    const inc = (m: Map<string, number>, f: string, v: number) => m.set(f, (m.get(f) ?? 0) + v);
    for (const e of events) {
      const n = e.count ?? 1;
      for (const g of GRANULARITY_NAMES) {
        const ms = GRANULARITIES[g].ms;
        const start = Math.floor(e.at / ms) * ms;
        const member = `${start}${SEP}${e.queue}${SEP}${e.type}`;
        const key = `${g}:${member}`;
        let b = pending.get(key);
        if (b === undefined) {
          b = { g, start, member, add: new Map(), max: new Map() };
          pending.set(key, b);
        }
        inc(b.add, e.kind, n);
        let h: 'd' | 'w' | null = null;
        let value = 0;
        if (e.durationMs !== undefined && (e.kind === 'completed' || e.kind === 'failed')) {
          h = 'd';
          value = e.durationMs;
        } else if (e.waitMs !== undefined && e.kind === 'started') {
          h = 'w';
          value = e.waitMs;
        }
        if (h !== null) {
          inc(b.add, `${h}${histogramSlot(value)}`, n);
          inc(b.add, `${h}c`, n);
          inc(b.add, `${h}s`, value * n);
          b.max.set(`${h}m`, Math.max(b.max.get(`${h}m`) ?? 0, value));
        }
      }
    }
    const args: (string | number)[] = [pending.size];
    for (const b of pending.values()) {
      args.push(b.g, b.start, b.member, b.add.size);
      for (const [f, v] of b.add) args.push(f, String(v));
      args.push(b.max.size);
      for (const [f, v] of b.max) args.push(f, String(v));
    }
    await this.conn.run(RECORD_METRICS, args);
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.open();
    const byStart = new Map<number, MetricBucket>();
    for (const { start, bucket } of await this.read(query)) {
      const existing = byStart.get(start);
      if (existing === undefined) byStart.set(start, bucket);
      else addInto(existing, bucket);
    }
    return [...byStart.values()].sort((a, b) => a.start - b.start);
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.open();
    const { groupBy } = query;
    if (groupBy !== undefined && groupBy !== 'queue' && groupBy !== 'type') {
      throw validationError(`groupBy must be 'queue' or 'type'; got ${String(groupBy)}.`);
    }
    const totalsOf = (key: string | null): MetricsTotals => {
      const { start: _start, ...rest } = emptyBucket(0);
      return { key, ...rest };
    };
    const overall = totalsOf(null);
    const groups = new Map<string, MetricsTotals>();
    for (const { queue, type, bucket } of await this.read(query)) {
      if (groupBy === undefined) {
        addInto(overall, bucket);
        continue;
      }
      const key = groupBy === 'queue' ? queue : type;
      let row = groups.get(key);
      if (row === undefined) {
        row = totalsOf(key);
        groups.set(key, row);
      }
      addInto(row, bucket);
    }
    if (groupBy === undefined) return [overall];
    return [...groups.values()].sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1));
  }

  async prune(now: number): Promise<number> {
    this.open();
    if (!Number.isFinite(now)) throw validationError('prune needs `now`, a time in ms.');
    const args: string[] = [];
    for (const g of GRANULARITY_NAMES) args.push(g, String(now - GRANULARITIES[g].retentionMs));
    return Number(await this.conn.run(PRUNE_METRICS, args));
  }

  private open(): void {
    if (this.closed) throw closedError('Redis metrics adapter');
  }

  private async read(query: MetricsQuery) {
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
    const flat = (await this.conn.run(READ_METRICS, [
      query.granularity,
      String(from),
      String(query.to),
      query.queue ?? '',
      query.type ?? '',
    ])) as (string | string[])[];
    const out: { start: number; queue: string; type: string; bucket: MetricBucket }[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      const [start, queue, type] = (flat[i] as string).split(SEP) as [string, string, string];
      const s = Number(start);
      out.push({ start: s, queue, type, bucket: readBucket(s, flat[i + 1] as string[]) });
    }
    return out;
  }
}
