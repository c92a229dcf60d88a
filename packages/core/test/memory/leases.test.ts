import { describe, expect, it } from 'vitest';
import { isConveyorError, LeaseLostError } from '../../src/contracts/errors';
import { STALLED_ERROR } from '../../src/util/job-defaults';
import { backendWithClock, job } from './helpers';

const LEASE = 1_000;

describe('memory queue: leases and fencing tokens', () => {
  it('issues a strictly greater token on every claim of the same job', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    const { job: j } = await q.enqueue(job({ maxAttempts: 5 }));
    const tokens: number[] = [];
    for (let i = 0; i < 3; i++) {
      const [claimed] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
      expect(claimed?.id).toBe(j.id);
      expect(claimed?.attempt).toBe(i + 1);
      tokens.push(claimed?.token ?? -1);
      await q.release([{ jobId: j.id, token: claimed?.token ?? -1 }]);
    }
    expect(tokens[1]).toBeGreaterThan(tokens[0] as number);
    expect(tokens[2]).toBeGreaterThan(tokens[1] as number);
  });

  it('refuses every write with a stale token and changes nothing', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job());
    const [first] = await q.claim({ queues: ['q'], workerId: 'w1', limit: 1, leaseMs: LEASE });
    if (!first) throw new Error('no claim');
    clock.advance(LEASE + 1);
    await q.recoverStalled();
    const [second] = await q.claim({ queues: ['q'], workerId: 'w2', limit: 1, leaseMs: LEASE });
    if (!second) throw new Error('no second claim');
    const before = await q.getJob(first.id);

    const stale = { jobId: first.id, token: first.token };
    expect(await q.complete([{ ...stale, result: 'late' }])).toEqual([
      { jobId: first.id, ok: false, code: 'LEASE_LOST' },
    ]);
    expect(await q.fail([{ ...stale, error: { message: 'x', code: null, stack: null }, retryDelayMs: null }])).toEqual([
      { jobId: first.id, ok: false, code: 'LEASE_LOST' },
    ]);
    expect(await q.release([stale])).toEqual([{ jobId: first.id, ok: false, code: 'LEASE_LOST' }]);
    expect(await q.extendLeases([stale], LEASE)).toEqual([{ jobId: first.id, ok: false, leaseExpiresAt: null }]);
    await expect(q.updateProgress(stale, 50)).rejects.toBeInstanceOf(LeaseLostError);

    expect(await q.getJob(first.id)).toEqual(before);
    expect(before).toMatchObject({ state: 'active', workerId: 'w2', attempt: 2 });
    // The current holder still can write.
    const [ack] = await q.complete([{ jobId: second.id, token: second.token, result: 'ok' }]);
    expect(ack).toMatchObject({ ok: true, job: { state: 'completed', result: 'ok' } });
  });

  it('extends a held lease from store-now', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job());
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    if (!c) throw new Error('no claim');
    expect(c.leaseExpiresAt).toBe(clock() + LEASE);
    clock.advance(600);
    const [ext] = await q.extendLeases([{ jobId: c.id, token: c.token }], LEASE);
    expect(ext).toEqual({ jobId: c.id, ok: true, leaseExpiresAt: clock() + LEASE });
    clock.advance(600);
    expect(await q.recoverStalled()).toEqual([]);
    expect((await q.getJob(c.id))?.state).toBe('active');
  });

  it('recovers an expired lease to waiting while attempts remain, then to failed with STALLED', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    const { job: j } = await q.enqueue(job({ maxAttempts: 2, uniqueKey: 'k' }));
    const [c1] = await q.claim({ queues: ['q'], workerId: 'w1', limit: 1, leaseMs: LEASE });
    clock.advance(LEASE);
    // Expired means strictly before now.
    expect(await q.recoverStalled()).toEqual([]);
    clock.advance(1);
    const [r1] = await q.recoverStalled();
    expect(r1).toMatchObject({ workerId: 'w1', attempt: 1, startedAt: c1?.startedAt, job: { state: 'waiting' } });
    expect(r1?.job.lastError).toEqual(STALLED_ERROR);

    await q.claim({ queues: ['q'], workerId: 'w2', limit: 1, leaseMs: LEASE });
    clock.advance(LEASE + 1);
    const [r2] = await q.recoverStalled();
    expect(r2?.job).toMatchObject({ id: j.id, state: 'failed', attempt: 2, finishedAt: clock() });
    expect(r2?.job.lastError?.code).toBe('STALLED');
    // The unique key is free again once the job failed.
    expect((await q.enqueue(job({ uniqueKey: 'k' }))).deduplicated).toBe(false);
  });

  it('leaves a job completed between the lease expiry and the sweep untouched', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job());
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    if (!c) throw new Error('no claim');
    clock.advance(LEASE + 5);
    // The lease expired but nobody took it: the holder's ack still lands.
    const [ack] = await q.complete([{ jobId: c.id, token: c.token }]);
    expect(ack?.ok).toBe(true);
    expect(await q.recoverStalled()).toEqual([]);
    expect((await q.getJob(c.id))?.state).toBe('completed');
  });

  it('recovers at most `limit` jobs per sweep', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([job(), job(), job()]);
    await q.claim({ queues: ['q'], workerId: 'w', limit: 3, leaseMs: LEASE });
    clock.advance(LEASE + 1);
    expect(await q.recoverStalled({ limit: 2 })).toHaveLength(2);
    expect(await q.recoverStalled({ limit: 2 })).toHaveLength(1);
    expect((await q.counts('q')).q?.waiting).toBe(3);
  });

  it('cancelling an active job revokes its lease', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job());
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    if (!c) throw new Error('no claim');
    const cancelled = await q.cancel(c.id);
    expect(cancelled).toMatchObject({ state: 'cancelled', leaseExpiresAt: null });
    const [ext] = await q.extendLeases([{ jobId: c.id, token: c.token }], LEASE);
    expect(ext?.ok).toBe(false);
    const [ack] = await q.complete([{ jobId: c.id, token: c.token }]);
    expect(ack).toEqual({ jobId: c.id, ok: false, code: 'LEASE_LOST' });
    expect((await q.getJob(c.id))?.state).toBe('cancelled');
  });

  it('release puts the job back at once with its attempt still counted', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job());
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    if (!c) throw new Error('no claim');
    const [ack] = await q.release([{ jobId: c.id, token: c.token }]);
    expect(ack).toMatchObject({ ok: true, job: { state: 'waiting', attempt: 1, leaseExpiresAt: null } });
    const [again] = await q.claim({ queues: ['q'], workerId: 'w2', limit: 1, leaseMs: LEASE });
    expect(again).toMatchObject({ id: c.id, attempt: 2 });
  });

  it('fail with a delay goes to retrying and is claimable only once the delay has passed', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job());
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    if (!c) throw new Error('no claim');
    const error = { message: 'boom', code: 'E_BOOM', stack: 'at x' };
    const [ack] = await q.fail([{ jobId: c.id, token: c.token, error, retryDelayMs: 500 }]);
    expect(ack).toMatchObject({ ok: true, job: { state: 'retrying', runAt: clock() + 500, lastError: error } });
    expect(await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE })).toEqual([]);
    clock.advance(500);
    // Still `retrying` until claimed: becoming due is not a state change.
    expect((await q.counts('q')).q?.retrying).toBe(1);
    const [again] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    expect(again).toMatchObject({ id: c.id, attempt: 2 });
  });

  it('throws LeaseLostError from updateProgress for an unknown job and stores progress for a held one', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    const err = await q.updateProgress({ jobId: 'nope', token: 1 }, 1).catch((e: unknown) => e);
    expect(isConveyorError(err, 'LEASE_LOST')).toBe(true);
    await q.enqueue(job());
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    if (!c) throw new Error('no claim');
    await q.updateProgress({ jobId: c.id, token: c.token }, { step: 2 });
    expect((await q.getJob(c.id))?.progress).toEqual({ step: 2 });
  });
});
