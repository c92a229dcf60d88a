import { describe, expect, it } from 'vitest';
import { isConveyorError } from '../../src/contracts/errors';
import type { NewJob } from '../../src/contracts/job';
import { backendWithClock, job } from './helpers';

const claimAll = { workerId: 'w', limit: 100, leaseMs: 1_000 };

describe('memory queue: enqueue', () => {
  it('deduplicates by id whatever the existing job state is', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    const first = await q.enqueue(job({ id: 'a', payload: 1 }));
    expect(first.deduplicated).toBe(false);
    const [c] = await q.claim({ queues: ['q'], ...claimAll });
    await q.complete([{ jobId: 'a', token: c?.token ?? 0 }]);
    const again = await q.enqueue(job({ id: 'a', payload: 2 }));
    expect(again).toMatchObject({ deduplicated: true, job: { id: 'a', payload: 1, state: 'completed' } });
  });

  it('holds a unique key while the job is waiting, scheduled, retrying or active, then frees it', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    const { job: holder } = await q.enqueue(job({ uniqueKey: 'u', delayMs: 100 }));
    expect(holder.state).toBe('scheduled');
    expect(await q.enqueue(job({ uniqueKey: 'u' }))).toMatchObject({ deduplicated: true, job: { id: holder.id } });
    clock.advance(100);
    const [c] = await q.claim({ queues: ['q'], ...claimAll });
    expect((await q.enqueue(job({ uniqueKey: 'u' }))).job.id).toBe(holder.id);
    const error = { message: 'x', code: null, stack: null };
    const [f] = await q.fail([{ jobId: holder.id, token: c?.token ?? 0, error, retryDelayMs: 10 }]);
    expect(f?.ok && f.job?.state).toBe('retrying');
    expect((await q.enqueue(job({ uniqueKey: 'u' }))).deduplicated).toBe(true);
    // A key is scoped to its queue.
    expect((await q.enqueue(job({ queue: 'other', uniqueKey: 'u' }))).deduplicated).toBe(false);
    await q.cancel(holder.id);
    const fresh = await q.enqueue(job({ uniqueKey: 'u' }));
    expect(fresh.deduplicated).toBe(false);
    expect(fresh.job.id).not.toBe(holder.id);
    // Retrying the cancelled holder now would take a key another pending job holds: refused, nothing changed.
    const err = await q.retry(holder.id).catch((e: unknown) => e);
    expect(isConveyorError(err, 'INVALID_STATE')).toBe(true);
    expect((await q.getJob(holder.id))?.state).toBe('cancelled');
  });

  it('enqueueMany is all or nothing: one invalid job stores none', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    const bad = { queue: 'q', type: '', payload: null } as NewJob;
    const err = await q.enqueueMany([job({ id: 'x1' }), bad]).catch((e: unknown) => e);
    expect(isConveyorError(err, 'VALIDATION_FAILED')).toBe(true);
    expect((err as Error).message).toMatch(/^\[conveyor\] \[memory\] job #1: type/);
    expect(await q.getJob('x1')).toBeNull();
    expect(await q.counts()).toEqual({});
  });

  it('enqueueMany returns results in input order and deduplicates within the batch', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    const results = await q.enqueueMany([
      job({ id: 'a' }),
      job({ uniqueKey: 'k', payload: 'first' }),
      job({ id: 'a' }),
      job({ uniqueKey: 'k', payload: 'second' }),
    ]);
    expect(results.map((r) => r.deduplicated)).toEqual([false, false, true, true]);
    expect(results[3]?.job.payload).toBe('first');
    expect((await q.counts('q')).q?.waiting).toBe(2);
  });

  it('applies defaults and decides scheduled vs waiting from the store clock', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    const { job: now } = await q.enqueue(job());
    expect(now).toMatchObject({ state: 'waiting', priority: 0, attempt: 0, maxAttempts: 3, createdAt: clock() });
    const { job: later } = await q.enqueue(job({ runAt: clock() + 1 }));
    expect(later.state).toBe('scheduled');
    const { job: past } = await q.enqueue(job({ runAt: clock() - 1_000 }));
    expect(past).toMatchObject({ state: 'waiting', runAt: clock() - 1_000 });
  });

  it('returns copies: mutating a returned job or the input changes nothing stored', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    const input = job({ id: 'm', meta: { tag: 'a' } });
    const { job: j } = await q.enqueue(input);
    j.state = 'failed';
    (j.meta as Record<string, unknown>).tag = 'changed';
    (input.meta as Record<string, unknown>).tag = 'changed too';
    expect(await q.getJob('m')).toMatchObject({ state: 'waiting', meta: { tag: 'a' } });
  });
});

describe('memory queue: claim', () => {
  it('claims by priority, then runAt, then insertion order, across queues', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    const t = clock();
    await q.enqueueMany([
      job({ id: 'low-late', runAt: t - 1 }),
      job({ id: 'low-early', runAt: t - 5 }),
      job({ id: 'high', priority: 10, queue: 'b' }),
      job({ id: 'low-early-2', runAt: t - 5 }),
      job({ id: 'mid', priority: 5 }),
    ]);
    const claimed = await q.claim({ queues: ['q', 'b'], ...claimAll });
    expect(claimed.map((c) => c.id)).toEqual(['high', 'mid', 'low-early', 'low-early-2', 'low-late']);
  });

  it('claims scheduled jobs once due, ordered with waiting ones by runAt', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job({ id: 'delayed', delayMs: 50 }));
    clock.advance(10);
    await q.enqueue(job({ id: 'plain' }));
    expect((await q.claim({ queues: ['q'], ...claimAll, limit: 1 })).map((c) => c.id)).toEqual(['plain']);
    expect(await q.claim({ queues: ['q'], ...claimAll })).toEqual([]);
    clock.advance(40);
    const [c] = await q.claim({ queues: ['q'], ...claimAll });
    expect(c).toMatchObject({ id: 'delayed', state: 'active', attempt: 1, workerId: 'w' });
  });

  it('filters by type without losing the other types', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([job({ id: 'a', type: 'x' }), job({ id: 'b', type: 'y' }), job({ id: 'c', type: 'x' })]);
    const xs = await q.claim({ queues: ['q'], ...claimAll, types: ['x'] });
    expect(xs.map((c) => c.id)).toEqual(['a', 'c']);
    expect((await q.claim({ queues: ['q'], ...claimAll })).map((c) => c.id)).toEqual(['b']);
  });

  it('respects limit and never hands out a job twice', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany(Array.from({ length: 50 }, (_, i) => job({ id: `j${i}` })));
    const batches = await Promise.all(
      Array.from({ length: 8 }, (_, i) => q.claim({ queues: ['q'], workerId: `w${i}`, limit: 7, leaseMs: 1_000 })),
    );
    const ids = batches.flat().map((c) => c.id);
    expect(batches.every((b) => b.length <= 7)).toBe(true);
    expect(ids).toHaveLength(50);
    expect(new Set(ids).size).toBe(50);
  });

  it('skips paused queues; enqueue still works while paused', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.pause('q');
    expect(await q.isPaused('q')).toBe(true);
    await q.enqueue(job());
    expect(await q.claim({ queues: ['q'], ...claimAll })).toEqual([]);
    await q.resume('q');
    expect(await q.isPaused('q')).toBe(false);
    expect(await q.claim({ queues: ['q'], ...claimAll })).toHaveLength(1);
  });
});
