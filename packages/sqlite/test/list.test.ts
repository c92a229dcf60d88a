import { closeBackend, type Job, type JobState } from '@conveyor/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteBackend, type SqliteBackend } from '../src/index';
import { tempDir } from './helpers';

/**
 * A list merges one index range per (queue, type, state) it covers, and prunes ranges once a page is full. This
 * compares every filter and page size with the order the contract gives (createdAt, then id, both descending),
 * over jobs that share milliseconds, mix caller and generated ids, and sit in several states.
 */
let tmp: ReturnType<typeof tempDir>;
let backend: SqliteBackend;
let now = 5_000_000;

beforeEach(() => {
  tmp = tempDir();
  backend = createSqliteBackend({ connection: tmp.file(), clock: () => now });
});

afterEach(async () => {
  await closeBackend(backend);
  tmp.cleanup();
});

function newestFirst(a: Job, b: Job): number {
  return b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

describe('listJobs across ranges', () => {
  it('pages every filter in the contract order', async () => {
    const q = backend.queue;
    for (let round = 0; round < 4; round++) {
      await q.enqueueMany(
        Array.from({ length: 30 }, (_, i) => ({
          queue: `q${i % 3}`,
          type: `t${(i * 5) % 4}`,
          payload: { round, i },
          // Caller ids of every kind: after every generated id, of the generated form, and sorting among them.
          ...(i % 7 === 0
            ? {
                id: [
                  `c-${round}-${i}`,
                  `${'0'.repeat(12)}9${round}${i / 7}0`, // of the generated form: moves the rowid counter past it
                  `0000000000000004${round}${i}`,
                  `0000000000000005-${round}-${i}`,
                  `ffffffffffffffff${round}${i}`,
                ][(i / 7 + round) % 5],
              }
            : {}),
          ...(i % 6 === 0 ? { delayMs: 60_000 } : {}),
        })),
      );
      now += round % 2;
    }
    const claimed = await q.claim({ queues: ['q0', 'q1', 'q2'], workerId: 'w', limit: 25, leaseMs: 60_000 });
    await q.complete(claimed.slice(0, 15).map((c) => ({ jobId: c.id, token: c.token })));
    const all: Job[] = [];
    for (const queue of ['q0', 'q1', 'q2']) {
      let cursor: string | null = null;
      do {
        const page = await q.listJobs({ queue, limit: 1000, cursor });
        all.push(...page.items);
        cursor = page.nextCursor;
      } while (cursor !== null);
    }
    expect(all).toHaveLength(120);
    const filters: Array<{ queue?: string; type?: string; state?: JobState }> = [
      {},
      { queue: 'q1' },
      { type: 't2' },
      { state: 'waiting' },
      { state: 'completed' },
      { queue: 'q2', type: 't1' },
      { type: 't3', state: 'active' },
    ];
    for (const filter of filters) {
      const expected = all
        .filter(
          (j) =>
            (filter.queue === undefined || j.queue === filter.queue) &&
            (filter.type === undefined || j.type === filter.type) &&
            (filter.state === undefined || j.state === filter.state),
        )
        .sort(newestFirst)
        .map((j) => j.id);
      for (const limit of [1, 4, 7, 200]) {
        const got: string[] = [];
        let cursor: string | null = null;
        do {
          const page = await q.listJobs({ ...filter, limit, cursor });
          expect(page.items.length).toBeLessThanOrEqual(limit);
          got.push(...page.items.map((j) => j.id));
          cursor = page.nextCursor;
        } while (cursor !== null);
        expect(got, JSON.stringify({ filter, limit })).toEqual(expected);
      }
    }
  });
});
