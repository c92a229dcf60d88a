import assert from 'node:assert/strict';
import { closeBackend, JOB_STATES, type StateCounts } from '@conveyor/core';
import { defineCheck, enqueueAndClaim, ensure, expectConveyorError, newJob } from '../harness';

/** Counts with every state at zero, overridden by `some`. */
export function stateCounts(some: Partial<StateCounts> = {}): StateCounts {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as StateCounts;
  return { ...counts, ...some };
}

export const lifecycleChecks = {
  nowFollowsTheInjectedClock: defineCheck(
    'queue: lifecycle',
    'now() reads the injected clock, so every time the store uses can be controlled',
    async ({ backend, clock }) => {
      assert.equal(await backend.queue.now(), clock.now(), 'now() must return the injected clock');
      clock.advance(12_345);
      assert.equal(await backend.queue.now(), clock.now(), 'now() must follow the clock after advance()');
    },
  ),

  initIsIdempotent: defineCheck(
    'queue: lifecycle',
    'init() may run again on a live store and keeps its data',
    async ({ backend }) => {
      const { job } = await backend.queue.enqueue(newJob('lifecycle'));
      await backend.queue.init();
      await backend.storage.init();
      await backend.metrics.init();
      await backend.events.init();
      assert.equal((await backend.queue.getJob(job.id))?.id, job.id, 'a second init() must not lose jobs');
    },
  ),

  closedAdapterRejects: defineCheck(
    'queue: lifecycle',
    'after close(), queue calls reject with ADAPTER_CLOSED and closing twice is harmless',
    async ({ backend, close }) => {
      await close();
      await expectConveyorError(() => backend.queue.enqueue(newJob('closed')), 'ADAPTER_CLOSED', 'enqueue after close');
      await expectConveyorError(() => backend.queue.getJob('x'), 'ADAPTER_CLOSED', 'getJob after close');
      // closeBackend's contract: parts that share a connection tolerate a second close.
      await closeBackend(backend);
    },
  ),
};

