import assert from 'node:assert/strict';
import { claimOne, defineCheck, enqueueAndClaim, ensure, newJob } from '../harness';

export const recoveryChecks = {
  recoverStalledTakesBackExpiredLeases: defineCheck(
    'queue: recovery',
    'recoverStalled moves active jobs whose lease expired back to waiting and reports who lost them',
    async ({ backend, clock }) => {
      const job = await enqueueAndClaim(backend, 'stall', { maxAttempts: 3 }, { workerId: 'w-dead', leaseMs: 1000 });
      clock.advance(999);
      assert.deepEqual(await backend.queue.recoverStalled(), [], 'a live lease is not recovered');
      clock.advance(2);
      const recovered = await backend.queue.recoverStalled();
      assert.equal(recovered.length, 1);
      const [r] = recovered;
      assert.deepEqual(
        [r?.job.id, r?.job.state, r?.job.attempt, r?.job.leaseExpiresAt, r?.workerId, r?.attempt, r?.startedAt],
        [job.id, 'waiting', 1, null, 'w-dead', 1, job.startedAt],
      );
      ensure((r?.job.runAt ?? Number.POSITIVE_INFINITY) <= clock.now(), 'a recovered job is ready at once');
      assert.deepEqual(await backend.queue.recoverStalled(), [], 'a recovered job is not recovered twice');
      const again = await claimOne(backend, 'stall');
      assert.deepEqual([again.id, again.attempt], [job.id, 2]);
    },
  ),

  exhaustedAttemptsFailAsStalled: defineCheck(
    'queue: recovery',
    'a stalled job with no attempts left fails with error code STALLED',
    async ({ backend, clock }) => {
      const job = await enqueueAndClaim(backend, 'stall-dead', { maxAttempts: 1 }, { leaseMs: 1000 });
      clock.advance(1001);
      const [r] = await backend.queue.recoverStalled();
      assert.deepEqual([r?.job.id, r?.job.state, r?.job.lastError?.code], [job.id, 'failed', 'STALLED']);
      const stored = await backend.queue.getJob(job.id);
      assert.deepEqual(
        [stored?.state, stored?.lastError?.code, stored?.finishedAt, stored?.leaseExpiresAt],
        ['failed', 'STALLED', clock.now(), null],
      );
      assert.equal((await backend.queue.counts('stall-dead'))['stall-dead']?.failed, 1);
    },
  ),

  recoveryLeavesCompletedJobsAlone: defineCheck(
    'queue: recovery',
    'recoverStalled is conditional: a job completed after its lease would have expired stays completed',
    async ({ backend, clock }) => {
      const job = await enqueueAndClaim(backend, 'stall-done', {}, { leaseMs: 1000 });
      await backend.queue.complete([{ jobId: job.id, token: job.token, result: 'ok' }]);
      const failed = await enqueueAndClaim(backend, 'stall-done', {}, { leaseMs: 1000 });
      await backend.queue.fail([{ jobId: failed.id, token: failed.token, error: errOf(), retryDelayMs: null }]);
      clock.advance(5000);
      assert.deepEqual(await backend.queue.recoverStalled(), [], 'finished jobs are never recovered');
      assert.equal((await backend.queue.getJob(job.id))?.state, 'completed');
      assert.equal((await backend.queue.getJob(failed.id))?.state, 'failed');
      assert.deepEqual(await backend.queue.claim({ queues: ['stall-done'], workerId: 'w', limit: 5, leaseMs: 1 }), []);
    },
  ),

  recoveryLeavesReleasedLeasesAlone: defineCheck(
    'queue: recovery',
    'recoverStalled leaves a job alone once it was re-leased with a fresh lease',
    async ({ backend, clock }) => {
      const first = await enqueueAndClaim(backend, 'stall-again', {}, { leaseMs: 1000 });
      clock.advance(1001);
      assert.equal((await backend.queue.recoverStalled()).length, 1);
      const second = await claimOne(backend, 'stall-again', { leaseMs: 10_000 });
      assert.equal(second.id, first.id);
      clock.advance(1001);
      assert.deepEqual(await backend.queue.recoverStalled(), [], 'the new lease has not expired');
      const stored = await backend.queue.getJob(first.id);
      assert.deepEqual([stored?.state, stored?.leaseExpiresAt], ['active', second.leaseExpiresAt]);
      const [ack] = await backend.queue.complete([{ jobId: second.id, token: second.token }]);
      assert.equal(ack?.ok, true, 'the holder of the fresh lease can still complete');
    },
  ),

  recoveryHonoursTheLimit: defineCheck(
    'queue: recovery',
    'recoverStalled({limit}) recovers at most limit jobs per call',
    async ({ backend, clock }) => {
      for (let i = 0; i < 3; i++) await backend.queue.enqueue(newJob('stall-many'));
      await backend.queue.claim({ queues: ['stall-many'], workerId: 'w', limit: 3, leaseMs: 1000 });
      clock.advance(1001);
      assert.equal((await backend.queue.recoverStalled({ limit: 2 })).length, 2);
      assert.equal((await backend.queue.recoverStalled({ limit: 2 })).length, 1);
      assert.equal((await backend.queue.counts('stall-many'))['stall-many']?.waiting, 3);
    },
  ),
};

function errOf() {
  return { message: 'final', code: null, stack: null };
}
