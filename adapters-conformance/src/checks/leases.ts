import assert from 'node:assert/strict';
import { type Backend, type ClaimedJob, isConveyorError, LeaseLostError } from '@conveyor/core';
import { claimOne, defineCheck, enqueueAndClaim, ensure, expectConveyorError, fail as failCheck } from '../harness';
import { err } from './enqueue';

/**
 * Present a stale lease to every lease write and assert each is refused and the job is unchanged. Used by the
 * example checks and the model.
 */
export async function assertStaleTokenRefused(backend: Backend, jobId: string, token: number, why: string) {
  const before = await backend.queue.getJob(jobId);
  const lease = { jobId, token };
  const [extended] = await backend.queue.extendLeases([lease], 60_000);
  assert.deepEqual([extended?.jobId, extended?.ok, extended?.leaseExpiresAt], [jobId, false, null], `${why}: extend`);
  for (const [name, results] of [
    ['complete', await backend.queue.complete([{ ...lease, result: 'stale' }])],
    ['fail', await backend.queue.fail([{ ...lease, error: err('stale'), retryDelayMs: null }])],
    ['release', await backend.queue.release([lease])],
  ] as const) {
    assert.deepEqual(results, [{ jobId, ok: false, code: 'LEASE_LOST' }], `${why}: ${name} must answer LEASE_LOST`);
  }
  try {
    await backend.queue.updateProgress(lease, 99);
    failCheck(`${why}: updateProgress with a stale token must throw LeaseLostError`);
  } catch (error) {
    ensure(
      error instanceof LeaseLostError && isConveyorError(error, 'LEASE_LOST'),
      `${why}: updateProgress must throw LeaseLostError (code LEASE_LOST), got ${String(error)}`,
    );
  }
  assert.deepEqual(await backend.queue.getJob(jobId), before, `${why}: a refused write changes nothing`);
}

/** Claim, let the lease run out, recover, and claim again: returns both leases. */
async function loseAndReclaim(backend: Backend, clock: { advance(ms: number): void }, queue: string) {
  const first = await enqueueAndClaim(backend, queue, { maxAttempts: 5 }, { leaseMs: 1000 });
  clock.advance(1001);
  const recovered = await backend.queue.recoverStalled();
  assert.deepEqual(
    recovered.map((r) => r.job.id),
    [first.id],
    'the expired lease is recovered',
  );
  const second = await claimOne(backend, queue, { leaseMs: 1000 });
  assert.equal(second.id, first.id);
  return { first, second };
}

