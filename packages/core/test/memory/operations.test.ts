import { describe, expect, it } from 'vitest';
import { isConveyorError } from '../../src/contracts/errors';
import type { JobState } from '../../src/contracts/job';
import type { MemoryQueueAdapter } from '../../src/memory/index';
import { backendWithClock, job } from './helpers';

const LEASE = 1_000;
const error = { message: 'boom', code: null, stack: null };

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  );
  return isConveyorError(e) ? e.code : undefined;
}

/** Claim the next job and finish it one way or another. */
async function finish(q: MemoryQueueAdapter, how: 'complete' | 'fail'): Promise<string> {
  const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
  if (!c) throw new Error('nothing to claim');
  if (how === 'complete') await q.complete([{ jobId: c.id, token: c.token, result: c.payload }]);
  else await q.fail([{ jobId: c.id, token: c.token, error, retryDelayMs: null }]);
  return c.id;
}

describe('memory queue: retention', () => {
  it('removeOnComplete: true drops the job at once and complete says so with job: null', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    const { job: j } = await q.enqueue(job({ removeOnComplete: true }));
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    const [ack] = await q.complete([{ jobId: j.id, token: c?.token ?? 0 }]);
    expect(ack).toEqual({ jobId: j.id, ok: true, job: null });
    expect(await q.getJob(j.id)).toBeNull();
    expect((await q.counts('q')).q?.completed).toBe(0);
    // The id is free again once dropped.
    expect((await q.enqueue(job({ id: j.id }))).deduplicated).toBe(false);
  });

  it('a count keeps the most recently finished jobs of the queue', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany(Array.from({ length: 5 }, (_, i) => job({ id: `j${i}`, removeOnComplete: 2 })));
    for (let i = 0; i < 5; i++) {
      clock.advance(1);
      await finish(q, 'complete');
    }
    const page = await q.listJobs({ queue: 'q', state: 'completed', limit: 10 });
    expect(page.items.map((j) => j.id).sort()).toEqual(['j3', 'j4']);
    expect((await q.counts('q')).q?.completed).toBe(2);
  });

  it('an age drops jobs finished longer ago than ageMs', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([
      job({ id: 'old', removeOnFail: { ageMs: 1_000 } }),
      job({ id: 'new', removeOnFail: { ageMs: 1_000 } }),
    ]);
    await finish(q, 'fail');
    clock.advance(1_001);
    await finish(q, 'fail');
    expect(await q.getJob('old')).toBeNull();
    expect((await q.getJob('new'))?.state).toBe('failed');
  });

  it('removeOnFail does not touch completed jobs and the other way round', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([job({ id: 'ok' }), job({ id: 'bad', removeOnFail: true })]);
    await finish(q, 'complete');
    await finish(q, 'fail');
    expect((await q.getJob('ok'))?.state).toBe('completed');
    expect(await q.getJob('bad')).toBeNull();
  });
});

