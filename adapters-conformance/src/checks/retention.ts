import assert from 'node:assert/strict';
import type { Backend, NewJob } from '@conveyor/core';
import { defineCheck, enqueueAndClaim } from '../harness';
import { err } from './enqueue';

async function finish(backend: Backend, queue: string, job: Partial<NewJob>, how: 'complete' | 'fail') {
  const claimed = await enqueueAndClaim(backend, queue, { maxAttempts: 1, ...job });
  const lease = { jobId: claimed.id, token: claimed.token };
  const [ack] =
    how === 'complete'
      ? await backend.queue.complete([lease])
      : await backend.queue.fail([{ ...lease, error: err('x'), retryDelayMs: null }]);
  assert.equal(ack?.ok, true);
  return claimed.id;
}

async function present(backend: Backend, ids: string[]) {
  const out: string[] = [];
  for (const id of ids) if ((await backend.queue.getJob(id)) !== null) out.push(id);
  return out;
}

export const retentionChecks = {
  removeOnCompleteTrueRemovesAtOnce: defineCheck(
    'queue: retention',
    'removeOnComplete: true (or 0) removes the job as it completes; removeOnFail: true likewise on final failure',
    async ({ backend }) => {
      const a = await finish(backend, 'ret', { removeOnComplete: true }, 'complete');
      const b = await finish(backend, 'ret', { removeOnComplete: 0 }, 'complete');
      const c = await finish(backend, 'ret', { removeOnFail: true }, 'fail');
      assert.deepEqual(await present(backend, [a, b, c]), [], 'all removed');
      const counts = (await backend.queue.counts('ret'))['ret'];
      assert.deepEqual([counts?.completed ?? 0, counts?.failed ?? 0], [0, 0], 'counters follow the removals');
      // A retry is not a final failure: removeOnFail must wait for the last attempt.
      const claimed = await enqueueAndClaim(backend, 'ret', { removeOnFail: true, maxAttempts: 2 });
      await backend.queue.fail([{ jobId: claimed.id, token: claimed.token, error: err('x'), retryDelayMs: 0 }]);
      assert.equal((await backend.queue.getJob(claimed.id))?.state, 'retrying');
    },
  ),

  retentionByCountKeepsTheNewest: defineCheck(
    'queue: retention',
    'removeOnComplete / removeOnFail by count keep only the newest finished jobs of the queue',
    async ({ backend, clock }) => {
      const completed: string[] = [];
      const failed: string[] = [];
      for (let i = 0; i < 5; i++) {
        clock.advance(100);
        completed.push(await finish(backend, 'ret-count', { removeOnComplete: 2 }, 'complete'));
        failed.push(await finish(backend, 'ret-count', { removeOnFail: { count: 3 } }, 'fail'));
      }
      assert.deepEqual(await present(backend, completed), completed.slice(-2), 'the 2 newest completed remain');
      assert.deepEqual(await present(backend, failed), failed.slice(-3), 'the 3 newest failed remain');
      const counts = (await backend.queue.counts('ret-count'))['ret-count'];
      assert.deepEqual([counts?.completed, counts?.failed], [2, 3]);
    },
  ),

  retentionByAgeDropsOldJobs: defineCheck(
    'queue: retention',
    'removeOnComplete / removeOnFail by age drop finished jobs older than ageMs when the next one finishes',
    async ({ backend, clock }) => {
      const oldDone = await finish(backend, 'ret-age', { removeOnComplete: { ageMs: 1000 } }, 'complete');
      const oldFailed = await finish(backend, 'ret-age', { removeOnFail: { ageMs: 1000 } }, 'fail');
      clock.advance(500);
      const midDone = await finish(backend, 'ret-age', { removeOnComplete: { ageMs: 1000 } }, 'complete');
      clock.advance(900);
      const newDone = await finish(backend, 'ret-age', { removeOnComplete: { ageMs: 1000 } }, 'complete');
      const newFailed = await finish(backend, 'ret-age', { removeOnFail: { ageMs: 1000 } }, 'fail');
      assert.deepEqual(
        await present(backend, [oldDone, midDone, newDone, oldFailed, newFailed]),
        [midDone, newDone, newFailed],
        'jobs finished more than ageMs ago are removed; younger ones stay',
      );
    },
  ),
};
