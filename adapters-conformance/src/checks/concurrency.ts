import assert from 'node:assert/strict';
import { claimReq, defineCheck, enqueueAndClaim, ensure, newJob } from '../harness';
import { err } from './enqueue';
import { scheduleDef } from './schedules';

/** Jobs and claimers of the exclusivity check: enough overlap to expose a read-then-write claim. */
const JOBS = 60;
const CLAIMERS = 12;

export const concurrencyChecks = {
  claimIsExclusive: defineCheck(
    'concurrency',
    `${CLAIMERS} concurrent claimers over ${JOBS} jobs never claim a job twice and together claim them all`,
    async ({ backend }) => {
      await backend.queue.enqueueMany(Array.from({ length: JOBS }, (_, i) => newJob('race', { id: `race-${i}` })));
      const seen = new Map<string, string>();
      for (let round = 0; round < JOBS; round++) {
        const batches = await Promise.all(
          Array.from({ length: CLAIMERS }, (_, k) =>
            backend.queue.claim(claimReq('race', { workerId: `w-${k}`, limit: 1 + (k % 4) })),
          ),
        );
        let claimedThisRound = 0;
        batches.forEach((batch, k) => {
          for (const job of batch) {
            const other = seen.get(job.id);
            ensure(other === undefined, `job ${job.id} was claimed twice (by w-${k} and ${other})`);
            seen.set(job.id, `w-${k}`);
            claimedThisRound++;
          }
        });
        if (claimedThisRound === 0) break;
      }
      assert.equal(seen.size, JOBS, 'every job was claimed exactly once');
      assert.equal((await backend.queue.counts('race'))['race']?.active, JOBS);
    },
  ),

  concurrentFireScheduleEnqueuesOnce: defineCheck(
    'concurrency',
    'concurrent fireSchedule calls for one tick enqueue exactly one job',
    async ({ backend, clock }) => {
      await backend.queue.upsertSchedule(scheduleDef('race-tick'));
      const tick = clock.now();
      const results = await Promise.all(
        Array.from({ length: 10 }, () =>
          backend.queue.fireSchedule('race-tick', tick, tick + 60_000, newJob('cron-race', { type: 'cron' })),
        ),
      );
      assert.equal(results.filter((r) => r !== null).length, 1, 'exactly one instance fired the tick');
      assert.equal((await backend.queue.counts('cron-race'))['cron-race']?.waiting, 1, 'exactly one job');
    },
  ),

  concurrentUniqueEnqueueYieldsOneJob: defineCheck(
    'concurrency',
    'concurrent enqueues with the same unique key (or the same id) store one job and dedupe the rest',
    async ({ backend }) => {
      const byKey = await Promise.all(
        Array.from({ length: 10 }, (_, i) => backend.queue.enqueue(newJob('uq', { uniqueKey: 'uq:k', payload: i }))),
      );
      assert.equal(byKey.filter((r) => !r.deduplicated).length, 1, 'one enqueue stored the job');
      assert.equal(new Set(byKey.map((r) => r.job.id)).size, 1, 'every caller got the same job');
      const byId = await Promise.all(
        Array.from({ length: 10 }, (_, i) => backend.queue.enqueue(newJob('uq', { id: 'uq-id', payload: i }))),
      );
      assert.equal(byId.filter((r) => !r.deduplicated).length, 1, 'one enqueue stored the id');
      assert.equal((await backend.queue.counts('uq'))['uq']?.waiting, 2, 'two jobs in all');
    },
  ),

  concurrentAcksOneWins: defineCheck(
    'concurrency',
    'racing complete, fail and release with one token: exactly one is accepted',
    async ({ backend }) => {
      for (let i = 0; i < 5; i++) {
        const job = await enqueueAndClaim(backend, 'ack-race', { maxAttempts: 5 });
        const lease = { jobId: job.id, token: job.token };
        const [c, f, r] = await Promise.all([
          backend.queue.complete([lease]),
          backend.queue.fail([{ ...lease, error: err('race'), retryDelayMs: null }]),
          backend.queue.release([lease]),
        ]);
        const oks = [c?.[0]?.ok, f?.[0]?.ok, r?.[0]?.ok];
        assert.equal(oks.filter(Boolean).length, 1, `exactly one ack wins, got ${JSON.stringify(oks)}`);
        const state = (await backend.queue.getJob(job.id))?.state;
        const expected = oks[0] ? 'completed' : oks[1] ? 'failed' : 'waiting';
        assert.equal(state, expected, 'the job is in the state of the winning ack');
        if (state === 'waiting') await backend.queue.cancel(job.id);
      }
    },
  ),

  recoveryRacingCompleteIsConsistent: defineCheck(
    'concurrency',
    'recoverStalled racing a late complete: either the complete wins and the job stays completed, or it is refused',
    async ({ backend, clock }) => {
      for (let i = 0; i < 5; i++) {
        const job = await enqueueAndClaim(backend, 'late', { maxAttempts: 5 }, { leaseMs: 1000 });
        clock.advance(1001);
        const [recovered, acks] = await Promise.all([
          backend.queue.recoverStalled(),
          backend.queue.complete([{ jobId: job.id, token: job.token }]),
        ]);
        const wasRecovered = recovered.some((r) => r.job.id === job.id);
        const state = (await backend.queue.getJob(job.id))?.state;
        if (acks[0]?.ok) {
          assert.deepEqual([wasRecovered, state], [false, 'completed'], 'an accepted complete is never undone');
        } else {
          assert.deepEqual([wasRecovered, state], [true, 'waiting'], 'a refused complete means recovery won');
          await backend.queue.cancel(job.id);
        }
      }
    },
  ),
};