describe('memory queue: operator actions', () => {
  it('retry moves failed or cancelled jobs back to waiting with room for one more attempt', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job({ id: 'a', maxAttempts: 1 }));
    await finish(q, 'fail');
    const retried = await q.retry('a');
    expect(retried).toMatchObject({ state: 'waiting', attempt: 1, maxAttempts: 2, finishedAt: null });
    expect(await codeOf(q.retry('a'))).toBe('INVALID_STATE');
    expect(await codeOf(q.retry('missing'))).toBe('NOT_FOUND');
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    expect(c?.attempt).toBe(2);
  });

  it('retryFailed moves at most `limit` failed jobs of one queue', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([job(), job(), job()]);
    for (let i = 0; i < 3; i++) await finish(q, 'fail');
    expect(await q.retryFailed('q', 2)).toBe(2);
    expect((await q.counts('q')).q).toMatchObject({ failed: 1, waiting: 2 });
    expect(await q.retryFailed('unknown', 10)).toBe(0);
  });

  it('promote makes scheduled or retrying jobs ready now and refuses others', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job({ id: 's', delayMs: 60_000 }));
    expect(await q.promote('s')).toMatchObject({ state: 'waiting', runAt: clock() });
    expect(await codeOf(q.promote('s'))).toBe('INVALID_STATE');
    const [c] = await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    expect(c?.id).toBe('s');
  });

  it('cancel refuses finished jobs; remove refuses active jobs; both 404 unknown ids', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueue(job({ id: 'a' }));
    await q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE });
    expect(await codeOf(q.remove('a'))).toBe('INVALID_STATE');
    await q.cancel('a');
    expect(await codeOf(q.cancel('a'))).toBe('INVALID_STATE');
    await q.remove('a');
    expect(await q.getJob('a')).toBeNull();
    expect(await codeOf(q.remove('a'))).toBe('NOT_FOUND');
    expect(await codeOf(q.cancel('a'))).toBe('NOT_FOUND');
    expect(await codeOf(q.promote('a'))).toBe('NOT_FOUND');
  });

  it('a cancelled or removed scheduled job never becomes claimable', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([job({ id: 'c', delayMs: 10 }), job({ id: 'r', delayMs: 10 })]);
    await q.cancel('c');
    await q.remove('r');
    clock.advance(10);
    expect(await q.claim({ queues: ['q'], workerId: 'w', limit: 10, leaseMs: LEASE })).toEqual([]);
  });

  it('clean removes finished jobs of one state older than olderThanMs, up to limit', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([job({ id: 'a' }), job({ id: 'b' }), job({ id: 'c' }), job({ id: 'd' })]);
    await finish(q, 'complete');
    await finish(q, 'complete');
    clock.advance(5_000);
    await finish(q, 'complete');
    await finish(q, 'fail');
    expect(await q.clean({ queue: 'q', state: 'completed', olderThanMs: 4_000, limit: 1 })).toBe(1);
    expect(await q.clean({ queue: 'q', state: 'completed', olderThanMs: 4_000 })).toBe(1);
    expect((await q.counts('q')).q).toMatchObject({ completed: 1, failed: 1 });
    expect(await q.clean({ queue: 'q', state: 'failed' })).toBe(1);
    expect(await codeOf(q.clean({ queue: 'q', state: 'active' as 'failed' }))).toBe('VALIDATION_FAILED');
  });
});