export const leaseChecks = {
  tokensStrictlyIncrease: defineCheck(
    'queue: leases',
    'every re-claim of a job (after recovery, release or retry) issues a strictly greater fencing token',
    async ({ backend, clock }) => {
      const { first, second } = await loseAndReclaim(backend, clock, 'tokens');
      ensure(second.token > first.token, `token after recovery ${second.token} must exceed ${first.token}`);
      await backend.queue.release([{ jobId: second.id, token: second.token }]);
      const third = await claimOne(backend, 'tokens');
      ensure(third.token > second.token, `token after release ${third.token} must exceed ${second.token}`);
      await backend.queue.fail([{ jobId: third.id, token: third.token, error: err('x'), retryDelayMs: 0 }]);
      const fourth = await claimOne(backend, 'tokens');
      ensure(fourth.token > third.token, `token after retry ${fourth.token} must exceed ${third.token}`);
      assert.equal(fourth.attempt, 4, 'each claim counted one attempt');
    },
  ),

  heartbeatsExtendLeases: defineCheck(
    'queue: leases',
    'extendLeases pushes held leases to now + leaseMs, answers per lease in order, and refuses lost ones',
    async ({ backend, clock }) => {
      const a = await enqueueAndClaim(backend, 'hb', {}, { leaseMs: 1000 });
      const b = await enqueueAndClaim(backend, 'hb', {}, { leaseMs: 1000 });
      clock.advance(900);
      const results = await backend.queue.extendLeases(
        [
          { jobId: a.id, token: a.token },
          { jobId: 'no-such-job', token: 1 },
          { jobId: b.id, token: b.token + 1000 },
        ],
        5000,
      );
      assert.deepEqual(
        results,
        [
          { jobId: a.id, ok: true, leaseExpiresAt: clock.now() + 5000 },
          { jobId: 'no-such-job', ok: false, leaseExpiresAt: null },
          { jobId: b.id, ok: false, leaseExpiresAt: null },
        ],
        'per-lease results in input order',
      );
      assert.equal((await backend.queue.getJob(a.id))?.leaseExpiresAt, clock.now() + 5000, 'stored');
      assert.equal((await backend.queue.getJob(b.id))?.leaseExpiresAt, clock.now() + 100, 'a refused one unchanged');
      clock.advance(1000);
      const recovered = await backend.queue.recoverStalled();
      assert.deepEqual(
        recovered.map((r) => r.job.id),
        [b.id],
        'only the lease that was not extended expired',
      );
      assert.equal((await backend.queue.getJob(a.id))?.state, 'active', 'the extended lease holds');
    },
  ),

  progressIsStored: defineCheck(
    'queue: leases',
    'updateProgress stores a number or any JSON value on the active job',
    async ({ backend }) => {
      const job = await enqueueAndClaim(backend, 'progress');
      await backend.queue.updateProgress({ jobId: job.id, token: job.token }, 42);
      assert.equal((await backend.queue.getJob(job.id))?.progress, 42);
      const rich = { step: 'upload', done: 3, of: 7 };
      await backend.queue.updateProgress({ jobId: job.id, token: job.token }, rich);
      assert.deepEqual((await backend.queue.getJob(job.id))?.progress, rich);
    },
  ),

  completeStoresTheResult: defineCheck(
    'queue: leases',
    'complete with the current token finishes the job with its result and ends the lease',
    async ({ backend, clock }) => {
      const job = await enqueueAndClaim(backend, 'done');
      clock.advance(75);
      const result = { sent: true, ids: [1, 2] };
      const [ack] = await backend.queue.complete([{ jobId: job.id, token: job.token, result }]);
      ensure(ack?.ok === true && ack.jobId === job.id, `complete must be accepted, got ${JSON.stringify(ack)}`);
      const stored = await backend.queue.getJob(job.id);
      assert.deepEqual(
        [stored?.state, stored?.result, stored?.finishedAt, stored?.leaseExpiresAt, stored?.attempt],
        ['completed', result, clock.now(), null, 1],
      );
      if (ack.job !== null) assert.deepEqual(ack.job, stored, 'the ack carries the job as stored');
      // The lease ended with the job: the same token again is stale.
      await assertStaleTokenRefused(backend, job.id, job.token, 'a second complete');
    },
  ),

  finalFailStoresTheError: defineCheck(
    'queue: leases',
    'fail with retryDelayMs null moves the job to failed with its error, whatever attempts remain',
    async ({ backend, clock }) => {
      const job = await enqueueAndClaim(backend, 'dead', { maxAttempts: 5 });
      clock.advance(30);
      const error = { message: 'no retry', code: 'UNRECOVERABLE', stack: 'Error: no retry\n    at handler' };
      const [ack] = await backend.queue.fail([{ jobId: job.id, token: job.token, error, retryDelayMs: null }]);
      assert.equal(ack?.ok, true);
      const stored = await backend.queue.getJob(job.id);
      assert.deepEqual(
        [stored?.state, stored?.lastError, stored?.finishedAt, stored?.leaseExpiresAt, stored?.attempt],
        ['failed', error, clock.now(), null, 1],
      );
      assert.equal((await backend.queue.counts('dead'))['dead']?.failed, 1);
    },
  ),

  releaseGivesTheJobBack: defineCheck(
    'queue: leases',
    'release puts the job back to waiting at once with its attempt still counted',
    async ({ backend }) => {
      const job = await enqueueAndClaim(backend, 'release', {}, { leaseMs: 60_000 });
      const [ack] = await backend.queue.release([{ jobId: job.id, token: job.token }]);
      assert.equal(ack?.ok, true);
      const stored = await backend.queue.getJob(job.id);
      assert.deepEqual([stored?.state, stored?.attempt, stored?.leaseExpiresAt], ['waiting', 1, null]);
      const again = await claimOne(backend, 'release');
      assert.deepEqual([again.id, again.attempt], [job.id, 2], 'claimable at once; the next claim is attempt 2');
    },
  ),

  staleTokensAreRefused: defineCheck(
    'queue: leases',
    'a stale token is refused by extend, complete, fail, release and updateProgress, and changes nothing',
    async ({ backend, clock }) => {
      const { first, second } = await loseAndReclaim(backend, clock, 'stale');
      await assertStaleTokenRefused(backend, first.id, first.token, 'the token of a recovered lease');
      const [ack] = await backend.queue.complete([{ jobId: second.id, token: second.token, result: 1 }]);
      assert.equal(ack?.ok, true, 'the current token still works');
      const unknown = await backend.queue.complete([{ jobId: 'never-enqueued', token: 1 }]);
      assert.deepEqual(unknown, [{ jobId: 'never-enqueued', ok: false, code: 'LEASE_LOST' }], 'an unknown job');
    },
  ),

  batchedAcksAreIndependent: defineCheck(
    'queue: leases',
    'a batched complete answers per item in input order: good tokens succeed, stale ones are refused',
    async ({ backend }) => {
      const jobs: ClaimedJob[] = [];
      for (let i = 0; i < 3; i++) jobs.push(await enqueueAndClaim(backend, 'batch'));
      const [a, b, c] = jobs as [ClaimedJob, ClaimedJob, ClaimedJob];
      const results = await backend.queue.complete([
        { jobId: a.id, token: a.token },
        { jobId: b.id, token: b.token - 1 },
        { jobId: c.id, token: c.token },
      ]);
      assert.deepEqual(
        results.map((r) => [r.jobId, r.ok]),
        [
          [a.id, true],
          [b.id, false],
          [c.id, true],
        ],
      );
      assert.equal((await backend.queue.getJob(b.id))?.state, 'active', 'the refused item is untouched');
    },
  ),

  cancelRevokesTheLease: defineCheck(
    'queue: leases',
    'cancelling an active job revokes its lease: heartbeat, progress and ack are refused afterwards',
    async ({ backend }) => {
      const job = await enqueueAndClaim(backend, 'revoke');
      const cancelled = await backend.queue.cancel(job.id);
      assert.deepEqual([cancelled.state, cancelled.leaseExpiresAt], ['cancelled', null]);
      await assertStaleTokenRefused(backend, job.id, job.token, 'the lease of a cancelled job');
      await expectConveyorError(
        () => backend.queue.updateProgress({ jobId: job.id, token: job.token }, 1),
        'LEASE_LOST',
        'updateProgress after cancel',
      );
    },
  ),
};
