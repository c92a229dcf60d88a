import { describe, expect, it, vi } from 'vitest';
import {
  buildJob,
  computeBackoff,
  DEFAULT_BACKOFF,
  Flusher,
  MemoryMetricsAdapter,
  type MetricEvent,
} from '../../src/index';
import { MetricBatcher } from '../../src/runtime/recorder';
import { recordingLogger } from './helpers';

const job = buildJob({ queue: 'q', type: 't', payload: null }, 0);

describe('computeBackoff', () => {
  it('fixed waits delayMs every time', () => {
    const fixed = { type: 'fixed' as const, delayMs: 500, jitter: 0 };
    expect([1, 2, 5].map((a) => computeBackoff(fixed, a, null, job, undefined))).toEqual([500, 500, 500]);
  });

  it('exponential doubles from delayMs and stops at maxDelayMs', () => {
    const exp = { type: 'exponential' as const, delayMs: 100, maxDelayMs: 1000, jitter: 0 };
    expect([1, 2, 3, 4, 5, 60].map((a) => computeBackoff(exp, a, null, job, undefined))).toEqual([
      100, 200, 400, 800, 1000, 1000,
    ]);
  });

  it('jitter randomises only its fraction of the delay', () => {
    const exp = { type: 'exponential' as const, delayMs: 1000, jitter: 0.5 };
    expect(computeBackoff(exp, 1, null, job, undefined, () => 0)).toBe(500);
    expect(computeBackoff(exp, 1, null, job, undefined, () => 0.999_999)).toBe(1000);
    for (let i = 0; i < 100; i++) {
      const d = computeBackoff(exp, 2, null, job, undefined) as number;
      expect(d).toBeGreaterThanOrEqual(1000);
      expect(d).toBeLessThanOrEqual(2000);
    }
  });

  it('uses the default (exponential from 1 s, 20 % jitter) when the job has none', () => {
    expect(DEFAULT_BACKOFF).toMatchObject({ type: 'exponential', delayMs: 1000, jitter: 0.2 });
    expect(computeBackoff(null, 3, null, job, undefined, () => 0)).toBe(3200);
  });

  it('custom asks the strategy, which may stop retries with null', () => {
    const strategy = vi.fn((attempt: number) => (attempt > 2 ? null : attempt * 7.4));
    const custom = { type: 'custom' as const, delayMs: 0 };
    expect(computeBackoff(custom, 1, 'e', job, strategy)).toBe(7);
    expect(computeBackoff(custom, 3, 'e', job, strategy)).toBeNull();
    expect(strategy).toHaveBeenCalledWith(1, 'e', job);
  });
});

