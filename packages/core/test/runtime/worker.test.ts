import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type ConveyorEvent,
  type HandlerMap,
  isConveyorError,
  type Job,
  type JobHandler,
  type JobMap,
  type MemoryBackend,
  Queue,
  UnrecoverableError,
  Worker,
  type WorkerOptions,
} from '../../src/index';
import {
  collectEvents,
  gate,
  memoryBackend,
  offsetClock,
  pendingTimers,
  recordingLogger,
  waitFor,
  waitForState,
} from './helpers';

const workers: Worker[] = [];
const queues: Queue[] = [];

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.close({ timeoutMs: 0 })));
  await Promise.all(queues.splice(0).map((q) => q.close()));
});

function queueFor(backend: MemoryBackend, name = 'work'): Queue {
  const queue = new Queue(name, { backend });
  queues.push(queue);
  return queue;
}

function workerFor<Jobs extends JobMap = JobMap>(
  backend: MemoryBackend,
  handlers: HandlerMap<Jobs> | JobHandler,
  options: Partial<WorkerOptions> = {},
  queue: string | string[] = 'work',
): Worker<Jobs> {
  const worker = new Worker<Jobs>(queue, handlers, { backend, pollIntervalMs: 20, stalledIntervalMs: 0, ...options });
  workers.push(worker as unknown as Worker);
  return worker;
}

async function executions(backend: MemoryBackend, jobId: string) {
  return (await backend.storage.listExecutions(jobId, { limit: 100 })).items.reverse();
}

async function totals(backend: MemoryBackend) {
  const [row] = await backend.metrics.totals({ granularity: 'minute', from: 0, to: Date.now() + 3_600_000 });
  return row;
}

