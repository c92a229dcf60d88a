import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Job, JobState } from '../../src/contracts/job';
import { JOB_STATES } from '../../src/contracts/job';
import type { MemoryQueueAdapter } from '../../src/memory/index';
import { backendWithClock, type FakeClock } from './helpers';

/**
 * Random sequences of operations, checked against what the adapter itself reports: every page of every state
 * lists exactly the jobs in that state, newest first, and counters agree with them. This is where the lazily
 * built list indexes and the heaps have to stay in step with every transition.
 */
const command = fc.oneof(
  fc.record({
    op: fc.constant('enqueue' as const),
    delay: fc.constantFrom(0, 0, 50),
    priority: fc.integer({ min: 0, max: 2 }),
  }),
  fc.record({ op: fc.constant('claim' as const), limit: fc.integer({ min: 1, max: 3 }) }),
  fc.record({
    op: fc.constantFrom('complete' as const, 'fail' as const, 'retry-later' as const, 'release' as const),
    pick: fc.nat(),
  }),
  fc.record({
    op: fc.constantFrom('cancel' as const, 'remove' as const, 'retry' as const, 'promote' as const),
    pick: fc.nat(),
  }),
  fc.record({ op: fc.constant('tick' as const), ms: fc.constantFrom(1, 30, 1_500, 61_000) }),
  fc.record({ op: fc.constant('recover' as const) }),
  fc.record({ op: fc.constant('list' as const), state: fc.constantFrom(...JOB_STATES) }),
);

async function allJobs(q: MemoryQueueAdapter, ids: string[]): Promise<Job[]> {
  const jobs = await Promise.all(ids.map((id) => q.getJob(id)));
  return jobs.filter((j): j is Job => j !== null);
}

async function pageThrough(q: MemoryQueueAdapter, state?: JobState): Promise<string[]> {
  const out: string[] = [];
  let cursor: string | null = null;
  do {
    const page = await q.listJobs({ queue: 'q', limit: 3, cursor, ...(state ? { state } : {}) });
    out.push(...page.items.map((j) => j.id));
    cursor = page.nextCursor;
  } while (cursor !== null);
  return out;
}

function newestFirst(a: Job, b: Job): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

type Command = typeof command extends fc.Arbitrary<infer C> ? C : never;

async function run(q: MemoryQueueAdapter, clock: FakeClock, commands: Command[]): Promise<void> {
  const ids: string[] = [];
  const leases = new Map<string, number>();
  let n = 0;
  const pickId = (pick: number) => ids[pick % Math.max(ids.length, 1)];
  for (const c of commands) {
    const id = 'pick' in c ? pickId(c.pick) : undefined;
    const token = id === undefined ? 0 : (leases.get(id) ?? 0);
    const swallow = (p: Promise<unknown>) => p.catch(() => undefined);
    switch (c.op) {
      case 'enqueue': {
        const { job } = await q.enqueue({
          id: `j${String(n++).padStart(3, '0')}`,
          queue: 'q',
          type: 't',
          payload: null,
          delayMs: c.delay,
          priority: c.priority,
          removeOnComplete: n % 4 === 0 ? 2 : false,
        });
        ids.push(job.id);
        break;
      }
      case 'claim':
        for (const j of await q.claim({ queues: ['q'], workerId: 'w', limit: c.limit, leaseMs: 1_000 })) {
          leases.set(j.id, j.token);
        }
        break;
      case 'complete':
        if (id) await q.complete([{ jobId: id, token }]);
        break;
      case 'fail':
      case 'retry-later':
        if (id) {
          const error = { message: 'x', code: null, stack: null };
          await q.fail([{ jobId: id, token, error, retryDelayMs: c.op === 'fail' ? null : 20 }]);
        }
        break;
      case 'release':
        if (id) await q.release([{ jobId: id, token }]);
        break;
      case 'cancel':
        if (id) await swallow(q.cancel(id));
        break;
      case 'remove':
        if (id) await swallow(q.remove(id));
        break;
      case 'retry':
        if (id) await swallow(q.retry(id));
        break;
      case 'promote':
        if (id) await swallow(q.promote(id));
        break;
      case 'tick':
        clock.advance(c.ms);
        break;
      case 'recover':
        await q.recoverStalled();
        break;
      case 'list':
        await q.listJobs({ queue: 'q', state: c.state, limit: 5 });
        break;
    }
  }
  const jobs = await allJobs(q, ids);
  const counts = (await q.counts('q')).q;
  for (const state of JOB_STATES) {
    const expected = jobs.filter((j) => j.state === state).sort(newestFirst);
    expect(await pageThrough(q, state)).toEqual(expected.map((j) => j.id));
    expect(counts?.[state]).toBe(expected.length);
  }
  expect(await pageThrough(q)).toEqual([...jobs].sort(newestFirst).map((j) => j.id));
  // Everything pending and due comes out of claim exactly once, in claim order.
  clock.advance(120_000);
  await q.recoverStalled();
  const pending = jobs.filter((j) => (['waiting', 'scheduled', 'retrying', 'active'] as JobState[]).includes(j.state));
  const claimed = await q.claim({ queues: ['q'], workerId: 'final', limit: 1_000, leaseMs: 1_000 });
  const finalCounts = (await q.counts('q')).q;
  expect(claimed).toHaveLength(pending.length - (finalCounts?.failed ?? 0) + (counts?.failed ?? 0));
  expect(new Set(claimed.map((j) => j.id)).size).toBe(claimed.length);
}

describe('memory queue: indexes stay consistent with states', () => {
  it('pages, counters and heaps agree after random operation sequences', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 80 }), async (commands) => {
        const { backend, clock } = backendWithClock();
        await run(backend.queue, clock, commands);
      }),
      { numRuns: 150 },
    );
  });
});