describe('memory queue: reads', () => {
  it('counts by state from counters and lists known queues with the oldest waiting runAt', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    const t = clock();
    await q.enqueueMany([
      job({ queue: 'a', runAt: t - 30 }),
      job({ queue: 'a', runAt: t - 10 }),
      job({ queue: 'a', delayMs: 5 }),
    ]);
    await q.pause('b');
    const queues = await q.listQueues();
    expect(queues.map((x) => x.name)).toEqual(['a', 'b']);
    expect(queues[0]).toMatchObject({ paused: false, oldestWaitingAt: t - 30 });
    expect(queues[0]?.counts).toEqual({
      waiting: 2,
      scheduled: 1,
      retrying: 0,
      active: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
    expect(queues[1]).toMatchObject({ paused: true, oldestWaitingAt: null });
    await q.claim({ queues: ['a'], workerId: 'w', limit: 1, leaseMs: LEASE });
    expect((await q.listQueues())[0]?.oldestWaitingAt).toBe(t - 10);
    await q.claim({ queues: ['a'], workerId: 'w', limit: 1, leaseMs: LEASE });
    expect((await q.listQueues())[0]?.oldestWaitingAt).toBeNull();
    expect(Object.keys(await q.counts())).toEqual(['a', 'b']);
    expect((await q.counts('nope')).nope?.waiting).toBe(0);
  });

  it('pages newest first by (createdAt, id) with a cursor, across states, without gaps or repeats', async () => {
    const { backend, clock } = backendWithClock();
    const q = backend.queue;
    const ids: string[] = [];
    for (let i = 0; i < 25; i++) {
      // Several jobs per millisecond: the id breaks the tie.
      if (i % 3 === 0) clock.advance(1);
      const id = `job-${String(i).padStart(2, '0')}`;
      ids.push(id);
      await q.enqueue(job({ id, type: i % 2 === 0 ? 'even' : 'odd' }));
    }
    await q.claim({ queues: ['q'], workerId: 'w', limit: 5, leaseMs: LEASE });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await q.listJobs({ queue: 'q', limit: 4, cursor });
      seen.push(...page.items.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());

    const active = await q.listJobs({ state: 'active', limit: 100 });
    expect(active.items.map((j) => j.id)).toEqual(['job-04', 'job-03', 'job-02', 'job-01', 'job-00']);
    expect(active.nextCursor).toBeNull();
    const odd = await q.listJobs({ type: 'odd', state: 'waiting', limit: 100 });
    expect(odd.items.every((j) => j.type === 'odd' && j.state === 'waiting')).toBe(true);
    expect(odd.items).toHaveLength(10);
  });

  it('gives a null cursor when the last page is exactly full', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([job(), job()]);
    expect((await q.listJobs({ limit: 2 })).nextCursor).toBeNull();
    expect((await q.listJobs({ limit: 1 })).nextCursor).not.toBeNull();
  });

  it('searches id, type and payload text, case-insensitively', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.enqueueMany([
      job({ id: 'order-1', type: 'email', payload: { to: 'Ada@example.com' } }),
      job({ id: 'order-2', type: 'sms', payload: { to: '+100' } }),
    ]);
    const find = async (search: string) => (await q.listJobs({ search, limit: 10 })).items.map((j) => j.id).sort();
    expect(await find('ada@')).toEqual(['order-1']);
    expect(await find('SMS')).toEqual(['order-2']);
    expect(await find('order')).toEqual(['order-1', 'order-2']);
    expect(await find('nothing')).toEqual([]);
  });

  it('rejects a malformed cursor, a bad limit and an unknown state with VALIDATION_FAILED', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    expect(await codeOf(q.listJobs({ limit: 10, cursor: 'garbage' }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(q.listJobs({ limit: 0 }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(q.listJobs({ limit: 1001 }))).toBe('VALIDATION_FAILED');
    expect(await codeOf(q.listJobs({ limit: 10, state: 'done' as JobState }))).toBe('VALIDATION_FAILED');
  });
});

describe('memory queue: schedules', () => {
  const schedule = { name: 'nightly', cron: '0 3 * * *', timezone: 'UTC', job: job(), nextRunAt: 100, paused: false };

  it('fires each tick exactly once, even when several schedulers race', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.upsertSchedule(schedule);
    const results = await Promise.all(Array.from({ length: 5 }, () => q.fireSchedule('nightly', 1_000, 2_000, job())));
    expect(results.filter((r) => r !== null)).toHaveLength(1);
    expect(await q.fireSchedule('nightly', 1_000, 2_000, job())).toBeNull();
    expect(await q.fireSchedule('nightly', 999, 2_000, job())).toBeNull();
    expect(await q.fireSchedule('nightly', 2_000, 3_000, job())).not.toBeNull();
    expect((await q.counts('q')).q?.waiting).toBe(2);
    const [stored] = await q.listSchedules();
    expect(stored).toMatchObject({ lastFiredAt: 2_000, nextRunAt: 3_000 });
  });

  it('keeps lastFiredAt when a schedule is replaced, and removes by name', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.upsertSchedule(schedule);
    await q.fireSchedule('nightly', 1_000, 2_000, job());
    const replaced = await q.upsertSchedule({ ...schedule, cron: '0 4 * * *' });
    expect(replaced).toMatchObject({ cron: '0 4 * * *', lastFiredAt: 1_000 });
    expect(await q.removeSchedule('nightly')).toBe(true);
    expect(await q.removeSchedule('nightly')).toBe(false);
    expect(await codeOf(q.fireSchedule('nightly', 5_000, null, job()))).toBe('NOT_FOUND');
  });
});

describe('memory queue: close', () => {
  it('rejects every call after close with ADAPTER_CLOSED, and close is idempotent', async () => {
    const { backend } = backendWithClock();
    const q = backend.queue;
    await q.init();
    await q.close();
    await q.close();
    expect(await codeOf(q.enqueue(job()))).toBe('ADAPTER_CLOSED');
    expect(await codeOf(q.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: LEASE }))).toBe('ADAPTER_CLOSED');
    expect(await codeOf(q.getJob('x'))).toBe('ADAPTER_CLOSED');
    expect(await codeOf(q.now())).toBe('ADAPTER_CLOSED');
    expect(await codeOf(q.init())).toBe('ADAPTER_CLOSED');
  });
});