describe('Worker: running jobs', () => {
  it('runs jobs, completes them, and writes one success record and the metrics per job', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const seen: unknown[] = [];
    const worker = workerFor<{ double: { n: number } }>(backend, {
      double: async (job) => {
        seen.push(job.payload.n);
        return job.payload.n * 2;
      },
    });
    const { job } = await queue.enqueue('double', { n: 21 });
    await worker.start();
    const done = await waitForState(backend, job.id, 'completed');
    expect(done.result).toBe(42);
    expect(seen).toEqual([21]);
    await worker.close();
    expect(await executions(backend, job.id)).toEqual([
      expect.objectContaining({ status: 'success', attempt: 1, result: 42, workerId: worker.workerId, error: null }),
    ]);
    expect(await totals(backend)).toMatchObject({ enqueued: 1, started: 1, completed: 1, failed: 0, retried: 0 });
  });

  it('fills several slots with one claim call and acknowledges completions in batches', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    await queue.enqueueBulk(Array.from({ length: 20 }, (_, i) => ({ type: 'noop', payload: { i } })));
    const claim = vi.spyOn(backend.queue, 'claim');
    const complete = vi.spyOn(backend.queue, 'complete');
    const worker = workerFor(backend, { noop: async () => undefined }, { concurrency: 10 });
    await worker.start();
    await waitFor(async () => (await queue.counts()).completed === 20);
    await worker.close();
    expect(claim.mock.calls[0]?.[0].limit).toBe(10);
    expect((await claim.mock.results[0]?.value)?.length).toBe(10);
    const acked = complete.mock.calls.map((call) => call[0].length);
    expect(acked.reduce((a, b) => a + b, 0)).toBe(20);
    expect(Math.max(...acked)).toBeGreaterThan(1);
    expect(complete.mock.calls.length).toBeLessThan(20);
  });

  it('runs higher priority first, then in order of enqueue', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    await queue.enqueue('t', 'low', { priority: 1 });
    await queue.enqueue('t', 'high', { priority: 10 });
    await queue.enqueue('t', 'mid-1', { priority: 5 });
    await queue.enqueue('t', 'mid-2', { priority: 5 });
    const order: unknown[] = [];
    const worker = workerFor(backend, { t: (job) => void order.push(job.payload) }, { concurrency: 1 });
    await worker.start();
    await waitFor(async () => (await queue.counts()).completed === 4);
    expect(order).toEqual(['high', 'mid-1', 'mid-2', 'low']);
  });

  it('wakes on job.enqueued instead of waiting for the poll', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, { t: () => 'ok' }, { pollIntervalMs: 60_000 });
    await worker.start();
    await new Promise((resolve) => setTimeout(resolve, 20)); // the first claim found nothing: the worker sleeps
    const started = Date.now();
    const { job } = await queue.enqueue('t', null);
    await waitForState(backend, job.id, 'completed', 3000);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('does not run a delayed job before its time', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const ran = vi.fn();
    const worker = workerFor(backend, { t: ran });
    await worker.start();
    const { job } = await queue.enqueue('t', null, { delayMs: 150 });
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(ran).not.toHaveBeenCalled();
    await waitForState(backend, job.id, 'completed');
    expect(ran).toHaveBeenCalledTimes(1);
  });

  it('passes attempt, workerId and logger in the context, and stores progress with an event', async () => {
    const backend = memoryBackend();
    const events = collectEvents(backend);
    const queue = queueFor(backend);
    const logger = recordingLogger();
    const progress: unknown[] = [];
    const worker = workerFor(
      backend,
      {
        t: async (_job, ctx) => {
          ctx.logger.info('inside');
          await ctx.updateProgress(40);
          await ctx.updateProgress({ step: 'upload' });
          return { attempt: ctx.attempt, workerId: ctx.workerId };
        },
      },
      { logger },
    );
    worker.on('progress', (_job, value) => progress.push(value));
    const { job } = await queue.enqueue('t', null);
    await worker.start();
    const done = await waitForState(backend, job.id, 'completed');
    expect(done.result).toEqual({ attempt: 1, workerId: worker.workerId });
    expect(done.progress).toEqual({ step: 'upload' });
    expect(progress).toEqual([40, { step: 'upload' }]);
    expect(logger.messages('info')).toContain('inside');
    await worker.close();
    expect(events.filter((e) => e.type === 'job.progress').map((e) => e.data['progress'])).toEqual([
      40,
      { step: 'upload' },
    ]);
  });

  it('fails a job of a type it has no handler for, with a clear error', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, { known: () => null });
    const { job } = await queue.enqueue('mystery', null, { maxAttempts: 1 });
    await worker.start();
    const failed = await waitForState(backend, job.id, 'failed');
    expect(failed.lastError?.code).toBe('UNKNOWN_JOB_TYPE');
    expect(failed.lastError?.message).toMatch(/no handler for job type "mystery".*it handles: known/);
  });

  it('leaves unknown types to other workers with claimKnownTypesOnly', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, { known: () => null }, { claimKnownTypesOnly: true });
    const mystery = await queue.enqueue('mystery', null);
    const known = await queue.enqueue('known', null);
    await worker.start();
    await waitForState(backend, known.job.id, 'completed');
    expect((await backend.queue.getJob(mystery.job.id))?.state).toBe('waiting');
  });

  it('claims from several queues with one function handler', async () => {
    const backend = memoryBackend();
    const a = queueFor(backend, 'a');
    const b = queueFor(backend, 'b');
    const seen: string[] = [];
    const worker = workerFor(backend, (job) => void seen.push(`${job.queue}:${job.type}`), {}, ['a', 'b']);
    await a.enqueue('x', null);
    await b.enqueue('y', null);
    await worker.start();
    await waitFor(() => seen.length === 2);
    expect(seen.sort()).toEqual(['a:x', 'b:y']);
  });

  it('does not claim from a paused queue until it is resumed', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, { t: () => null }, { pollIntervalMs: 60_000 });
    await queue.pause();
    const { job } = await queue.enqueue('t', null);
    await worker.start();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await backend.queue.getJob(job.id))?.state).toBe('waiting');
    await queue.resume(); // queue.resumed wakes the worker
    await waitForState(backend, job.id, 'completed');
  });

  it('refuses bad options with CONFIG_INVALID', () => {
    const backend = memoryBackend();
    expect(() => new Worker('q', () => null, { backend, concurrency: 0 })).toThrow(/concurrency: must be at least 1/);
    expect(() => new Worker('q', () => null, { backend, leaseMs: 1000, heartbeatMs: 1000 })).toThrow(
      /heartbeatMs \(1000\) must be shorter than leaseMs/,
    );
    expect(() => new Worker([], () => null, { backend })).toThrow(/no queue given/);
    expect(() => new Worker('q', { t: 'nope' as never }, { backend })).toThrow(
      /handler for job type "t" is not a function/,
    );
    try {
      new Worker('q', () => null, { backend, pollIntervalMs: -5 });
    } catch (error) {
      expect(isConveyorError(error, 'CONFIG_INVALID')).toBe(true);
    }
  });
});

