import assert from 'node:assert/strict';
import { claimOne, claimReq, defineCheck, ensure, newJob } from '../harness';
import { err } from './enqueue';

export const claimChecks = {
  claimOrdersByPriorityThenRunAtThenInsertion: defineCheck(
    'queue: claim',
    'claim takes the highest priority first, then the earliest runAt, then insertion order',
    async ({ backend, clock }) => {
      const q = 'order';
      const now = clock.now();
      // Same createdAt for all (the clock does not move): insertion order, not id or time, must break ties.
      const specs = [
        { id: 'z-low-first', priority: 0, runAt: now - 100 },
        { id: 'y-high-late', priority: 5, runAt: now - 10 },
        { id: 'x-low-early', priority: 0, runAt: now - 500 },
        { id: 'w-high-early', priority: 5, runAt: now - 50 },
        { id: 'v-low-tie-a', priority: 0, runAt: now - 100 },
        { id: 'u-low-tie-b', priority: 0, runAt: now - 100 },
        { id: 't-negative', priority: -3, runAt: now - 1000 },
        { id: 's-future', priority: 99, runAt: now + 1000 },
      ];
      for (const s of specs) await backend.queue.enqueue(newJob(q, s));
      const expected = ['w-high-early', 'y-high-late', 'x-low-early', 'z-low-first', 'v-low-tie-a', 'u-low-tie-b'];
      const top2 = await backend.queue.claim(claimReq(q, { limit: 2 }));
      assert.deepEqual(top2.map((j) => j.id).sort(), expected.slice(0, 2).sort(), 'a batch claim takes the best jobs');
      const order: string[] = [];
      for (;;) {
        const [job] = await backend.queue.claim(claimReq(q, { limit: 1 }));
        if (!job) break;
        order.push(job.id);
      }
      assert.deepEqual(order, [...expected.slice(2), 't-negative'], 'claim order: priority, runAt, insertion');
      clock.advance(1000);
      assert.equal((await claimOne(backend, q)).id, 's-future', 'the scheduled job is claimable once due');
    },
  ),

  claimSetsTheLease: defineCheck(
    'queue: claim',
    'a claimed job is active with attempt+1, a token, the worker id, startedAt and leaseExpiresAt = now + leaseMs',
    async ({ backend, clock }) => {
      const { job } = await backend.queue.enqueue(newJob('lease'));
      clock.advance(250);
      const claimed = await claimOne(backend, 'lease', { workerId: 'w-lease', leaseMs: 4000 });
      const now = clock.now();
      assert.deepEqual(
        [claimed.id, claimed.state, claimed.attempt, claimed.workerId, claimed.startedAt, claimed.leaseExpiresAt],
        [job.id, 'active', 1, 'w-lease', now, now + 4000],
      );
      ensure(Number.isFinite(claimed.token), 'the fencing token must be a finite number');
      const stored = await backend.queue.getJob(job.id);
      assert.deepEqual(
        [stored?.state, stored?.attempt, stored?.workerId, stored?.leaseExpiresAt, stored?.startedAt],
        ['active', 1, 'w-lease', now + 4000, now],
        'getJob reflects the claim',
      );
      assert.deepEqual(claimed.payload, job.payload, 'the claimed job carries its payload');
    },
  ),

  claimHonoursQueuesTypesAndLimit: defineCheck(
    'queue: claim',
    'claim takes only from the given queues and types, at most limit jobs, and nothing from an empty queue',
    async ({ backend }) => {
      assert.deepEqual(await backend.queue.claim(claimReq('empty', { limit: 10 })), [], 'empty queue → []');
      for (let i = 0; i < 3; i++) await backend.queue.enqueue(newJob('qa', { type: 'alpha' }));
      for (let i = 0; i < 3; i++) await backend.queue.enqueue(newJob('qa', { type: 'beta' }));
      for (let i = 0; i < 2; i++) await backend.queue.enqueue(newJob('qb', { type: 'alpha' }));
      await backend.queue.enqueue(newJob('qc', { type: 'alpha' }));
      const betas = await backend.queue.claim(claimReq('qa', { limit: 10, types: ['beta'] }));
      assert.deepEqual(
        betas.map((j) => [j.queue, j.type]),
        Array.from({ length: 3 }, () => ['qa', 'beta']),
        'types filters',
      );
      const two = await backend.queue.claim(claimReq(['qa', 'qb'], { limit: 2 }));
      assert.equal(two.length, 2, 'limit caps the batch');
      const rest = await backend.queue.claim(claimReq(['qa', 'qb'], { limit: 10 }));
      assert.equal(rest.length, 3, 'the remaining jobs of the listed queues');
      ensure(
        [...two, ...rest].every((j) => j.queue === 'qa' || j.queue === 'qb'),
        'claim must not take from a queue it was not given',
      );
      assert.equal((await backend.queue.counts('qc'))['qc']?.waiting, 1, 'the unlisted queue is untouched');
    },
  ),

  scheduledJobsWaitForRunAt: defineCheck(
    'queue: claim',
    'a scheduled job cannot be claimed before its runAt and can be at its runAt',
    async ({ backend, clock }) => {
      const { job } = await backend.queue.enqueue(newJob('delayed', { delayMs: 10_000 }));
      assert.deepEqual(await backend.queue.claim(claimReq('delayed')), [], 'not ready at once');
      clock.advance(9_999);
      assert.deepEqual(await backend.queue.claim(claimReq('delayed')), [], 'not ready 1 ms early');
      clock.advance(1);
      const claimed = await claimOne(backend, 'delayed');
      assert.deepEqual([claimed.id, claimed.attempt], [job.id, 1], 'ready when runAt is reached');
    },
  ),

  failedAttemptsRetryAfterTheDelay: defineCheck(
    'queue: claim',
    'fail with a delay moves the job to retrying, claimable again only once the delay has passed',
    async ({ backend, clock }) => {
      await backend.queue.enqueue(newJob('retry', { maxAttempts: 3 }));
      const first = await claimOne(backend, 'retry');
      clock.advance(10);
      const error = err('boom', 'E_BOOM');
      const [ack] = await backend.queue.fail([{ jobId: first.id, token: first.token, error, retryDelayMs: 2000 }]);
      assert.equal(ack?.ok, true, 'fail with the current token is accepted');
      const retrying = await backend.queue.getJob(first.id);
      assert.deepEqual(
        [retrying?.state, retrying?.attempt, retrying?.runAt, retrying?.leaseExpiresAt, retrying?.lastError],
        ['retrying', 1, clock.now() + 2000, null, error],
        'retrying, the attempt counted, runAt = now + delay, the error kept',
      );
      assert.equal((await backend.queue.counts('retry'))['retry']?.retrying, 1);
      clock.advance(1999);
      assert.deepEqual(await backend.queue.claim(claimReq('retry')), [], 'not before the delay');
      clock.advance(1);
      const second = await claimOne(backend, 'retry');
      assert.deepEqual([second.id, second.attempt], [first.id, 2], 'the second attempt');
      ensure(second.token > first.token, 'the new lease has a greater token');
    },
  ),

  pausedQueuesAreSkipped: defineCheck(
    'queue: claim',
    'claim skips paused queues, enqueue into them still works, and resume makes them claimable again',
    async ({ backend }) => {
      await backend.queue.enqueue(newJob('paused-q'));
      await backend.queue.enqueue(newJob('open-q'));
      assert.equal(await backend.queue.isPaused('paused-q'), false, 'queues start unpaused');
      await backend.queue.pause('paused-q');
      await backend.queue.pause('paused-q'); // idempotent
      assert.equal(await backend.queue.isPaused('paused-q'), true);
      const { job } = await backend.queue.enqueue(newJob('paused-q'));
      assert.equal(job.state, 'waiting', 'enqueue into a paused queue still stores the job');
      const claimed = await backend.queue.claim(claimReq(['paused-q', 'open-q'], { limit: 10 }));
      assert.deepEqual(
        claimed.map((j) => j.queue),
        ['open-q'],
        'only the unpaused queue is claimed from',
      );
      const info = (await backend.queue.listQueues()).find((q) => q.name === 'paused-q');
      assert.equal(info?.paused, true, 'listQueues shows the pause');
      await backend.queue.resume('paused-q');
      assert.equal(await backend.queue.isPaused('paused-q'), false);
      assert.equal((await backend.queue.claim(claimReq('paused-q', { limit: 10 }))).length, 2, 'claimable again');
      await backend.queue.pause('never-seen');
      ensure(
        (await backend.queue.listQueues()).some((q) => q.name === 'never-seen' && q.paused),
        'a queue paused before any enqueue is known and listed as paused',
      );
    },
  ),
};
