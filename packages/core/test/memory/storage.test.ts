import { describe, expect, it } from 'vitest';
import { isConveyorError } from '../../src/contracts/errors';
import type { ExecutionStatus } from '../../src/contracts/job';
import type { ExecutionRecord } from '../../src/contracts/storage-adapter';
import { MemoryStorageAdapter } from '../../src/memory/index';
import { fakeClock } from './helpers';

let n = 0;
function exec(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  n++;
  const startedAt = overrides.startedAt ?? 1_000 + n;
  return {
    id: `e${String(n).padStart(4, '0')}`,
    jobId: 'job-1',
    queue: 'q',
    type: 'send',
    attempt: 1,
    status: 'success',
    startedAt,
    finishedAt: startedAt + 10,
    durationMs: 10,
    workerId: 'w',
    result: null,
    error: null,
    ...overrides,
  };
}

describe('memory storage: executions', () => {
  it('keeps one record per id however often it is written', async () => {
    const s = new MemoryStorageAdapter();
    const r = exec();
    await s.recordExecutions([r, r]);
    await s.recordExecutions([{ ...r, status: 'failed' }]);
    const page = await s.listExecutions('job-1', { limit: 10 });
    expect(page.items).toEqual([r]);
  });

  it('lists a job newest first with status and time filters and a cursor', async () => {
    const s = new MemoryStorageAdapter();
    const statuses: ExecutionStatus[] = ['failed', 'timeout', 'failed', 'success', 'stalled', 'failed'];
    const records = statuses.map((status, i) => exec({ status, attempt: i + 1, startedAt: 5_000 + i * 100 }));
    // Same startedAt: the id breaks the tie, newest (greatest) id first.
    const tieA = exec({ startedAt: 5_000 });
    await s.recordExecutions([...records, tieA, exec({ jobId: 'other' })]);
    const all = await s.listExecutions('job-1', { limit: 100 });
    expect(all.items.map((r) => r.startedAt)).toEqual([5_500, 5_400, 5_300, 5_200, 5_100, 5_000, 5_000]);
    expect(all.items.slice(-2).map((r) => r.id)).toEqual([tieA.id, records[0]?.id]);

    const failed = await s.listExecutions('job-1', { limit: 100, status: 'failed' });
    expect(failed.items.map((r) => r.attempt)).toEqual([6, 3, 1]);
    const window = await s.listExecutions('job-1', { limit: 100, from: 5_100, to: 5_400 });
    expect(window.items.map((r) => r.startedAt)).toEqual([5_300, 5_200, 5_100]);

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page = await s.listExecutions('job-1', { limit: 3, cursor });
      ids.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor !== null);
    expect(ids).toEqual(all.items.map((r) => r.id));
  });

  it('summarizes a job', async () => {
    const s = new MemoryStorageAdapter();
    expect(await s.summarizeExecutions('none')).toMatchObject({
      totalExecutions: 0,
      successRate: 0,
      avgDurationMs: null,
      firstExecution: null,
    });
    await s.recordExecutions([
      exec({ jobId: 'j', attempt: 1, status: 'failed', durationMs: 30, startedAt: 100, finishedAt: 130 }),
      exec({ jobId: 'j', attempt: 2, status: 'timeout', durationMs: 50, startedAt: 200, finishedAt: 250 }),
      exec({ jobId: 'j', attempt: 3, status: 'success', durationMs: 10, startedAt: 300, finishedAt: 310 }),
    ]);
    expect(await s.summarizeExecutions('j')).toEqual({
      totalExecutions: 3,
      successCount: 1,
      failedCount: 1,
      timeoutCount: 1,
      stalledCount: 0,
      cancelledCount: 0,
      retryCount: 2,
      successRate: 1 / 3,
      avgDurationMs: 30,
      minDurationMs: 10,
      maxDurationMs: 50,
      firstExecution: 100,
      lastExecution: 310,
    });
  });

  it('filters recent executions across jobs by queue, type and status', async () => {
    const s = new MemoryStorageAdapter();
    await s.recordExecutions([
      exec({ jobId: 'a', queue: 'q1', type: 'x', status: 'success', startedAt: 10 }),
      exec({ jobId: 'b', queue: 'q2', type: 'x', status: 'failed', startedAt: 20 }),
      exec({ jobId: 'c', queue: 'q1', type: 'y', status: 'failed', startedAt: 30 }),
    ]);
    const jobs = async (q: Parameters<MemoryStorageAdapter['recentExecutions']>[0]) =>
      (await s.recentExecutions(q)).map((r) => r.jobId);
    expect(await jobs({ limit: 10 })).toEqual(['c', 'b', 'a']);
    expect(await jobs({ limit: 2 })).toEqual(['c', 'b']);
    expect(await jobs({ limit: 10, queue: 'q1' })).toEqual(['c', 'a']);
    expect(await jobs({ limit: 10, type: 'x', status: 'failed' })).toEqual(['b']);
  });

  it('cleans up records finished before a time', async () => {
    const s = new MemoryStorageAdapter();
    await s.recordExecutions([exec({ finishedAt: 100 }), exec({ finishedAt: 200 }), exec({ finishedAt: 300 })]);
    expect(await s.cleanupExecutions(300)).toBe(2);
    expect((await s.listExecutions('job-1', { limit: 10 })).items).toHaveLength(1);
  });

  it('drops the oldest records past maxExecutions', async () => {
    const s = new MemoryStorageAdapter({ maxExecutions: 2 });
    const [a, b, c] = [exec(), exec(), exec()];
    await s.recordExecutions([a as ExecutionRecord, b as ExecutionRecord]);
    await s.recordExecutions([c as ExecutionRecord]);
    expect((await s.recentExecutions({ limit: 10 })).map((r) => r.id)).toEqual([c?.id, b?.id]);
  });

  it('refuses an invalid batch as a whole', async () => {
    const s = new MemoryStorageAdapter();
    const err = await s
      .recordExecutions([exec(), { ...exec(), status: 'weird' as ExecutionStatus }])
      .catch((e: unknown) => e);
    expect(isConveyorError(err, 'VALIDATION_FAILED')).toBe(true);
    expect(await s.recentExecutions({ limit: 10 })).toEqual([]);
  });
});