describe('Worker: failures and retries', () => {
  it('retries with the job backoff and records each attempt', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    let calls = 0;
    const retrying: number[] = [];
    const worker = workerFor(backend, {
      flaky: () => {
        calls++;
        if (calls < 3) throw Object.assign(new Error(`attempt ${calls} failed`), { code: 'FLAKY' });
        return 'finally';
      },
    });
    worker.on('retrying', (_job, _error, info) => retrying.push(info.retryDelayMs));
    const { job } = await queue.enqueue('flaky', null, {
      maxAttempts: 3,
      backoff: { type: 'fixed', delayMs: 30, jitter: 0 },
    });
    await worker.start();
    const done = await waitForState(backend, job.id, 'completed');
    expect(done.attempt).toBe(3);
    expect(retrying).toEqual([30, 30]);
    await worker.close();
    const records = await executions(backend, job.id);
    expect(records.map((r) => [r.attempt, r.status, r.error?.code ?? null])).toEqual([
      [1, 'failed', 'FLAKY'],
      [2, 'failed', 'FLAKY'],
      [3, 'success', null],
    ]);
    expect(await totals(backend)).toMatchObject({ started: 3, retried: 2, completed: 1, failed: 0 });
  });

  it('fails for good once attempts are exhausted', async () => {
    const backend = memoryBackend();
    const events = collectEvents(backend);
    const queue = queueFor(backend);
    const failed = vi.fn();
    const worker = workerFor(backend, {
      t: () => {
        throw new Error('always');
      },
    });
    worker.on('failed', failed);
    const { job } = await queue.enqueue('t', null, { maxAttempts: 2, backoff: { type: 'fixed', delayMs: 5 } });
    await worker.start();
    const final = await waitForState(backend, job.id, 'failed');
    expect(final).toMatchObject({ attempt: 2, lastError: { message: 'always' } });
    await worker.close();
    expect(failed).toHaveBeenCalledTimes(1);
    expect(await totals(backend)).toMatchObject({ retried: 1, failed: 1 });
    const types = events.filter((e) => e.jobId === job.id && e.type !== 'job.enqueued').map((e) => e.type);
    expect(types).toEqual(['job.started', 'job.retrying', 'job.started', 'job.failed']);
  });

  it('skips remaining retries on UnrecoverableError', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, {
      t: () => {
        throw new UnrecoverableError('bad input, retrying cannot help');
      },
    });
    const { job } = await queue.enqueue('t', null, { maxAttempts: 5 });
    await worker.start();
    const failed = await waitForState(backend, job.id, 'failed');
    expect(failed.attempt).toBe(1);
    expect(failed.lastError).toMatchObject({ code: 'UNRECOVERABLE', message: 'bad input, retrying cannot help' });
  });

  it('uses the worker backoffStrategy for custom backoff, and stops when it returns null', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const strategy = vi.fn((attempt: number, _error: unknown, _job: Job) => (attempt < 2 ? 10 : null));
    const worker = workerFor(
      backend,
      {
        t: () => {
          throw new Error('nope');
        },
      },
      { backoffStrategy: strategy },
    );
    const { job } = await queue.enqueue('t', null, { maxAttempts: 10, backoff: { type: 'custom', delayMs: 0 } });
    await worker.start();
    const failed = await waitForState(backend, job.id, 'failed');
    expect(failed.attempt).toBe(2);
    expect(strategy.mock.calls.map((c) => c[0])).toEqual([1, 2]);
    const [, error, seenJob] = strategy.mock.calls[0]!;
    expect(error).toBeInstanceOf(Error);
    expect(seenJob.id).toBe(job.id);
  });

  it('aborts the signal on timeout, records timeout, and retries while attempts remain', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const reasons: unknown[] = [];
    let calls = 0;
    const worker = workerFor(backend, {
      slow: (_job, ctx) => {
        calls++;
        if (calls > 1) return 'fast enough';
        return new Promise((_, reject) => {
          ctx.signal.addEventListener('abort', () => {
            reasons.push(ctx.signal.reason);
            reject(ctx.signal.reason);
          });
        });
      },
    });
    const { job } = await queue.enqueue('slow', null, {
      timeoutMs: 40,
      maxAttempts: 2,
      backoff: { type: 'fixed', delayMs: 0 },
    });
    await worker.start();
    await waitForState(backend, job.id, 'completed');
    await worker.close();
    expect(reasons).toHaveLength(1);
    expect(isConveyorError(reasons[0], 'TIMEOUT')).toBe(true);
    expect((reasons[0] as Error).message).toMatch(/ran longer than its timeoutMs of 40 ms/);
    const records = await executions(backend, job.id);
    expect(records.map((r) => [r.status, r.error?.code ?? null])).toEqual([
      ['timeout', 'TIMEOUT'],
      ['success', null],
    ]);
    expect(records[0]?.durationMs).toBeGreaterThanOrEqual(30);
    // The timed-out attempt counts as retried and, apart, as a timeout (the dashboard's executions.timeout).
    const [totals] = await backend.metrics.totals({ granularity: 'minute', from: 0, to: Date.now() + 60_000 });
    expect([totals?.retried, totals?.timeout, totals?.failed, totals?.completed]).toEqual([1, 1, 0, 1]);
  });

  it('keeps the slot of a handler that ignores its timeout signal until it returns', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const release = gate();
    let running = 0;
    let maxRunning = 0;
    const worker = workerFor(
      backend,
      {
        stubborn: async () => {
          running++;
          maxRunning = Math.max(maxRunning, running);
          await release.promise;
          running--;
        },
      },
      { concurrency: 1 },
    );
    const first = await queue.enqueue('stubborn', 1, { timeoutMs: 20, maxAttempts: 1 });
    const second = await queue.enqueue('stubborn', 2, { maxAttempts: 1 });
    await worker.start();
    await waitForState(backend, first.job.id, 'failed'); // timed out, acknowledged at once
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect((await backend.queue.getJob(second.job.id))?.state).toBe('waiting');
    release.open();
    await waitForState(backend, second.job.id, 'completed');
    expect(maxRunning).toBe(1);
  });

  it('fails an attempt whose result cannot be stored as JSON', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, { t: () => ({ big: 1n }) });
    const { job } = await queue.enqueue('t', null, { maxAttempts: 1 });
    await worker.start();
    const failed = await waitForState(backend, job.id, 'failed');
    expect(failed.lastError?.message).toMatch(/result cannot be stored as JSON/);
  });
});