describe('Flusher', () => {
  it('writes when maxSize items accumulate', async () => {
    const batches: number[][] = [];
    const flusher = new Flusher<number>({
      name: 'n',
      write: async (items) => void batches.push(items),
      maxSize: 3,
      maxDelayMs: 60_000,
      logger: recordingLogger(),
    });
    for (let i = 0; i < 7; i++) flusher.push(i);
    await flusher.flush();
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    await flusher.close();
  });

  it('writes maxDelayMs after the first item, and on the next turn when maxDelayMs is 0', async () => {
    vi.useFakeTimers();
    try {
      const write = vi.fn(async (_items: string[]) => {});
      const timed = new Flusher<string>({ name: 's', write, maxSize: 100, maxDelayMs: 50, logger: recordingLogger() });
      timed.push('a');
      timed.push('b');
      await vi.advanceTimersByTimeAsync(49);
      expect(write).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(write).toHaveBeenCalledWith(['a', 'b']);
      const immediate = vi.fn(async (_items: string[]) => {});
      const next = new Flusher<string>({ name: 'i', write: immediate, logger: recordingLogger() });
      next.push('x');
      expect(immediate).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(0);
      expect(immediate).toHaveBeenCalledWith(['x']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('keeps a failed batch, retries it with backoff, and reports the error', async () => {
    vi.useFakeTimers();
    try {
      const logger = recordingLogger();
      const onError = vi.fn();
      const written: number[][] = [];
      let fail = true;
      const flusher = new Flusher<number>({
        name: 'records',
        write: async (items) => {
          if (fail) throw new Error('store down');
          written.push(items);
        },
        logger,
        onError,
      });
      flusher.push(1);
      await vi.advanceTimersByTimeAsync(0);
      expect(onError).toHaveBeenCalledTimes(1);
      expect(logger.messages('error')[0]).toMatch(/writing 1 records failed; will retry/);
      flusher.push(2);
      fail = false;
      await vi.advanceTimersByTimeAsync(100);
      expect(written).toEqual([[1, 2]]);
      await flusher.close();
    } finally {
      vi.useRealTimers();
    }
  });

  it('bounds what it keeps while the store fails, dropping the oldest, and drops the rest on close', async () => {
    const logger = recordingLogger();
    const flusher = new Flusher<number>({
      name: 'events',
      write: () => Promise.reject(new Error('down')),
      maxSize: 2,
      maxBuffered: 4,
      logger,
    });
    for (let i = 0; i < 10; i++) flusher.push(i);
    await flusher.flush();
    expect(flusher.size).toBeLessThanOrEqual(4);
    await flusher.close();
    expect(flusher.size).toBe(0);
    expect(logger.messages('error').some((m) => /dropped \d+ events on close/.test(m))).toBe(true);
  });
});

describe('MetricBatcher', () => {
  it('merges identical observations without changing any total, histogram or bucket', async () => {
    const merged = new MemoryMetricsAdapter();
    const direct = new MemoryMetricsAdapter();
    const written: MetricEvent[][] = [];
    const batcher = new MetricBatcher({
      name: 'metrics',
      write: async (items) => {
        written.push(items.map((e) => ({ ...e })));
        await merged.record(items);
      },
      maxSize: 10_000,
      logger: recordingLogger(),
    });
    const base = Date.UTC(2030, 0, 1, 0, 0, 58);
    const one: MetricEvent[] = [];
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    for (let i = 0; i < 2000; i++) {
      const at = base + Math.floor(random() * 4000); // spans two minutes
      const kind = (['started', 'completed', 'retried', 'enqueued'] as const)[i % 4] as MetricEvent['kind'];
      const value = Math.floor(random() * 5) * (random() < 0.01 ? 10_000_000 : 1) + (random() < 0.01 ? 0.5 : 0);
      const event: MetricEvent =
        kind === 'started'
          ? { kind, queue: 'q', type: i % 3 === 0 ? 'a' : 'b', at, waitMs: value }
          : kind === 'enqueued'
            ? { kind, queue: 'q', type: 'a', at }
            : { kind, queue: i % 5 === 0 ? 'r' : 'q', type: 'a', at, durationMs: value };
      one.push(event);
      batcher.observe(event.kind, event.queue, event.type, event.at, event.durationMs, event.waitMs);
    }
    await batcher.close();
    await direct.record(one);
    const storedEvents = written.flat().length;
    expect(storedEvents).toBeLessThan(one.length / 4);
    for (const granularity of ['minute', 'hour'] as const) {
      for (const groupBy of [undefined, 'queue', 'type'] as const) {
        const query = { granularity, from: base - 120_000, to: base + 120_000, ...(groupBy ? { groupBy } : {}) };
        expect(await merged.totals(query)).toEqual(await direct.totals(query));
      }
      const series = { granularity, from: base - 120_000, to: base + 120_000 };
      expect(await merged.series(series)).toEqual(await direct.series(series));
    }
  });
});

describe('payloadJson', () => {
  it('reuses the text the runtime remembered, only for that same payload', async () => {
    const { payloadJson, rememberPayloadJson } = await import('../../src/util/payload-json');
    const payload = { text: 'x'.repeat(100) };
    const job = { queue: 'q', type: 't', payload };
    expect(payloadJson(job)).toBe(JSON.stringify(payload));
    rememberPayloadJson(job, '{"remembered":true}');
    expect(payloadJson(job)).toBe('{"remembered":true}');
    // A copy that swaps the payload must not reuse the old text; one that keeps it may.
    expect(payloadJson({ ...job, payload: { other: 1 } })).toBe('{"other":1}');
    expect(payloadJson({ ...job, queue: 'elsewhere' })).toBe('{"remembered":true}');
    expect(JSON.stringify(job)).toBe(JSON.stringify({ queue: 'q', type: 't', payload }));
    expect(payloadJson({ queue: 'q', type: 't', payload: undefined })).toBe('null');
  });
});