export const enqueueChecks = {
  enqueueStoresAWaitingJobWithDefaults: defineCheck(
    'queue: enqueue',
    'enqueue stores a waiting job with the documented defaults and returns it',
    async ({ backend, clock }) => {
      const payload = { user: 'ada', tags: ['a', 'b'], nested: { n: 1.5, ok: true, none: null } };
      const { job, deduplicated } = await backend.queue.enqueue({
        queue: 'emails',
        type: 'welcome',
        payload,
        meta: { source: 'test' },
      });
      assert.equal(deduplicated, false);
      ensure(typeof job.id === 'string' && job.id.length > 0, 'a generated id must be a non-empty string');
      const now = clock.now();
      assert.deepEqual(
        {
          queue: job.queue,
          type: job.type,
          payload: job.payload,
          state: job.state,
          priority: job.priority,
          attempt: job.attempt,
          maxAttempts: job.maxAttempts,
          createdAt: job.createdAt,
          runAt: job.runAt,
          meta: job.meta,
          uniqueKey: job.uniqueKey,
          startedAt: job.startedAt,
          finishedAt: job.finishedAt,
          result: job.result,
          lastError: job.lastError,
          workerId: job.workerId,
          leaseExpiresAt: job.leaseExpiresAt,
        },
        {
          queue: 'emails',
          type: 'welcome',
          payload,
          state: 'waiting',
          priority: 0,
          attempt: 0,
          maxAttempts: 3,
          createdAt: now,
          runAt: now,
          meta: { source: 'test' },
          uniqueKey: null,
          startedAt: null,
          finishedAt: null,
          result: null,
          lastError: null,
          workerId: null,
          leaseExpiresAt: null,
        },
        'a new job carries the defaults of NewJob and the store time',
      );
      assert.deepEqual(await backend.queue.getJob(job.id), job, 'getJob returns the job as enqueue returned it');
      const second = await backend.queue.enqueue(newJob('emails'));
      assert.notEqual(second.job.id, job.id, 'generated ids are unique');
    },
  ),

  enqueueKeepsOptions: defineCheck(
    'queue: enqueue',
    'enqueue keeps priority, maxAttempts, backoff, timeoutMs, retention options and a caller id',
    async ({ backend }) => {
      const input = newJob('opts', {
        id: 'custom-id-1',
        priority: 7,
        maxAttempts: 5,
        backoff: { type: 'exponential' as const, delayMs: 250, maxDelayMs: 10_000, jitter: 0 },
        timeoutMs: 1500,
        uniqueKey: 'opts:k',
        removeOnComplete: { count: 10, ageMs: 60_000 },
        removeOnFail: 3,
      });
      const { job } = await backend.queue.enqueue(input);
      assert.deepEqual(
        [job.id, job.priority, job.maxAttempts, job.backoff, job.timeoutMs, job.uniqueKey],
        ['custom-id-1', 7, 5, input.backoff, 1500, 'opts:k'],
      );
      assert.deepEqual([job.removeOnComplete, job.removeOnFail], [input.removeOnComplete, input.removeOnFail]);
      assert.deepEqual(await backend.queue.getJob('custom-id-1'), job);
    },
  ),

  delayedJobsAreScheduled: defineCheck(
    'queue: enqueue',
    'delayMs and a future runAt make a job scheduled; runAt wins over delayMs; a past runAt is waiting',
    async ({ backend, clock }) => {
      const now = clock.now();
      const delayed = (await backend.queue.enqueue(newJob('later', { delayMs: 5000 }))).job;
      assert.deepEqual([delayed.state, delayed.runAt], ['scheduled', now + 5000], 'delayMs → scheduled at now+delay');
      const absolute = (await backend.queue.enqueue(newJob('later', { runAt: now + 100, delayMs: 99_999 }))).job;
      assert.deepEqual([absolute.state, absolute.runAt], ['scheduled', now + 100], 'runAt takes precedence');
      const past = (await backend.queue.enqueue(newJob('later', { runAt: now - 10 }))).job;
      assert.deepEqual([past.state, past.runAt], ['waiting', now - 10], 'a past runAt is ready at once');
      assert.deepEqual((await backend.queue.counts('later'))['later'], stateCounts({ scheduled: 2, waiting: 1 }));
    },
  ),

  idDeduplicates: defineCheck(
    'queue: enqueue',
    'an enqueue with the id of an existing job, in any state, returns that job and says so',
    async ({ backend }) => {
      const first = await backend.queue.enqueue(newJob('ids', { id: 'same', payload: { v: 1 } }));
      const again = await backend.queue.enqueue(newJob('ids', { id: 'same', payload: { v: 2 } }));
      assert.equal(again.deduplicated, true, 'the second enqueue is deduplicated');
      assert.deepEqual(again.job, first.job, 'the existing job comes back unchanged');
      const claimed = await enqueueAndClaim(backend, 'ids-2', { id: 'done' });
      await backend.queue.complete([{ jobId: claimed.id, token: claimed.token }]);
      const afterDone = await backend.queue.enqueue(newJob('ids-2', { id: 'done' }));
      assert.equal(afterDone.deduplicated, true, 'a finished job still owns its id');
      assert.equal(afterDone.job.state, 'completed');
      assert.equal((await backend.queue.counts('ids'))['ids']?.waiting, 1, 'only one job was stored');
    },
  ),

  uniqueKeyDeduplicatesWhilePending: defineCheck(
    'queue: enqueue',
    'a unique key dedupes while its job is waiting, scheduled, retrying or active, and is free once it finishes',
    async ({ backend, clock }) => {
      const q = 'unique';
      const key = `${q}:k`;
      const first = await backend.queue.enqueue(newJob(q, { uniqueKey: key, delayMs: 1000 }));
      assert.equal(first.job.state, 'scheduled');
      const whileScheduled = await backend.queue.enqueue(newJob(q, { uniqueKey: key }));
      assert.deepEqual([whileScheduled.deduplicated, whileScheduled.job.id], [true, first.job.id], 'scheduled holds');
      await backend.queue.promote(first.job.id);
      const whileWaiting = await backend.queue.enqueue(newJob(q, { uniqueKey: key }));
      assert.deepEqual([whileWaiting.deduplicated, whileWaiting.job.id], [true, first.job.id], 'waiting holds');
      const claimed = await backend.queue.claim({ queues: [q], workerId: 'w', limit: 1, leaseMs: 10_000 });
      assert.equal(claimed[0]?.id, first.job.id);
      const whileActive = await backend.queue.enqueue(newJob(q, { uniqueKey: key }));
      assert.deepEqual([whileActive.deduplicated, whileActive.job.id], [true, first.job.id], 'active holds');
      const token = claimed[0]?.token ?? -1;
      await backend.queue.fail([{ jobId: first.job.id, token, error: err('boom'), retryDelayMs: 1000 }]);
      const whileRetrying = await backend.queue.enqueue(newJob(q, { uniqueKey: key }));
      assert.deepEqual([whileRetrying.deduplicated, whileRetrying.job.id], [true, first.job.id], 'retrying holds');
      clock.advance(1000);
      const again = await backend.queue.claim({ queues: [q], workerId: 'w', limit: 1, leaseMs: 10_000 });
      assert.equal(again[0]?.id, first.job.id);
      await backend.queue.complete([{ jobId: first.job.id, token: again[0]?.token ?? -1 }]);
      const afterDone = await backend.queue.enqueue(newJob(q, { uniqueKey: key }));
      assert.equal(afterDone.deduplicated, false, 'a completed job frees its unique key');
      assert.notEqual(afterDone.job.id, first.job.id);
      await backend.queue.cancel(afterDone.job.id);
      const afterCancel = await backend.queue.enqueue(newJob(q, { uniqueKey: key }));
      assert.equal(afterCancel.deduplicated, false, 'a cancelled job frees its unique key');
      const other = await backend.queue.enqueue(newJob(q, { uniqueKey: `${q}:other` }));
      assert.equal(other.deduplicated, false, 'a different key is not deduplicated');
    },
  ),

  enqueueManyIsOrderedAndAtomic: defineCheck(
    'queue: enqueue',
    'enqueueMany stores every job, answers in input order, dedupes within the batch, and is seen all at once',
    async ({ backend, clock }) => {
      assert.deepEqual(await backend.queue.enqueueMany([]), [], 'an empty batch answers an empty list');
      const existing = (await backend.queue.enqueue(newJob('bulk', { id: 'pre-existing' }))).job;
      const inputs = [
        newJob('bulk', { id: 'b1' }),
        newJob('bulk', { id: 'pre-existing' }),
        newJob('bulk', { id: 'b2', delayMs: 500 }),
        newJob('bulk', { uniqueKey: 'bulk:u' }),
        newJob('bulk', { uniqueKey: 'bulk:u' }),
        newJob('bulk-other', { id: 'b3', priority: 3 }),
      ];
      const results = await backend.queue.enqueueMany(inputs);
      assert.equal(results.length, inputs.length, 'one result per input');
      assert.deepEqual(
        results.map((r) => r.deduplicated),
        [false, true, false, false, true, false],
        'results are in input order, with dedupe against the store and earlier items of the batch',
      );
      assert.deepEqual(
        results.slice(0, 3).map((r) => r.job.id),
        ['b1', 'pre-existing', 'b2'],
      );
      assert.equal(results[1]?.job.createdAt, existing.createdAt, 'the deduplicated item is the existing job');
      assert.equal(results[4]?.job.id, results[3]?.job.id, 'a repeated unique key in one batch yields one job');
      assert.deepEqual([results[2]?.job.state, results[2]?.job.runAt], ['scheduled', clock.now() + 500]);
      assert.equal(results[5]?.job.queue, 'bulk-other');
      const counts = await backend.queue.counts();
      assert.deepEqual(counts['bulk'], stateCounts({ waiting: 3, scheduled: 1 }));
      assert.deepEqual(counts['bulk-other'], stateCounts({ waiting: 1 }));

      // Atomic: a reader racing a large batch sees none or all of it, never a part.
      const big = Array.from({ length: 200 }, (_, i) => newJob('atomic', { id: `a${i}` }));
      const seen: number[] = [];
      let done = false;
      const writer = backend.queue.enqueueMany(big).finally(() => {
        done = true;
      });
      while (!done) {
        seen.push((await backend.queue.counts('atomic'))['atomic']?.waiting ?? 0);
      }
      await writer;
      seen.push((await backend.queue.counts('atomic'))['atomic']?.waiting ?? 0);
      ensure(
        seen.every((n) => n === 0 || n === 200),
        `a concurrent reader saw a partial batch: ${[...new Set(seen)].join(', ')}`,
      );
      assert.equal(seen.at(-1), 200);
    },
  ),
};

/** A JobError for tests. */
export function err(message: string, code: string | null = 'TEST_FAILURE') {
  return { message, code, stack: null };
}