describe('Worker: leases', () => {
  it('renews every held lease in one extendLeases call per heartbeat', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const hold = gate();
    const extend = vi.spyOn(backend.queue, 'extendLeases');
    const worker = workerFor(backend, { t: () => hold.promise }, { concurrency: 3, leaseMs: 300, heartbeatMs: 40 });
    await queue.enqueueBulk([1, 2, 3].map((i) => ({ type: 't', payload: i })));
    await worker.start();
    await waitFor(() => extend.mock.calls.length >= 2);
    for (const call of extend.mock.calls) {
      expect(call[0]).toHaveLength(3);
      expect(call[1]).toBe(300);
    }
    hold.open();
    await waitFor(async () => (await queue.counts()).completed === 3);
  });

  it('aborts the handler when the heartbeat finds the lease lost, and refuses its late completion', async () => {
    const time = offsetClock();
    const backend = memoryBackend(time.clock);
    const queue = queueFor(backend);
    const logger = recordingLogger();
    const aborted = gate<unknown>();
    const finish = gate();
    const lost = vi.fn();
    const worker = workerFor(
      backend,
      {
        t: async (_job, ctx) => {
          ctx.signal.addEventListener('abort', () => aborted.open(ctx.signal.reason));
          await finish.promise;
          return 'too late';
        },
      },
      { leaseMs: 1000, heartbeatMs: 30, logger },
    );
    worker.on('lease-lost', lost);
    const { job } = await queue.enqueue('t', null);
    await worker.start();
    await waitForState(backend, job.id, 'active');
    // Another worker's sweep takes the job back after the lease expired in store time.
    time.advance(5000);
    const recovered = await backend.queue.recoverStalled();
    expect(recovered.map((r) => r.job.id)).toEqual([job.id]);
    const reason = await aborted.promise;
    expect(isConveyorError(reason, 'LEASE_LOST')).toBe(true);
    expect(lost).toHaveBeenCalledTimes(1);
    finish.open();
    await waitFor(() =>
      logger.messages('warn').some((m) => /finished after its lease was lost; its completion was refused/.test(m)),
    );
    // The job went back to waiting; the freed slot claims it again as attempt 2, which is the one that counts.
    const done = await waitForState(backend, job.id, 'completed');
    expect(done.attempt).toBe(2);
    await worker.close();
    const successes = (await executions(backend, job.id)).filter((r) => r.status === 'success');
    expect(successes.map((r) => r.attempt)).toEqual([2]);
  });

  it('logs a completion the store refuses because the lease was lost before the heartbeat noticed', async () => {
    const time = offsetClock();
    const backend = memoryBackend(time.clock);
    const queue = queueFor(backend);
    const logger = recordingLogger();
    const finish = gate();
    const worker = workerFor(
      backend,
      { t: () => finish.promise.then(() => 'late') },
      {
        leaseMs: 60_000,
        heartbeatMs: 20_000,
        logger,
      },
    );
    const { job } = await queue.enqueue('t', null);
    await worker.start();
    await waitForState(backend, job.id, 'active');
    time.advance(120_000);
    await backend.queue.recoverStalled();
    finish.open();
    await waitFor(() => logger.messages('warn').some((m) => /the completion of job .* was refused/.test(m)));
    const done = await waitForState(backend, job.id, 'completed');
    expect(done.attempt).toBe(2);
    await worker.close();
    const successes = (await executions(backend, job.id)).filter((r) => r.status === 'success');
    expect(successes.map((r) => r.attempt)).toEqual([2]);
  });

  it('aborts a running handler as soon as its job is cancelled', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const aborted = gate<unknown>();
    const worker = workerFor(
      backend,
      {
        t: (_job, ctx) =>
          new Promise((_, reject) => {
            ctx.signal.addEventListener('abort', () => {
              aborted.open(ctx.signal.reason);
              reject(ctx.signal.reason);
            });
          }),
      },
      { heartbeatMs: 20_000, leaseMs: 60_000 },
    );
    const { job } = await queue.enqueue('t', null);
    await worker.start();
    await waitForState(backend, job.id, 'active');
    await queue.cancel(job.id);
    const reason = await aborted.promise;
    expect((reason as Error).message).toMatch(/was cancelled while running/);
    expect((await backend.queue.getJob(job.id))?.state).toBe('cancelled');
  });

  it('recovers a job from a dead worker with the stalled sweep and writes a stalled record', async () => {
    const backend = memoryBackend();
    const events = collectEvents(backend);
    const queue = queueFor(backend);
    const { job } = await queue.enqueue('t', null, { maxAttempts: 3 });
    // A worker that claimed the job and then died: nobody renews its short lease.
    await backend.queue.claim({ queues: ['work'], workerId: 'dead-worker', limit: 1, leaseMs: 30 });
    const stalled = vi.fn();
    const worker = workerFor(backend, { t: () => 'rescued' }, { stalledIntervalMs: 40 });
    worker.on('stalled', stalled);
    await worker.start();
    const done = await waitForState(backend, job.id, 'completed');
    expect(done).toMatchObject({ attempt: 2, result: 'rescued' });
    await worker.close();
    expect(stalled).toHaveBeenCalledTimes(1);
    const records = await executions(backend, job.id);
    expect(records.map((r) => [r.attempt, r.status, r.workerId])).toEqual([
      [1, 'stalled', 'dead-worker'],
      [2, 'success', worker.workerId],
    ]);
    expect(records[0]?.error?.code).toBe('STALLED');
    expect(await totals(backend)).toMatchObject({ stalled: 1, completed: 1 });
    expect(events.find((e) => e.type === 'job.retrying' && e.jobId === job.id)?.data).toMatchObject({
      reason: 'stalled',
      stalledWorkerId: 'dead-worker',
    });
  });
});

