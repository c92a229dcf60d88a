import { ConveyorError, closeBackend, type ExecutionRecord } from '@conveyor/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteBackend, type SqliteBackend } from '../src/index';

/** Execution records are checked with core's `executionRecordProblem`, as memory, Redis and Postgres check them. */
let backend: SqliteBackend;

beforeEach(() => {
  backend = createSqliteBackend();
});

afterEach(async () => {
  await closeBackend(backend);
});

function record(overrides: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return {
    id: 'r1',
    jobId: 'j1',
    queue: 'q',
    type: 't',
    attempt: 1,
    status: 'success',
    startedAt: 1_000,
    finishedAt: 1_010,
    durationMs: 10,
    workerId: 'w',
    result: null,
    error: null,
    ...overrides,
  };
}

async function refusal(call: () => Promise<unknown>): Promise<ConveyorError> {
  const error = await call().then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConveyorError);
  return error as ConveyorError;
}

const BAD: Array<[string, Partial<ExecutionRecord>]> = [
  ['an empty id', { id: '' }],
  ['no job id', { jobId: undefined as unknown as string }],
  ['an unknown status', { status: 'exploded' as ExecutionRecord['status'] }],
  ['a start that is no time', { startedAt: Number.NaN }],
  ['a duration that is no number', { durationMs: 'slow' as unknown as number }],
];

describe('execution records', () => {
  it.each(BAD)(
    'recordExecutions refuses a record with %s (VALIDATION_FAILED) and writes none of the batch',
    async (_, bad) => {
      const error = await refusal(() =>
        backend.storage.recordExecutions([record({ id: 'ok' }), record({ id: 'bad', ...bad })]),
      );
      expect(error.code).toBe('VALIDATION_FAILED');
      expect(error.message).toContain('execution record #1');
      expect(await backend.storage.recentExecutions({ limit: 10 })).toEqual([]);
    },
  );

  it('an ack whose inline record is bad is refused before anything changes: the job stays active', async () => {
    const { job } = await backend.queue.enqueue({ queue: 'q', type: 't', payload: 1 });
    const [claimed] = await backend.queue.claim({ queues: ['q'], workerId: 'w', limit: 1, leaseMs: 30_000 });
    expect(claimed?.id).toBe(job.id);
    const token = claimed?.token ?? 0;
    const sideEffects = {
      record: record({ jobId: job.id, status: 'nope' as ExecutionRecord['status'] }),
      metric: { kind: 'completed' as const, queue: 'q', type: 't', at: 1_010, durationMs: 10, count: 1 },
    };
    const error = await refusal(() => backend.queue.complete([{ jobId: job.id, token, sideEffects }]));
    expect(error.code).toBe('VALIDATION_FAILED');
    const failError = await refusal(() =>
      backend.queue.fail([
        { jobId: job.id, token, error: { message: 'x', code: null, stack: null }, retryDelayMs: null, sideEffects },
      ]),
    );
    expect(failError.code).toBe('VALIDATION_FAILED');
    expect((await backend.queue.getJob(job.id))?.state).toBe('active');
    expect(await backend.storage.recentExecutions({ limit: 10 })).toEqual([]);

    // The same ack with a good record goes through and keeps its record.
    const good = { ...sideEffects, record: record({ jobId: job.id }) };
    const [ack] = await backend.queue.complete([{ jobId: job.id, token, sideEffects: good }]);
    expect(ack?.ok).toBe(true);
    expect((await backend.storage.recentExecutions({ limit: 10 })).map((r) => r.id)).toEqual(['r1']);
  });
});
