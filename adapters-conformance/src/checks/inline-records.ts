import assert from 'node:assert/strict';
import type {
  AckSideEffects,
  AdapterCapabilities,
  Backend,
  ClaimedJob,
  ConveyorEvent,
  ExecutionRecord,
  MetricKind,
} from '@conveyor/core';
import { claimReq, defineCheck, ensure, newJob, waitUntil } from '../harness';

// Checks of the optional `inlineRecords` capability: an adapter that declares it writes the history the runtime
// would otherwise write behind each enqueue, claim and ack (record, metric, event) in the same step, and writes
// nothing for an ack it refuses.

const HOUR = 3_600_000;

function unsupported(capabilities: AdapterCapabilities): string | null {
  return capabilities.inlineRecords === true ? null : 'capabilities.inlineRecords is not declared';
}

/** Collect bus events until `stop()`; `settle()` proves delivery caught up by waiting for a marker of our own. */
function collect(backend: Backend, deliveryTimeoutMs: number) {
  const got: ConveyorEvent[] = [];
  const off = backend.events.subscribe((event) => got.push(event));
  let markers = 0;
  return {
    got,
    stop: off,
    async settle(): Promise<void> {
      markers++;
      const id = `inline-marker-${markers}-${Math.random().toString(36).slice(2)}`;
      await backend.events.publish([
        { id, type: 'worker.heartbeat', timestamp: new Date().toISOString(), workerId: 'marker', data: { id } },
      ]);
      await waitUntil(
        () => got.some((e) => e.type === 'worker.heartbeat' && e.data['id'] === id),
        deliveryTimeoutMs,
        'the marker event',
      );
    },
    ofType(type: ConveyorEvent['type']): ConveyorEvent[] {
      return got.filter((e) => e.type === type);
    },
  };
}

/** Total of one metric kind for one queue over the hour around `at`. */
async function total(backend: Backend, queue: string, kind: MetricKind, at: number): Promise<number> {
  const [row] = await backend.metrics.totals({ granularity: 'minute', from: at - HOUR, to: at + HOUR, queue });
  return row?.[kind] ?? 0;
}

function sideEffects(
  job: ClaimedJob,
  at: number,
  outcome: { status: ExecutionRecord['status']; kind: 'completed' | 'failed' | 'retried' },
  recordId: string,
): AckSideEffects {
  const durationMs = 25;
  const type =
    outcome.kind === 'completed' ? 'job.completed' : outcome.kind === 'retried' ? 'job.retrying' : 'job.failed';
  return {
    record: {
      id: recordId,
      jobId: job.id,
      queue: job.queue,
      type: job.type,
      attempt: job.attempt,
      status: outcome.status,
      startedAt: at - durationMs,
      finishedAt: at,
      durationMs,
      workerId: 'worker-1',
      result: outcome.status === 'success' ? { ok: true } : null,
      error: outcome.status === 'success' ? null : { message: 'boom', code: 'E_BOOM', stack: null },
    },
    metric: { kind: outcome.kind, queue: job.queue, type: job.type, at, durationMs, count: 1 },
    event: {
      id: `inline-${recordId}`,
      type,
      timestamp: new Date(at).toISOString(),
      queue: job.queue,
      jobId: job.id,
      workerId: 'worker-1',
      data: { type: job.type, attempt: job.attempt, durationMs },
    },
  };
}