describe('Worker: prefetch', () => {
  it('claims ahead of free slots, runs prefetched jobs in claim order, and renews their leases', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const extend = vi.spyOn(backend.queue, 'extendLeases');
    const claim = vi.spyOn(backend.queue, 'claim');
    const hold = gate();
    const order: number[] = [];
    const worker = workerFor(
      backend,
      {
        t: async (job) => {
          order.push(job.payload as number);
          await hold.promise;
        },
      },
      { concurrency: 2, prefetch: 4, leaseMs: 300, heartbeatMs: 40 },
    );
    await queue.enqueueBulk([1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ type: 't', payload: i })));
    await worker.start();
    // Two running and four held here: six leased, in one claim.
    await waitFor(async () => (await queue.counts()).active === 6);
    expect(claim.mock.calls[0]?.[0].limit).toBe(6);
    expect(order).toEqual([1, 2]);
    await waitFor(() => extend.mock.calls.some((call) => call[0].length === 6));
    hold.open();
    await waitFor(async () => (await queue.counts()).completed === 8);
    expect(order).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const records = await backend.storage.recentExecutions({ limit: 100 });
    expect(records).toHaveLength(8);
    expect(records.every((r) => r.attempt === 1 && r.status === 'success')).toBe(true);
  });

  it('hands prefetched jobs back on close without running them', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const hold = gate();
    const ran: number[] = [];
    const worker = workerFor(
      backend,
      {
        t: async (job) => {
          ran.push(job.payload as number);
          await hold.promise;
        },
      },
      { concurrency: 1, prefetch: 3 },
    );
    await queue.enqueueBulk([1, 2, 3, 4, 5].map((i) => ({ type: 't', payload: i })));
    await worker.start();
    await waitFor(async () => (await queue.counts()).active === 4);
    const closing = worker.close({ timeoutMs: 5000 });
    await waitFor(async () => (await queue.counts()).active === 1);
    hold.open();
    await closing;
    expect(ran).toEqual([1]);
    const counts = await queue.counts();
    expect(counts.completed).toBe(1);
    expect(counts.waiting).toBe(4);
  });

  it('rejects a negative prefetch', () => {
    const backend = memoryBackend();
    expect(() => new Worker('work', () => undefined, { backend, prefetch: -1 })).toThrow(/prefetch/);
  });
});

