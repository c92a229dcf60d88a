import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ConveyorError, isConveyorError, jobOptionsSchema, Queue } from '../../src/index';
import { collectEvents, memoryBackend } from './helpers';

type Jobs = { email: { to: string }; report: { id: number } };

const queues: Queue<Jobs>[] = [];
function makeQueue(backend = memoryBackend(), options: Partial<ConstructorParameters<typeof Queue>[1]> = {}) {
  const queue = new Queue<Jobs>('mail', { backend, ...options });
  queues.push(queue);
  return { queue, backend };
}

afterEach(async () => {
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

async function rejection(promise: Promise<unknown>): Promise<ConveyorError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConveyorError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

describe('Queue.enqueue', () => {
  it('stores a waiting job, says it is new, and publishes job.enqueued and an enqueued metric', async () => {
    const { queue, backend } = makeQueue();
    const events = collectEvents(backend);
    const { job, deduplicated } = await queue.enqueue('email', { to: 'ada@example.com' });
    expect(deduplicated).toBe(false);
    expect(job).toMatchObject({ queue: 'mail', type: 'email', state: 'waiting', payload: { to: 'ada@example.com' } });
    await queue.close();
    const enqueued = events.filter((e) => e.type === 'job.enqueued');
    expect(enqueued).toHaveLength(1);
    expect(enqueued[0]).toMatchObject({ queue: 'mail', jobId: job.id, data: { type: 'email', state: 'waiting' } });
    expect(enqueued[0]?.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const [totals] = await backend.metrics.totals({ granularity: 'minute', from: 0, to: Date.now() + 60_000 });
    expect(totals?.enqueued).toBe(1);
  });

  it('refuses a bad option with VALIDATION_FAILED naming the option, with the zod issues in details', async () => {
    const { queue } = makeQueue();
    const error = await rejection(queue.enqueue('email', { to: 'x' }, { priority: 1.5 }));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(
      /^\[conveyor\] \[queue\] invalid job options: options\.priority: must be a whole number/,
    );
    expect(Array.isArray(error.details)).toBe(true);
    expect((error.details as { path: unknown[] }[])[0]?.path).toEqual(['priority']);
  });

  it.each([
    [{ delay: 10 }, /Unrecognized key.*delay/],
    [{ maxAttempts: 0 }, /options\.maxAttempts: must be at least 1/],
    [{ runAt: 'tomorrow' }, /options\.runAt: must be a Date, epoch milliseconds, or an ISO-8601/],
    [{ runAt: new Date('nope') }, /options\.runAt/],
    [
      { backoff: { type: 'linear', delayMs: 10 } },
      /options\.backoff\.type: must be "fixed", "exponential" or "custom"/,
    ],
    [{ backoff: { type: 'fixed', delayMs: 10, jitter: 2 } }, /options\.backoff\.jitter: must be between 0 and 1/],
    [{ timeoutMs: -1 }, /options\.timeoutMs: must be at least 1/],
    [{ uniqueKey: '' }, /options\.uniqueKey: must not be empty/],
    [{ removeOnComplete: 'yes' }, /options\.removeOnComplete: must be true, false, a count/],
  ])('refuses %j', async (options, message) => {
    const { queue, backend } = makeQueue();
    const error = await rejection(queue.enqueue('email', { to: 'x' }, options as never));
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(message);
    expect(error.message).toMatch(/Fix the listed field/);
    expect((await backend.queue.counts('mail'))['mail']?.waiting ?? 0).toBe(0);
  });

  it('refuses an empty job type and a payload that is not JSON', async () => {
    const { queue } = makeQueue();
    const badType = await rejection(queue.enqueue('' as 'email', { to: 'x' }));
    expect(badType.code).toBe('VALIDATION_FAILED');
    expect(badType.message).toMatch(/type: must not be empty/);
    const circular: Record<string, unknown> = {};
    circular['self'] = circular;
    const badPayload = await rejection(queue.enqueue('email', circular as never));
    expect(badPayload.code).toBe('VALIDATION_FAILED');
    expect(badPayload.message).toMatch(/payload cannot be stored as JSON/);
    const bigint = await rejection(queue.enqueue('email', { to: 1n } as never));
    expect(bigint.code).toBe('VALIDATION_FAILED');
  });

  it('refuses a payload over maxPayloadBytes with PAYLOAD_TOO_LARGE, counting UTF-8 bytes', async () => {
    const { queue } = makeQueue(memoryBackend(), { maxPayloadBytes: 100 });
    // 40 three-byte characters: 40 UTF-16 units but 120 bytes of UTF-8.
    const error = await rejection(queue.enqueue('email', { to: '€'.repeat(40) }));
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(error.message).toMatch(/payload is 1\d\d bytes as JSON, over this queue's maxPayloadBytes of 100/);
    expect(error.details).toMatchObject({ maxPayloadBytes: 100 });
    await expect(queue.enqueue('email', { to: 'a'.repeat(80) })).resolves.toMatchObject({ deduplicated: false });
  });

  it('defaults maxPayloadBytes to 1 MiB', async () => {
    const { queue } = makeQueue();
    await expect(queue.enqueue('email', { to: 'a'.repeat(1_000_000) })).resolves.toBeDefined();
    const error = await rejection(queue.enqueue('email', { to: 'a'.repeat(1_048_577) }));
    expect(error.code).toBe('PAYLOAD_TOO_LARGE');
  });

  it('schedules delayed jobs from delayMs, a Date, epoch ms or an ISO string', async () => {
    const { queue } = makeQueue();
    const inAMinute = Date.now() + 60_000;
    const delayed = await queue.enqueue('email', { to: 'a' }, { delayMs: 60_000 });
    expect(delayed.job.state).toBe('scheduled');
    expect(delayed.job.runAt).toBeGreaterThanOrEqual(inAMinute - 1000);
    for (const runAt of [new Date(inAMinute), inAMinute, new Date(inAMinute).toISOString()]) {
      const { job } = await queue.enqueue('email', { to: 'b' }, { runAt });
      expect(job.state).toBe('scheduled');
      expect(job.runAt).toBe(inAMinute);
    }
    const past = await queue.enqueue('email', { to: 'c' }, { runAt: new Date(Date.now() - 1000) });
    expect(past.job.state).toBe('waiting');
  });

  it('deduplicates by uniqueKey while the first job is pending, and by jobId', async () => {
    const { queue } = makeQueue();
    const first = await queue.enqueue('email', { to: 'a' }, { uniqueKey: 'user-1' });
    const second = await queue.enqueue('email', { to: 'b' }, { uniqueKey: 'user-1' });
    expect(second.deduplicated).toBe(true);
    expect(second.job.id).toBe(first.job.id);
    const byId = await queue.enqueue('email', { to: 'a' }, { jobId: 'fixed-id' });
    const again = await queue.enqueue('email', { to: 'z' }, { jobId: 'fixed-id' });
    expect(byId.deduplicated).toBe(false);
    expect(again).toMatchObject({ deduplicated: true, job: { id: 'fixed-id', payload: { to: 'a' } } });
    expect((await queue.counts()).waiting).toBe(2);
  });

  it('applies defaultJobOptions under per-call options, and validates them at construction', async () => {
    const { queue } = makeQueue(memoryBackend(), { defaultJobOptions: { priority: 5, maxAttempts: 7 } });
    const { job } = await queue.enqueue('email', { to: 'a' }, { priority: 9 });
    expect(job).toMatchObject({ priority: 9, maxAttempts: 7 });
    expect(() => new Queue('q', { backend: memoryBackend(), defaultJobOptions: { maxAttempts: -1 } })).toThrow(
      /defaultJobOptions\.maxAttempts: must be at least 1/,
    );
    expect(() => new Queue('', { backend: memoryBackend() })).toThrow(/queue: must not be empty/);
    expect(() => new Queue('q', {} as never)).toThrow(/missing required option `backend`/);
  });

  it('initialises the backend lazily, once', async () => {
    const backend = memoryBackend();
    const init = vi.spyOn(backend.queue, 'init');
    const { queue } = makeQueue(backend);
    const other = new Queue('other', { backend });
    queues.push(other as never);
    expect(init).not.toHaveBeenCalled();
    await Promise.all([queue.enqueue('email', { to: 'a' }), other.enqueue('x', null), queue.counts()]);
    expect(init).toHaveBeenCalledTimes(1);
  });
});

describe('Queue.enqueueBulk', () => {
  it('stores every job in one store call and publishes all job.enqueued events in one publish call', async () => {
    const { queue, backend } = makeQueue();
    const enqueueMany = vi.spyOn(backend.queue, 'enqueueMany');
    const publish = vi.spyOn(backend.events, 'publish');
    const results = await queue.enqueueBulk([
      { type: 'email', payload: { to: 'a' } },
      { type: 'report', payload: { id: 1 }, options: { priority: 3 } },
      { type: 'email', payload: { to: 'b' }, options: { delayMs: 60_000 } },
    ]);
    expect(results.map((r) => [r.job.type, r.job.state, r.deduplicated])).toEqual([
      ['email', 'waiting', false],
      ['report', 'waiting', false],
      ['email', 'scheduled', false],
    ]);
    expect(enqueueMany).toHaveBeenCalledTimes(1);
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish.mock.calls[0]?.[0]).toHaveLength(3);
  });

  it('validates every item first: one bad item stores nothing and names its index', async () => {
    const { queue } = makeQueue();
    const error = await rejection(
      queue.enqueueBulk([
        { type: 'email', payload: { to: 'a' } },
        { type: 'email', payload: { to: 'b' }, options: { maxAttempts: 'many' as never } },
      ]),
    );
    expect(error.code).toBe('VALIDATION_FAILED');
    expect(error.message).toMatch(/items\[1\]\.options\.maxAttempts/);
    expect((await queue.counts()).waiting).toBe(0);
  });
});

describe('Queue operations', () => {
  it('pause / resume publish queue.paused and queue.resumed', async () => {
    const { queue, backend } = makeQueue();
    const events = collectEvents(backend);
    await queue.pause();
    expect(await queue.isPaused()).toBe(true);
    await queue.resume();
    expect(await queue.isPaused()).toBe(false);
    expect(events.map((e) => [e.type, e.queue])).toEqual([
      ['queue.paused', 'mail'],
      ['queue.resumed', 'mail'],
    ]);
  });

  it('promote, cancel, retry and remove act on the job and publish their events', async () => {
    const { queue, backend } = makeQueue();
    const { job } = await queue.enqueue('email', { to: 'a' }, { delayMs: 60_000 });
    await queue.close();
    const events = collectEvents(backend);
    const again = new Queue<Jobs>('mail', { backend });
    queues.push(again);
    expect((await again.promote(job.id)).state).toBe('waiting');
    expect((await again.cancel(job.id)).state).toBe('cancelled');
    expect((await again.retry(job.id)).state).toBe('waiting');
    await again.cancel(job.id);
    await again.remove(job.id);
    expect(await again.getJob(job.id)).toBeNull();
    expect(events.map((e) => [e.type, e.data['reason'] ?? null])).toEqual([
      ['job.enqueued', 'promote'],
      ['job.cancelled', null],
      ['job.enqueued', 'retry'],
      ['job.cancelled', null],
      ['job.deleted', null],
    ]);
    expect(events.every((e) => e.jobId === job.id && e.queue === 'mail')).toBe(true);
    const remove = await rejection(again.remove('missing'));
    expect(remove.code).toBe('NOT_FOUND');
  });

  it('cancelling an active job writes a cancelled execution record', async () => {
    const { queue, backend } = makeQueue();
    const { job } = await queue.enqueue('email', { to: 'a' });
    await backend.queue.claim({ queues: ['mail'], workerId: 'w1', limit: 1, leaseMs: 10_000 });
    await queue.cancel(job.id);
    await queue.close();
    const page = await backend.storage.listExecutions(job.id, { limit: 10 });
    expect(page.items).toEqual([
      expect.objectContaining({
        status: 'cancelled',
        attempt: 1,
        workerId: 'w1',
        error: expect.objectContaining({ code: 'CANCELLED' }),
      }),
    ]);
  });

  it('counts every state of this queue, zero when empty', async () => {
    const { queue } = makeQueue();
    expect(await queue.counts()).toEqual({
      waiting: 0,
      scheduled: 0,
      retrying: 0,
      active: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    });
  });

  it('refuses calls after close', async () => {
    const { queue } = makeQueue();
    await queue.close();
    const error = await rejection(queue.enqueue('email', { to: 'a' }));
    expect(error.code).toBe('INVALID_STATE');
  });
});

describe('Queue.runNow', () => {
  it('runs the handler inline and records an execution, metrics and events', async () => {
    const { queue, backend } = makeQueue();
    const events = collectEvents(backend);
    const outcome = await queue.runNow('report', { id: 7 }, async (job, ctx) => {
      await ctx.updateProgress(50);
      return { rows: job.payload.id * 2, attempt: ctx.attempt };
    });
    expect(outcome.result).toEqual({ rows: 14, attempt: 1 });
    expect(outcome.job).toMatchObject({ state: 'completed', type: 'report', attempt: 1, progress: 50 });
    const page = await backend.storage.listExecutions(outcome.job.id, { limit: 10 });
    expect(page.items).toEqual([
      expect.objectContaining({ status: 'success', attempt: 1, result: { rows: 14, attempt: 1 }, workerId: null }),
    ]);
    const [totals] = await backend.metrics.totals({ granularity: 'minute', from: 0, to: Date.now() + 60_000 });
    expect(totals).toMatchObject({ enqueued: 1, started: 1, completed: 1, failed: 0 });
    expect(events.map((e) => e.type)).toEqual(['job.started', 'job.progress', 'job.completed']);
    expect(events.every((e) => e.jobId === outcome.job.id)).toBe(true);
  });

  it('records a failure and rethrows the handler error', async () => {
    const { queue, backend } = makeQueue();
    const boom = new Error('boom');
    await expect(queue.runNow('email', { to: 'a' }, () => Promise.reject(boom), { jobId: 'inline-1' })).rejects.toBe(
      boom,
    );
    const page = await backend.storage.listExecutions('inline-1', { limit: 10 });
    expect(page.items[0]).toMatchObject({ status: 'failed', error: { message: 'boom', code: 'Error' } });
  });

  it('aborts the signal and records timeout when timeoutMs elapses', async () => {
    const { queue, backend } = makeQueue();
    let reason: unknown;
    const error = await rejection(
      queue.runNow(
        'email',
        { to: 'a' },
        (_job, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              reason = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          }),
        { jobId: 'inline-timeout', timeoutMs: 20 },
      ),
    );
    expect(error.code).toBe('TIMEOUT');
    expect(isConveyorError(reason, 'TIMEOUT')).toBe(true);
    const page = await backend.storage.listExecutions('inline-timeout', { limit: 10 });
    expect(page.items[0]).toMatchObject({ status: 'timeout', error: { code: 'TIMEOUT' } });
  });
});

describe('jobOptionsSchema', () => {
  it('is plain JSON schema material, so the dashboard can validate bodies and generate OpenAPI from it', () => {
    const schema = z.toJSONSchema(jobOptionsSchema);
    expect(schema).toMatchObject({ type: 'object', additionalProperties: false });
    expect(Object.keys((schema as { properties: object }).properties)).toEqual(
      expect.arrayContaining([
        'priority',
        'delayMs',
        'runAt',
        'maxAttempts',
        'backoff',
        'timeoutMs',
        'uniqueKey',
        'jobId',
      ]),
    );
    expect(jobOptionsSchema.safeParse({ runAt: '2030-01-01T00:00:00Z', priority: 2 }).success).toBe(true);
    expect(jobOptionsSchema.safeParse({ priority: 'high' }).success).toBe(false);
  });
});