export const inlineRecordChecks = {
  inlineEnqueueRecordsMetricAndEvent: defineCheck(
    'queue: inline records',
    'an enqueue with side effects records `enqueued` per stored job and publishes job.enqueued when asked, none for a duplicate',
    async ({ backend, clock, deliveryTimeoutMs }) => {
      const events = collect(backend, deliveryTimeoutMs);
      try {
        const first = await backend.queue.enqueue(newJob('iq', { id: 'inline-1', priority: 3 }), {
          sideEffects: { events: true },
        });
        const again = await backend.queue.enqueue(newJob('iq', { id: 'inline-1' }), { sideEffects: { events: true } });
        assert.equal(again.deduplicated, true);
        const many = await backend.queue.enqueueMany(
          [newJob('iq', { id: 'inline-2' }), newJob('iq', { id: 'inline-3' })],
          {
            sideEffects: { events: false },
          },
        );
        assert.equal(many.length, 2);
        await events.settle();
        const enqueued = events.ofType('job.enqueued');
        assert.deepEqual(
          enqueued.map((e) => e.jobId),
          ['inline-1'],
          'one job.enqueued: none for the duplicate, none for a batch sent with events: false',
        );
        const event = enqueued[0] as ConveyorEvent;
        assert.equal(event.queue, 'iq');
        assert.equal(event.timestamp, new Date(first.job.createdAt).toISOString());
        assert.equal(event.data['type'], 'test.job');
        assert.equal(event.data['state'], 'waiting');
        assert.equal(event.data['priority'], 3);
        assert.equal(event.data['runAt'], new Date(first.job.runAt).toISOString());
        ensure(typeof event.id === 'string' && event.id.length > 0, 'the event has an id');
        assert.equal(await total(backend, 'iq', 'enqueued', clock.now()), 3, 'three jobs stored, three `enqueued`');
      } finally {
        events.stop();
      }
    },
    unsupported,
  ),

  inlineClaimRecordsStart: defineCheck(
    'queue: inline records',
    'a claim with recordStart records `started` with its wait and publishes job.started when asked',
    async ({ backend, clock, deliveryTimeoutMs }) => {
      const events = collect(backend, deliveryTimeoutMs);
      try {
        await backend.queue.enqueue(newJob('ic', { id: 'start-1', maxAttempts: 4 }));
        await backend.queue.enqueue(newJob('ic', { id: 'start-2' }));
        clock.advance(1500);
        const [job] = await backend.queue.claim(
          claimReq('ic', { workerId: 'worker-7', recordStart: { events: true } }),
        );
        ensure(job !== undefined, 'one job claimed');
        const [quiet] = await backend.queue.claim(claimReq('ic', { recordStart: { events: false } }));
        ensure(quiet !== undefined, 'a second job claimed');
        await events.settle();
        const started = events.ofType('job.started');
        assert.deepEqual(
          started.map((e) => e.jobId),
          [job.id],
          'job.started for the claim that asked for events only',
        );
        const event = started[0] as ConveyorEvent;
        assert.equal(event.queue, 'ic');
        assert.equal(event.workerId, 'worker-7');
        assert.equal(event.timestamp, new Date(clock.now()).toISOString());
        assert.deepEqual(event.data, { type: 'test.job', attempt: 1, maxAttempts: job.maxAttempts });
        const at = clock.now();
        assert.equal(await total(backend, 'ic', 'started', at), 2, 'both claims recorded `started`');
        const [row] = await backend.metrics.totals({
          granularity: 'minute',
          from: at - HOUR,
          to: at + HOUR,
          queue: 'ic',
        });
        assert.equal(row?.wait.count, 2, 'each start has a wait');
        assert.equal(row?.wait.sum, 3000, 'waits are claim time − runAt (1500 ms each)');
      } finally {
        events.stop();
      }
    },
    unsupported,
  ),

  inlineAckWritesOnlyWhenOk: defineCheck(
    'queue: inline records',
    'acks with side effects store record, metric and event for each ok item and nothing for a refused one',
    async ({ backend, clock, deliveryTimeoutMs }) => {
      for (const id of ['ack-1', 'ack-2', 'ack-3', 'ack-4']) {
        await backend.queue.enqueue(newJob('ia', { id, maxAttempts: 3 }));
      }
      const jobs = await backend.queue.claim(claimReq('ia', { limit: 4 }));
      assert.equal(jobs.length, 4);
      const byId = new Map(jobs.map((j) => [j.id, j]));
      const get = (id: string) => byId.get(id) as ClaimedJob;
      clock.advance(25);
      const at = clock.now();
      const events = collect(backend, deliveryTimeoutMs);
      try {
        const completed = await backend.queue.complete([
          {
            jobId: 'ack-1',
            token: get('ack-1').token,
            result: { ok: true },
            sideEffects: sideEffects(get('ack-1'), at, { status: 'success', kind: 'completed' }, 'rec-1'),
          },
          {
            jobId: 'ack-2',
            token: get('ack-2').token + 1_000_000,
            sideEffects: sideEffects(get('ack-2'), at, { status: 'success', kind: 'completed' }, 'rec-2'),
          },
        ]);
        assert.deepEqual(
          completed.map((r) => r.ok),
          [true, false],
          'the stale token is refused',
        );
        const failed = await backend.queue.fail([
          {
            jobId: 'ack-3',
            token: get('ack-3').token,
            error: { message: 'boom', code: 'E_BOOM', stack: null },
            retryDelayMs: 1000,
            sideEffects: sideEffects(get('ack-3'), at, { status: 'failed', kind: 'retried' }, 'rec-3'),
          },
          {
            jobId: 'ack-4',
            token: get('ack-4').token,
            error: { message: 'boom', code: 'E_BOOM', stack: null },
            retryDelayMs: null,
            sideEffects: sideEffects(get('ack-4'), at, { status: 'failed', kind: 'failed' }, 'rec-4'),
          },
          {
            jobId: 'ack-2',
            token: get('ack-2').token + 1_000_000,
            error: { message: 'boom', code: null, stack: null },
            retryDelayMs: null,
            sideEffects: sideEffects(get('ack-2'), at, { status: 'failed', kind: 'failed' }, 'rec-2b'),
          },
        ]);
        assert.deepEqual(
          failed.map((r) => r.ok),
          [true, true, false],
        );
        await events.settle();
        const jobEvents = events.got.filter((e) => e.type !== 'worker.heartbeat');
        assert.deepEqual(
          jobEvents.map((e) => `${e.type}:${e.jobId}`).sort(),
          ['job.completed:ack-1', 'job.failed:ack-4', 'job.retrying:ack-3'],
          'one event per ok ack, none for the refused ones',
        );
        const completedEvent = jobEvents.find((e) => e.type === 'job.completed') as ConveyorEvent;
        assert.equal(completedEvent.workerId, 'worker-1');
        assert.equal(completedEvent.data['durationMs'], 25);
      } finally {
        events.stop();
      }
      const records = async (jobId: string) => (await backend.storage.listExecutions(jobId, { limit: 10 })).items;
      const [rec1] = await records('ack-1');
      assert.equal(rec1?.id, 'rec-1');
      assert.equal(rec1?.status, 'success');
      assert.deepEqual(rec1?.result, { ok: true });
      assert.equal(rec1?.durationMs, 25);
      assert.deepEqual(await records('ack-2'), [], 'no record for a refused ack');
      assert.deepEqual(
        (await records('ack-3')).map((r) => r.id),
        ['rec-3'],
      );
      const [rec4] = await records('ack-4');
      assert.deepEqual(rec4?.error, { message: 'boom', code: 'E_BOOM', stack: null });
      assert.equal(await total(backend, 'ia', 'completed', at), 1);
      assert.equal(await total(backend, 'ia', 'retried', at), 1);
      assert.equal(await total(backend, 'ia', 'failed', at), 1);
      const [row] = await backend.metrics.totals({
        granularity: 'minute',
        from: at - HOUR,
        to: at + HOUR,
        queue: 'ia',
      });
      assert.equal(row?.duration.count, 2, 'a duration per ok completed or failed ack (retried has none)');
      assert.equal(row?.duration.sum, 50);
    },
    unsupported,
  ),
};