describe('Worker: close', () => {
  it('waits for running handlers that finish within the timeout', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, {
      t: () => new Promise((resolve) => setTimeout(() => resolve('done'), 60)),
    });
    const { job } = await queue.enqueue('t', null);
    await worker.start();
    await waitForState(backend, job.id, 'active');
    await worker.close({ timeoutMs: 5000 });
    expect((await backend.queue.getJob(job.id))?.state).toBe('completed');
  });

  it('releases unfinished jobs after the timeout so another worker completes them at once', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const reasons: unknown[] = [];
    const first = workerFor(
      backend,
      {
        t: (_job, ctx) =>
          new Promise(() => {
            ctx.signal.addEventListener('abort', () => reasons.push(ctx.signal.reason));
          }),
      },
      { concurrency: 2, leaseMs: 60_000 },
    );
    const a = await queue.enqueue('t', 'a');
    const b = await queue.enqueue('t', 'b');
    await first.start();
    await waitFor(async () => (await queue.counts()).active === 2);
    await first.close({ timeoutMs: 30 });
    expect(reasons).toHaveLength(2);
    expect((reasons[0] as Error).message).toMatch(/is closing and the job did not finish within the close timeout/);
    expect((await queue.counts()).waiting).toBe(2);
    const second = workerFor(backend, { t: (job) => `done ${job.payload}` });
    await second.start();
    const doneA = await waitForState(backend, a.job.id, 'completed');
    await waitForState(backend, b.job.id, 'completed');
    expect(doneA.attempt).toBe(2);
    const records = await executions(backend, a.job.id);
    expect(records.map((r) => [r.attempt, r.status, r.error?.code ?? null])).toEqual([
      [1, 'cancelled', 'WORKER_CLOSED'],
      [2, 'success', null],
    ]);
  });

  it('stops claiming once closing and leaves no timer behind', async () => {
    const before = pendingTimers();
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, { t: () => null }, { stalledIntervalMs: 50, heartbeatMs: 20, leaseMs: 100 });
    await worker.start();
    await queue.enqueue('t', null);
    await waitFor(async () => (await queue.counts()).completed === 1);
    await worker.close();
    await queue.close();
    expect(worker.isRunning).toBe(false);
    const late = await queueFor(backend).enqueue('t', null);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect((await backend.queue.getJob(late.job.id))?.state).toBe('waiting');
    expect(pendingTimers()).toBeLessThanOrEqual(before);
    await expect(worker.start()).rejects.toThrow(/is closed/);
    await worker.close(); // idempotent
  });
});

