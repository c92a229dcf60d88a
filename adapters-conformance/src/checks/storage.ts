import assert from 'node:assert/strict';
import type { ExecutionRecord, ExecutionStatus, WorkerInfo, WorkerStats } from '@conveyor/core';
import { collectPages, defineCheck, expectConveyorError } from '../harness';

let recordSeq = 0;

/** An execution record for tests; `startedAt` is relative to `base`. */
export function execution(
  base: number,
  overrides: Partial<ExecutionRecord> & { jobId: string; attempt: number },
): ExecutionRecord {
  const startedAt = overrides.startedAt ?? base + overrides.attempt * 1000;
  const durationMs = overrides.durationMs ?? 100;
  const status: ExecutionStatus = overrides.status ?? 'success';
  return {
    id: `rec-${++recordSeq}`,
    queue: 'q',
    type: 't',
    status,
    startedAt,
    finishedAt: startedAt + durationMs,
    durationMs,
    workerId: 'w-1',
    result: status === 'success' ? { ok: true } : null,
    error: status === 'success' ? null : { message: status, code: status.toUpperCase(), stack: null },
    ...overrides,
  };
}

/** Newest first: startedAt descending, then id descending. */
function newestFirst(a: ExecutionRecord, b: ExecutionRecord): number {
  if (a.startedAt !== b.startedAt) return b.startedAt - a.startedAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

const workerInfo = (id: string, startedAt: number): WorkerInfo => ({
  id,
  host: 'host-a',
  pid: 4242,
  queues: ['emails', 'reports'],
  concurrency: 8,
  startedAt,
});

const zeroStats: WorkerStats = { activeJobs: 0, executions: 0, succeeded: 0, failed: 0, totalDurationMs: 0 };

export const storageChecks = {
  executionsAreListedNewestFirst: defineCheck(
    'storage',
    'listExecutions pages a job’s records newest first (startedAt, then id) without duplicates or gaps',
    async ({ backend, clock }) => {
      const t = clock.now();
      const records = [
        execution(t, { id: 'e-b', jobId: 'job-1', attempt: 1, startedAt: t + 10, status: 'failed' }),
        execution(t, { id: 'e-a', jobId: 'job-1', attempt: 2, startedAt: t + 10, status: 'timeout' }),
        execution(t, { id: 'e-c', jobId: 'job-1', attempt: 3, startedAt: t + 20, status: 'stalled' }),
        execution(t, { id: 'e-d', jobId: 'job-1', attempt: 4, startedAt: t + 5, status: 'cancelled' }),
        execution(t, { id: 'e-e', jobId: 'job-1', attempt: 5, startedAt: t + 30, status: 'success' }),
        execution(t, { id: 'e-x', jobId: 'job-2', attempt: 1, startedAt: t + 15 }),
      ];
      await backend.storage.recordExecutions(records.slice(0, 3));
      await backend.storage.recordExecutions(records.slice(3));
      const expected = records.filter((r) => r.jobId === 'job-1').sort(newestFirst);
      const { items } = await collectPages((cursor) => backend.storage.listExecutions('job-1', { limit: 2, cursor }));
      assert.deepEqual(items, expected, 'all of job-1’s records, as written, newest first');
      assert.deepEqual(
        (await backend.storage.listExecutions('job-1', { limit: 100 })).items.map((r) => r.id),
        ['e-e', 'e-c', 'e-b', 'e-a', 'e-d'],
        'a startedAt tie is broken by id descending',
      );
      assert.deepEqual((await backend.storage.listExecutions('nobody', { limit: 10 })).items, []);
    },
  ),

  executionFiltersApply: defineCheck(
    'storage',
    'listExecutions filters by status and by the [from, to) window of startedAt',
    async ({ backend, clock }) => {
      const t = clock.now();
      const r = (attempt: number, status: ExecutionStatus) =>
        execution(t, { jobId: 'job-f', attempt, status, startedAt: t + attempt * 100 });
      await backend.storage.recordExecutions([r(1, 'failed'), r(2, 'failed'), r(3, 'success'), r(4, 'failed')]);
      const attempts = async (q: { status?: ExecutionStatus; from?: number; to?: number }) =>
        (await backend.storage.listExecutions('job-f', { limit: 100, ...q })).items.map((x) => x.attempt);
      assert.deepEqual(await attempts({ status: 'failed' }), [4, 2, 1], 'by status');
      assert.deepEqual(await attempts({ from: t + 200, to: t + 400 }), [3, 2], 'from inclusive, to exclusive');
      assert.deepEqual(await attempts({ status: 'failed', from: t + 200 }), [4, 2], 'combined');
    },
  ),

  executionRecordIdsAreIdempotent: defineCheck(
    'storage',
    'recording the same record id twice keeps one record',
    async ({ backend, clock }) => {
      const rec = execution(clock.now(), { id: 'dup', jobId: 'job-d', attempt: 1 });
      await backend.storage.recordExecutions([rec]);
      await backend.storage.recordExecutions([rec, { ...rec }]);
      assert.equal((await backend.storage.listExecutions('job-d', { limit: 100 })).items.length, 1);
      assert.equal((await backend.storage.summarizeExecutions('job-d')).totalExecutions, 1);
    },
  ),

  executionCursorIsValidated: defineCheck(
    'storage',
    'listExecutions rejects a cursor it did not make with VALIDATION_FAILED',
    async ({ backend, clock }) => {
      await backend.storage.recordExecutions([execution(clock.now(), { jobId: 'job-c', attempt: 1 })]);
      await expectConveyorError(
        () => backend.storage.listExecutions('job-c', { limit: 10, cursor: 'garbage!' }),
        'VALIDATION_FAILED',
        'listExecutions with a garbage cursor',
      );
    },
  ),

  summaryAggregatesAJob: defineCheck(
    'storage',
    'summarizeExecutions counts each status, retries, success rate and duration bounds',
    async ({ backend, clock }) => {
      const t = clock.now();
      assert.deepEqual(await backend.storage.summarizeExecutions('empty'), {
        totalExecutions: 0,
        successCount: 0,
        failedCount: 0,
        timeoutCount: 0,
        stalledCount: 0,
        cancelledCount: 0,
        retryCount: 0,
        successRate: 0,
        avgDurationMs: null,
        minDurationMs: null,
        maxDurationMs: null,
        firstExecution: null,
        lastExecution: null,
      });
      const s = (attempt: number, status: ExecutionStatus, durationMs: number) =>
        execution(t, { jobId: 'job-s', attempt, status, durationMs, startedAt: t + attempt * 1000 });
      await backend.storage.recordExecutions([
        s(1, 'failed', 100),
        s(2, 'timeout', 300),
        s(3, 'stalled', 50),
        s(4, 'success', 250),
        s(5, 'cancelled', 50),
        execution(t, { jobId: 'other', attempt: 1, durationMs: 9999 }),
      ]);
      assert.deepEqual(await backend.storage.summarizeExecutions('job-s'), {
        totalExecutions: 5,
        successCount: 1,
        failedCount: 1,
        timeoutCount: 1,
        stalledCount: 1,
        cancelledCount: 1,
        retryCount: 4,
        successRate: 0.2,
        avgDurationMs: 150,
        minDurationMs: 50,
        maxDurationMs: 300,
        firstExecution: t + 1000,
        lastExecution: t + 5000 + 50,
      });
    },
  ),

  recentExecutionsAcrossJobs: defineCheck(
    'storage',
    'recentExecutions answers the latest records across jobs, newest first, filtered by queue, type and status',
    async ({ backend, clock }) => {
      const t = clock.now();
      const recs = [
        execution(t, { jobId: 'r1', attempt: 1, queue: 'qa', type: 'x', startedAt: t + 1 }),
        execution(t, { jobId: 'r2', attempt: 1, queue: 'qb', type: 'x', startedAt: t + 2, status: 'failed' }),
        execution(t, { jobId: 'r3', attempt: 1, queue: 'qa', type: 'y', startedAt: t + 3, status: 'failed' }),
        execution(t, { jobId: 'r4', attempt: 1, queue: 'qa', type: 'x', startedAt: t + 4 }),
      ];
      await backend.storage.recordExecutions(recs);
      const jobs = async (q: { queue?: string; type?: string; status?: ExecutionStatus; limit: number }) =>
        (await backend.storage.recentExecutions(q)).map((r) => r.jobId);
      assert.deepEqual(await jobs({ limit: 10 }), ['r4', 'r3', 'r2', 'r1'], 'newest first');
      assert.deepEqual(await jobs({ limit: 2 }), ['r4', 'r3'], 'limit');
      assert.deepEqual(await jobs({ queue: 'qa', limit: 10 }), ['r4', 'r3', 'r1'], 'queue');
      assert.deepEqual(await jobs({ type: 'x', limit: 10 }), ['r4', 'r2', 'r1'], 'type');
      assert.deepEqual(await jobs({ status: 'failed', limit: 10 }), ['r3', 'r2'], 'status');
      assert.deepEqual(await jobs({ queue: 'qa', type: 'x', status: 'success', limit: 10 }), ['r4', 'r1'], 'all');
    },
  ),

  cleanupDeletesOldRecords: defineCheck(
    'storage',
    'cleanupExecutions deletes records that finished before the given time and says how many',
    async ({ backend, clock }) => {
      const t = clock.now();
      await backend.storage.recordExecutions([
        execution(t, { jobId: 'c', attempt: 1, startedAt: t, durationMs: 100 }),
        execution(t, { jobId: 'c', attempt: 2, startedAt: t + 1000, durationMs: 100 }),
        execution(t, { jobId: 'c', attempt: 3, startedAt: t + 2000, durationMs: 100 }),
      ]);
      assert.equal(await backend.storage.cleanupExecutions(t + 1101), 2, 'finishedAt t+100 and t+1100 are before');
      assert.deepEqual(
        (await backend.storage.listExecutions('c', { limit: 10 })).items.map((r) => r.attempt),
        [3],
      );
      assert.equal(await backend.storage.cleanupExecutions(t + 1101), 0, 'nothing left to delete');
    },
  ),

  workerRegistry: defineCheck(
    'storage',
    'the worker registry registers, heartbeats, lists with lastSeenAt, deregisters and prunes',
    async ({ backend, clock }) => {
      const t0 = clock.now();
      await backend.storage.registerWorker(workerInfo('w-a', t0));
      clock.advance(1000);
      await backend.storage.registerWorker(workerInfo('w-b', t0));
      const byId = async () => new Map((await backend.storage.listWorkers()).map((w) => [w.id, w]));
      let workers = await byId();
      assert.deepEqual(workers.get('w-a'), { ...workerInfo('w-a', t0), ...zeroStats, lastSeenAt: t0 });
      assert.equal(workers.get('w-b')?.lastSeenAt, t0 + 1000);
      clock.advance(5000);
      const stats = { activeJobs: 2, executions: 10, succeeded: 9, failed: 1, totalDurationMs: 1234 };
      await backend.storage.heartbeatWorker('w-a', stats);
      workers = await byId();
      assert.deepEqual(workers.get('w-a'), { ...workerInfo('w-a', t0), ...stats, lastSeenAt: t0 + 6000 });
      await backend.storage.heartbeatWorker('w-gone', stats);
      assert.equal((await byId()).has('w-gone'), false, 'a heartbeat from an unregistered worker is ignored');
      await backend.storage.registerWorker(workerInfo('w-a', t0 + 6000));
      assert.deepEqual(
        (await byId()).get('w-a'),
        { ...workerInfo('w-a', t0 + 6000), ...zeroStats, lastSeenAt: t0 + 6000 },
        're-register zeroes stats',
      );
      assert.equal(await backend.storage.pruneWorkers(t0 + 3000), 1, 'w-b was last seen before');
      assert.deepEqual([...(await byId()).keys()], ['w-a']);
      await backend.storage.deregisterWorker('w-a');
      assert.deepEqual(await backend.storage.listWorkers(), []);
      await backend.storage.deregisterWorker('w-a'); // deregistering twice is harmless
    },
  ),
};