describe('memory storage: workers', () => {
  const info = { id: 'w1', host: 'h', pid: 1, queues: ['q'], concurrency: 4, startedAt: 0 };

  it('registers with zero stats, refreshes on heartbeat, ignores unknown workers, prunes by lastSeenAt', async () => {
    const clock = fakeClock(10_000);
    const s = new MemoryStorageAdapter({ clock });
    await s.registerWorker(info);
    expect(await s.listWorkers()).toEqual([
      { ...info, activeJobs: 0, executions: 0, succeeded: 0, failed: 0, totalDurationMs: 0, lastSeenAt: 10_000 },
    ]);
    clock.advance(500);
    const stats = { activeJobs: 2, executions: 9, succeeded: 8, failed: 1, totalDurationMs: 90 };
    await s.heartbeatWorker('w1', stats);
    await s.heartbeatWorker('ghost', stats);
    const [w] = await s.listWorkers();
    expect(w).toMatchObject({ ...stats, lastSeenAt: 10_500 });
    await s.registerWorker({ ...info, id: 'w2' });
    clock.advance(1_000);
    await s.heartbeatWorker('w2', stats);
    expect(await s.pruneWorkers(11_000)).toBe(1);
    expect((await s.listWorkers()).map((x) => x.id)).toEqual(['w2']);
    await s.deregisterWorker('w2');
    expect(await s.listWorkers()).toEqual([]);
  });

  it('re-registering resets the stats', async () => {
    const s = new MemoryStorageAdapter();
    await s.registerWorker(info);
    await s.heartbeatWorker('w1', { activeJobs: 1, executions: 5, succeeded: 5, failed: 0, totalDurationMs: 5 });
    await s.registerWorker(info);
    expect((await s.listWorkers())[0]?.executions).toBe(0);
  });

  it('rejects calls after close', async () => {
    const s = new MemoryStorageAdapter();
    await s.close();
    const err = await s.listWorkers().catch((e: unknown) => e);
    expect(isConveyorError(err, 'ADAPTER_CLOSED')).toBe(true);
  });
});