describe('Worker: registry and events', () => {
  it('registers on start, heartbeats its stats, and deregisters on close', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const worker = workerFor(backend, { t: () => null }, { concurrency: 4, heartbeatMs: 20, leaseMs: 100 });
    await worker.start();
    const [registered] = await backend.storage.listWorkers();
    expect(registered).toMatchObject({ id: worker.workerId, queues: ['work'], concurrency: 4, pid: process.pid });
    await queue.enqueueBulk([1, 2, 3].map((i) => ({ type: 't', payload: i })));
    await waitFor(async () => (await backend.storage.listWorkers())[0]?.succeeded === 3);
    const [beat] = await backend.storage.listWorkers();
    expect(beat).toMatchObject({ executions: 3, succeeded: 3, failed: 0 });
    await worker.close();
    expect(await backend.storage.listWorkers()).toEqual([]);
  });

  it('publishes events in the API shape, with unique ids', async () => {
    const backend = memoryBackend();
    const events = collectEvents(backend);
    const queue = queueFor(backend);
    const worker = workerFor(backend, { t: () => 'ok' });
    await worker.start();
    const { job } = await queue.enqueue('t', null);
    await waitForState(backend, job.id, 'completed');
    await worker.close();
    const types = events.map((e) => e.type);
    expect(types[0]).toBe('worker.started');
    expect(types).toEqual(expect.arrayContaining(['job.enqueued', 'job.started', 'job.completed', 'worker.stopped']));
    const completed = events.find((e) => e.type === 'job.completed') as ConveyorEvent;
    expect(completed).toMatchObject({
      queue: 'work',
      jobId: job.id,
      workerId: worker.workerId,
      data: { type: 't', attempt: 1 },
    });
    expect(new Date(completed.timestamp).toISOString()).toBe(completed.timestamp);
    expect(new Set(events.map((e) => e.id)).size).toBe(events.length);
  });

  it('keeps going when the store fails: logs, emits error, backs off, then processes', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const logger = recordingLogger();
    const claim = backend.queue.claim.bind(backend.queue);
    let failures = 2;
    vi.spyOn(backend.queue, 'claim').mockImplementation(async (request) => {
      if (failures-- > 0) throw new Error('connection reset');
      return claim(request);
    });
    const errors: unknown[] = [];
    const worker = workerFor(backend, { t: () => 'ok' }, { logger, pollIntervalMs: 10 });
    worker.on('error', (error) => errors.push(error));
    const { job } = await queue.enqueue('t', null);
    await worker.start();
    await waitForState(backend, job.id, 'completed');
    expect(errors).toHaveLength(2);
    expect(logger.messages('error').filter((m) => /claiming jobs failed; retrying in \d+ ms/.test(m))).toHaveLength(2);
  });

  it('a listener that throws does not break the worker', async () => {
    const backend = memoryBackend();
    const queue = queueFor(backend);
    const logger = recordingLogger();
    const worker = workerFor(backend, { t: () => 'ok' }, { logger });
    worker.on('completed', () => {
      throw new Error('listener bug');
    });
    const jobs = await queue.enqueueBulk([1, 2].map((i) => ({ type: 't', payload: i })));
    await worker.start();
    for (const { job } of jobs) await waitForState(backend, job.id, 'completed');
    expect(logger.messages('error').some((m) => /a "completed" listener threw/.test(m))).toBe(true);
  });
});

describe('the README snippet', () => {
  it('works as written: a typed queue, a typed worker, a graceful close', async () => {
    const backend = memoryBackend();
    type EmailJobs = { welcome: { to: string } };
    const sent: string[] = [];
    const sendEmail = async (to: string, { signal }: { signal: AbortSignal }) => {
      if (!signal.aborted) sent.push(to);
    };
    const emails = new Queue<EmailJobs>('emails', { backend });
    queues.push(emails as unknown as Queue);
    const { job } = await emails.enqueue('welcome', { to: 'ada@example.com' }, { maxAttempts: 5, delayMs: 50 });
    const worker = new Worker<EmailJobs>(
      'emails',
      {
        welcome: async (job, { signal }) => {
          await sendEmail(job.payload.to, { signal });
        },
      },
      { backend, concurrency: 10, pollIntervalMs: 20 },
    );
    workers.push(worker as unknown as Worker);
    await worker.start();
    await waitForState(backend, job.id, 'completed');
    await worker.close({ timeoutMs: 10_000 });
    expect(sent).toEqual(['ada@example.com']);
  });
});
