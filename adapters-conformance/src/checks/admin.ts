import assert from 'node:assert/strict';
import type { Backend } from '@conveyor/core';
import { claimOne, claimReq, defineCheck, enqueueAndClaim, ensure, expectConveyorError, newJob } from '../harness';
import { err, stateCounts } from './enqueue';

/** Enqueue, claim and fail a job for good. */
async function failedJob(backend: Backend, queue: string, maxAttempts = 1) {
  const job = await enqueueAndClaim(backend, queue, { maxAttempts });
  await backend.queue.fail([{ jobId: job.id, token: job.token, error: err('dead'), retryDelayMs: null }]);
  return job;
}

export const adminChecks = {
  retryRevivesFailedAndCancelledJobs: defineCheck(
    'queue: admin',
    'retry moves a failed or cancelled job back to waiting with one more attempt allowed',
    async ({ backend }) => {
      const failed = await failedJob(backend, 'retry-one', 1);
      const revived = await backend.queue.retry(failed.id);
      assert.deepEqual([revived.id, revived.state, revived.attempt], [failed.id, 'waiting', 1], 'attempt kept');
      ensure(revived.maxAttempts >= revived.attempt + 1, 'maxAttempts grows so one more attempt is allowed');
      const again = await claimOne(backend, 'retry-one');
      assert.deepEqual([again.id, again.attempt], [failed.id, 2]);

      const { job } = await backend.queue.enqueue(newJob('retry-one'));
      await backend.queue.cancel(job.id);
      assert.equal((await backend.queue.retry(job.id)).state, 'waiting', 'a cancelled job can be retried');
    },
  ),

  retryRefusesOtherStates: defineCheck(
    'queue: admin',
    'retry of a job that is not failed or cancelled is INVALID_STATE and changes nothing; unknown is NOT_FOUND',
    async ({ backend }) => {
      const { job } = await backend.queue.enqueue(newJob('retry-bad'));
      await expectConveyorError(() => backend.queue.retry(job.id), 'INVALID_STATE', 'retry of a waiting job');
      const active = await claimOne(backend, 'retry-bad');
      await expectConveyorError(() => backend.queue.retry(active.id), 'INVALID_STATE', 'retry of an active job');
      await backend.queue.complete([{ jobId: active.id, token: active.token }]);
      const before = await backend.queue.getJob(active.id);
      await expectConveyorError(() => backend.queue.retry(active.id), 'INVALID_STATE', 'retry of a completed job');
      assert.deepEqual(await backend.queue.getJob(active.id), before, 'a refused retry changes nothing');
      await expectConveyorError(() => backend.queue.retry('missing'), 'NOT_FOUND', 'retry of an unknown job');
    },
  ),

  retryFailedMovesAtMostLimit: defineCheck(
    'queue: admin',
    'retryFailed moves at most limit failed jobs of one queue back to waiting and says how many',
    async ({ backend }) => {
      for (let i = 0; i < 3; i++) await failedJob(backend, 'rf');
      await failedJob(backend, 'rf-other');
      assert.equal(await backend.queue.retryFailed('rf', 2), 2);
      assert.deepEqual((await backend.queue.counts('rf'))['rf'], stateCounts({ waiting: 2, failed: 1 }));
      assert.equal(await backend.queue.retryFailed('rf', 10), 1, 'only what is left');
      assert.equal(await backend.queue.retryFailed('rf', 10), 0, 'nothing left');
      assert.equal((await backend.queue.counts('rf-other'))['rf-other']?.failed, 1, 'other queues untouched');
    },
  ),

  promoteMakesJobsReady: defineCheck(
    'queue: admin',
    'promote makes a scheduled or retrying job waiting and claimable now; other states are INVALID_STATE',
    async ({ backend, clock }) => {
      const { job } = await backend.queue.enqueue(newJob('promote', { delayMs: 60_000 }));
      const promoted = await backend.queue.promote(job.id);
      assert.equal(promoted.state, 'waiting');
      ensure(promoted.runAt <= clock.now(), 'a promoted job is due now');
      assert.equal((await claimOne(backend, 'promote')).id, job.id, 'claimable at once');
      const active = await backend.queue.getJob(job.id);
      await expectConveyorError(() => backend.queue.promote(job.id), 'INVALID_STATE', 'promote of an active job');
      assert.deepEqual(await backend.queue.getJob(job.id), active, 'a refused promote changes nothing');

      const claimed = await enqueueAndClaim(backend, 'promote-r', { maxAttempts: 3 });
      await backend.queue.fail([{ jobId: claimed.id, token: claimed.token, error: err('x'), retryDelayMs: 60_000 }]);
      assert.equal((await backend.queue.promote(claimed.id)).state, 'waiting', 'a retrying job can be promoted');
      const { job: waiting } = await backend.queue.enqueue(newJob('promote-w'));
      await expectConveyorError(() => backend.queue.promote(waiting.id), 'INVALID_STATE', 'promote of waiting');
      await expectConveyorError(() => backend.queue.promote('missing'), 'NOT_FOUND', 'promote of an unknown job');
    },
  ),

  cancelStopsPendingJobs: defineCheck(
    'queue: admin',
    'cancel moves a waiting, scheduled, retrying or active job to cancelled; finished jobs are INVALID_STATE',
    async ({ backend }) => {
      const waiting = (await backend.queue.enqueue(newJob('cancel'))).job;
      const scheduled = (await backend.queue.enqueue(newJob('cancel-s', { delayMs: 1000 }))).job;
      const retrying = await enqueueAndClaim(backend, 'cancel-r', { maxAttempts: 3 });
      await backend.queue.fail([{ jobId: retrying.id, token: retrying.token, error: err('x'), retryDelayMs: 1000 }]);
      const active = await enqueueAndClaim(backend, 'cancel-a');
      for (const id of [waiting.id, scheduled.id, retrying.id, active.id]) {
        const cancelled = await backend.queue.cancel(id);
        assert.deepEqual([cancelled.id, cancelled.state, cancelled.leaseExpiresAt], [id, 'cancelled', null]);
        ensure(cancelled.finishedAt !== null, 'a cancelled job is finished');
      }
      assert.deepEqual(await backend.queue.claim(claimReq(['cancel', 'cancel-s', 'cancel-r'], { limit: 9 })), []);
      const [ack] = await backend.queue.complete([{ jobId: active.id, token: active.token }]);
      assert.deepEqual(ack, { jobId: active.id, ok: false, code: 'LEASE_LOST' }, 'the revoked lease is refused');
      assert.equal((await backend.queue.getJob(active.id))?.state, 'cancelled', 'and stays cancelled');
      await expectConveyorError(() => backend.queue.cancel(waiting.id), 'INVALID_STATE', 'cancel twice');
      await expectConveyorError(() => backend.queue.cancel('missing'), 'NOT_FOUND', 'cancel of an unknown job');
    },
  ),

  removeDeletesInactiveJobs: defineCheck(
    'queue: admin',
    'remove deletes a job that is not active; an active one is INVALID_STATE; an unknown one NOT_FOUND',
    async ({ backend }) => {
      const { job } = await backend.queue.enqueue(newJob('remove', { uniqueKey: 'remove:k' }));
      await backend.queue.remove(job.id);
      assert.equal(await backend.queue.getJob(job.id), null, 'gone');
      assert.deepEqual((await backend.queue.counts('remove'))['remove'], stateCounts(), 'counters follow');
      const fresh = await backend.queue.enqueue(newJob('remove', { uniqueKey: 'remove:k' }));
      assert.equal(fresh.deduplicated, false, 'a removed job frees its unique key');
      const active = await claimOne(backend, 'remove');
      await expectConveyorError(() => backend.queue.remove(active.id), 'INVALID_STATE', 'remove of an active job');
      assert.equal((await backend.queue.getJob(active.id))?.state, 'active', 'the active job is still there');
      await backend.queue.complete([{ jobId: active.id, token: active.token }]);
      await backend.queue.remove(active.id);
      assert.equal(await backend.queue.getJob(active.id), null, 'a completed job can be removed');
      await expectConveyorError(() => backend.queue.remove(active.id), 'NOT_FOUND', 'remove twice');
    },
  ),

  cleanRemovesOldFinishedJobs: defineCheck(
    'queue: admin',
    'clean removes finished jobs of one state and queue, finished at least olderThanMs ago, at most limit',
    async ({ backend, clock }) => {
      const done = async (queue: string) => {
        const j = await enqueueAndClaim(backend, queue);
        await backend.queue.complete([{ jobId: j.id, token: j.token }]);
        return j.id;
      };
      const old = [await done('clean'), await done('clean'), await done('clean')];
      await failedJob(backend, 'clean');
      await done('clean-other');
      clock.advance(10_000);
      const recent = await done('clean');
      assert.equal(await backend.queue.clean({ queue: 'clean', state: 'completed', olderThanMs: 5000, limit: 2 }), 2);
      assert.equal(await backend.queue.clean({ queue: 'clean', state: 'completed', olderThanMs: 5000 }), 1);
      for (const id of old) assert.equal(await backend.queue.getJob(id), null, 'the old ones are gone');
      assert.equal((await backend.queue.getJob(recent))?.state, 'completed', 'the recent one stays');
      assert.deepEqual((await backend.queue.counts('clean'))['clean'], stateCounts({ completed: 1, failed: 1 }));
      assert.equal(await backend.queue.clean({ queue: 'clean', state: 'failed' }), 1, 'default olderThanMs is 0');
      assert.equal((await backend.queue.counts('clean-other'))['clean-other']?.completed, 1, 'other queues stay');
    },
  ),
};
