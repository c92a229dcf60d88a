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
import { emptyBucket, GRANULARITIES, METRIC_KINDS } from '@conveyor/core';
import { RedisConnection } from './connection';
import { PRUNE_METRICS, READ_METRICS, RECORD_METRICS } from './lua/metrics';
import type { RedisBackendOptions } from './options';
import { closedError, REDIS_CAPABILITIES, validationError } from './options';

const GRANULARITY_NAMES = Object.keys(GRANULARITIES) as Granularity[];
const KIND_SET: ReadonlySet<string> = new Set(METRIC_KINDS);
/** Metric events per script call (a call's arguments are spread, so one huge batch would overflow the stack). */
const RECORD_CHUNK = 1000;

/**
 * A metric event as the metrics scripts' arguments (METRIC_ARITY of them): kind, queue, type, at, count, the
 * histogram it feeds ('d' duration for completed/failed, 'w' wait for started, else '') and its value.
 */
export function pushMetricArgs(args: (string | number)[], e: MetricEvent): void {
  let h = '';
  let value = 0;
  if (e.durationMs !== undefined && (e.kind === 'completed' || e.kind === 'failed')) {
    h = 'd';
    value = e.durationMs;
  } else if (e.waitMs !== undefined && e.kind === 'started') {
    h = 'w';
    value = e.waitMs;
  }
  args.push(e.kind, e.queue, e.type, e.at, e.count ?? 1, h, value);
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

/**
 * {@link MetricsAdapter} on Redis: one small hash per (granularity, bucket start, queue, type) holding the six
 * counters and the two fixed-bound histograms (slot counts, count, sum, max), kept a second time per queue, per
 * type and overall (roll-ups written in the same script), each kind indexed by start in a sorted set. A `record`
 * batch is summed per bucket inside one script; a query sums the buckets in range of the one roll-up that answers
 * it inside Redis and gets back one hash per bucket (series) or per group (totals), so its cost does not grow with
 * the number of (queue, type) pairs (except for queue + type filters, which read those pairs' own buckets).
 * `prune` drops buckets past their granularity's retention.
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
    // Chunked: a script call's arguments are spread into one call, which a huge batch would overflow.
    for (let from = 0; from < events.length; from += RECORD_CHUNK) {
      const args: (string | number)[] = [];
      const end = Math.min(events.length, from + RECORD_CHUNK);
      for (let i = from; i < end; i++) pushMetricArgs(args, events[i] as MetricEvent);
      await this.conn.run(RECORD_METRICS, args);
    }
  }

  async series(query: MetricsQuery): Promise<MetricBucket[]> {
    this.open();
    const rows = await this.read(query, 's', '');
    return rows.map(([start, flat]) => readBucket(Number(start), flat)).sort((a, b) => a.start - b.start);
  }

  async totals(query: MetricsQuery & { groupBy?: 'queue' | 'type' }): Promise<MetricsTotals[]> {
    this.open();
    const { groupBy } = query;
    if (groupBy !== undefined && groupBy !== 'queue' && groupBy !== 'type') {
      throw validationError(`groupBy must be 'queue' or 'type'; got ${String(groupBy)}.`);
    }
    const rows = await this.read(query, 't', groupBy ?? '');
    const totalsOf = (key: string | null, flat: string[]): MetricsTotals => {
      const { start: _start, ...rest } = readBucket(0, flat);
      return { key, ...rest };
    };
    if (groupBy === undefined) return [totalsOf(null, rows[0]?.[1] ?? [])];
    return rows
      .map(([key, flat]) => totalsOf(key, flat))
      .sort((a, b) => ((a.key as string) < (b.key as string) ? -1 : 1));
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

  /** Rows of [group, summed bucket hash] from the read script (see READ_METRICS). */
  private async read(query: MetricsQuery, mode: 's' | 't', groupBy: string): Promise<[string, string[]][]> {
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
      mode,
      groupBy,
    ])) as (string | string[])[];
    const out: [string, string[]][] = [];
    for (let i = 0; i < flat.length; i += 2) out.push([flat[i] as string, flat[i + 1] as string[]]);
    return out;
  }
}
