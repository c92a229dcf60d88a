import { describe, expect, it, vi } from 'vitest';
import { isConveyorError } from '../../src/contracts/errors';
import type { ConveyorEvent } from '../../src/contracts/events';
import type { MetricEvent } from '../../src/contracts/metrics-adapter';
import { GRANULARITIES } from '../../src/contracts/metrics-adapter';
import { MemoryEventBus, MemoryMetricsAdapter } from '../../src/memory/index';
import { quantile } from '../../src/util/histogram';

const MIN = 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const T0 = Date.UTC(2030, 0, 1);

function ev(kind: MetricEvent['kind'], at: number, extra: Partial<MetricEvent> = {}): MetricEvent {
  return { kind, queue: 'q', type: 't', at, ...extra };
}

describe('memory metrics', () => {
  it('adds each event to its minute, hour and day bucket, aligned in UTC', async () => {
    const m = new MemoryMetricsAdapter();
    await m.record([ev('completed', T0 + 90_000, { durationMs: 40 }), ev('completed', T0 + 30_000, { durationMs: 4 })]);
    const minutes = await m.series({ granularity: 'minute', from: T0, to: T0 + HOUR });
    expect(minutes.map((b) => [b.start, b.completed])).toEqual([
      [T0, 1],
      [T0 + MIN, 1],
    ]);
    const [hour] = await m.series({ granularity: 'hour', from: T0 + 1, to: T0 + HOUR });
    // `from` is rounded down to the granularity.
    expect(hour).toMatchObject({ start: T0, completed: 2 });
    expect(hour?.duration).toMatchObject({ count: 2, sum: 44, max: 40 });
    const [day] = await m.series({ granularity: 'day', from: T0, to: T0 + DAY });
    expect(day?.completed).toBe(2);
    // `to` is exclusive.
    expect(await m.series({ granularity: 'minute', from: T0, to: T0 + MIN })).toHaveLength(1);
  });

  it('keeps wait and duration histograms that give quantiles, and honours count', async () => {
    const m = new MemoryMetricsAdapter();
    const durations = Array.from({ length: 100 }, (_, i) => ev('completed', T0, { durationMs: i + 1 }));
    await m.record([...durations, ev('started', T0, { waitMs: 250, count: 3 }), ev('enqueued', T0, { count: 7 })]);
    const [b] = await m.series({ granularity: 'minute', from: T0, to: T0 + MIN });
    expect(b).toMatchObject({ enqueued: 7, started: 3, completed: 100 });
    expect(b?.wait).toMatchObject({ count: 3, sum: 750, max: 250 });
    const p50 = quantile(b?.duration ?? { counts: [], count: 0, sum: 0, max: 0 }, 0.5) ?? 0;
    expect(p50).toBeGreaterThan(20);
    expect(p50).toBeLessThanOrEqual(100);
  });

  it('filters by queue and type and groups totals', async () => {
    const m = new MemoryMetricsAdapter();
    await m.record([
      ev('completed', T0, { queue: 'a', type: 'x' }),
      ev('completed', T0, { queue: 'a', type: 'y' }),
      ev('failed', T0 + MIN, { queue: 'b', type: 'x' }),
      ev('failed', T0 + 2 * HOUR, { queue: 'b', type: 'x' }),
    ]);
    const q = { granularity: 'minute' as const, from: T0, to: T0 + HOUR };
    expect((await m.series({ ...q, queue: 'a' })).map((b) => b.completed)).toEqual([2]);
    expect((await m.series({ ...q, type: 'x' })).map((b) => [b.completed, b.failed])).toEqual([
      [1, 0],
      [0, 1],
    ]);
    const [overall] = await m.totals(q);
    expect(overall).toMatchObject({ key: null, completed: 2, failed: 1 });
    const byQueue = await m.totals({ ...q, groupBy: 'queue' });
    expect(byQueue.map((r) => [r.key, r.completed, r.failed])).toEqual([
      ['a', 2, 0],
      ['b', 0, 1],
    ]);
    const byType = await m.totals({ ...q, groupBy: 'type', queue: 'a' });
    expect(byType.map((r) => r.key)).toEqual(['x', 'y']);
    expect(await m.totals({ ...q, from: T0 + 5 * HOUR, to: T0 + 6 * HOUR })).toMatchObject([
      { key: null, completed: 0 },
    ]);
  });

  it('prunes each granularity at its own retention', async () => {
    const m = new MemoryMetricsAdapter();
    await m.record([ev('enqueued', T0)]);
    const now = T0 + GRANULARITIES.minute.retentionMs + 1;
    expect(await m.prune(now)).toBe(1);
    expect(await m.series({ granularity: 'minute', from: T0, to: now })).toEqual([]);
    expect(await m.series({ granularity: 'hour', from: T0, to: now })).toHaveLength(1);
    expect(await m.prune(T0 + GRANULARITIES.hour.retentionMs + 1)).toBe(1);
    expect(await m.series({ granularity: 'day', from: T0, to: now })).toHaveLength(1);
    expect(await m.prune(T0 + GRANULARITIES.day.retentionMs + 1)).toBe(1);
    expect(await m.prune(T0 + 10 * GRANULARITIES.day.retentionMs)).toBe(0);
  });

  it('refuses a batch with an unknown kind, recording nothing', async () => {
    const m = new MemoryMetricsAdapter();
    const bad = { ...ev('completed', T0), kind: 'exploded' } as unknown as MetricEvent;
    const err = await m.record([ev('completed', T0), bad]).catch((e: unknown) => e);
    expect(isConveyorError(err, 'VALIDATION_FAILED')).toBe(true);
    expect(await m.series({ granularity: 'minute', from: T0, to: T0 + MIN })).toEqual([]);
  });
});

function event(id: string): ConveyorEvent {
  return { id, type: 'job.enqueued', timestamp: new Date(T0).toISOString(), queue: 'q', jobId: id, data: {} };
}

describe('memory event bus', () => {
  it('delivers to every subscriber in publish order and keeps no backlog', async () => {
    const bus = new MemoryEventBus();
    await bus.publish([event('before')]);
    const a: string[] = [];
    const b: string[] = [];
    const offA = bus.subscribe((e) => a.push(e.id));
    bus.subscribe((e) => b.push(e.id));
    expect(bus.listenerCount()).toBe(2);
    await bus.publish([event('1'), event('2')]);
    offA();
    offA();
    await bus.publish([event('3')]);
    expect(a).toEqual(['1', '2']);
    expect(b).toEqual(['1', '2', '3']);
    expect(bus.listenerCount()).toBe(1);
  });

  it('a throwing listener is logged and does not stop the others', async () => {
    const logger = { debug: vi.fn(), info: vi.fn(), warn: vi.fn(), error: vi.fn() };
    const bus = new MemoryEventBus({ logger });
    const got: string[] = [];
    bus.subscribe(() => {
      throw new Error('bad listener');
    });
    bus.subscribe((e) => got.push(e.id));
    await bus.publish([event('x')]);
    expect(got).toEqual(['x']);
    expect(logger.error).toHaveBeenCalledOnce();
  });

  it('close drops every listener and later publishes reject', async () => {
    const bus = new MemoryEventBus();
    bus.subscribe(() => {});
    await bus.close();
    expect(bus.listenerCount()).toBe(0);
    const err = await bus.publish([event('x')]).catch((e: unknown) => e);
    expect(isConveyorError(err, 'ADAPTER_CLOSED')).toBe(true);
  });
});
