import assert from 'node:assert/strict';
import type { Job } from '@conveyor/core';
import { claimOne, collectPages, defineCheck, ensure, expectConveyorError, newJob } from '../harness';
import { stateCounts } from './enqueue';

/** Newest first: createdAt descending, then id descending. */
function newestFirst(a: Job, b: Job): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

export const readingChecks = {
  getJobOfAnUnknownIdIsNull: defineCheck(
    'queue: reading',
    'getJob answers null for an unknown id',
    async ({ backend }) => {
      assert.equal(await backend.queue.getJob('does-not-exist'), null);
    },
  ),

  listJobsPagesNewestFirst: defineCheck(
    'queue: reading',
    'listJobs pages newest first (createdAt, then id) with no duplicate or gap, even while jobs are added',
    async ({ backend, clock }) => {
      const all: Job[] = [];
      for (let i = 0; i < 23; i++) {
        // Three jobs per millisecond, ids out of insertion order: the id must break createdAt ties.
        if (i % 3 === 0) clock.advance(1);
        const id = `job-${String((i * 7) % 23).padStart(2, '0')}`;
        all.push((await backend.queue.enqueue(newJob('pages', { id }))).job);
      }
      await backend.queue.enqueue(newJob('pages-other'));
      const expected = [...all].sort(newestFirst).map((j) => j.id);
      const { items, pages } = await collectPages(async (cursor) => {
        const page = await backend.queue.listJobs({ queue: 'pages', limit: 5, cursor });
        // New jobs arriving between pages are newer than the cursor: they must not shift the pages already read.
        clock.advance(1);
        await backend.queue.enqueue(newJob('pages'));
        return page;
      });
      ensure(
        pages.slice(0, -1).every((p) => p.length === 5),
        'every page but the last holds `limit` items',
      );
      assert.deepEqual(
        items.map((j) => j.id),
        expected,
        'pages concatenate to the newest-first order, without duplicates or gaps',
      );
      const one = await backend.queue.listJobs({ queue: 'pages', limit: 1000 });
      assert.equal(one.nextCursor, null, 'the last page has nextCursor null');
      assert.equal(one.items.length, 23 + pages.length, 'every job of the queue, and only of that queue');
    },
  ),

  listJobsFilters: defineCheck(
    'queue: reading',
    'listJobs filters by queue, state and type, combined',
    async ({ backend, clock }) => {
      await backend.queue.enqueue(newJob('fa', { id: 'fa-1', type: 'mail' }));
      await backend.queue.enqueue(newJob('fa', { id: 'fa-2', type: 'sms' }));
      await backend.queue.enqueue(newJob('fa', { id: 'fa-3', type: 'mail', delayMs: 1000 }));
      await backend.queue.enqueue(newJob('fb', { id: 'fb-1', type: 'mail' }));
      clock.advance(1);
      await claimOne(backend, 'fb');
      const ids = async (q: Parameters<typeof backend.queue.listJobs>[0]) =>
        (await backend.queue.listJobs(q)).items.map((j) => j.id).sort();
      assert.deepEqual(await ids({ queue: 'fa', limit: 100 }), ['fa-1', 'fa-2', 'fa-3'], 'by queue');
      assert.deepEqual(await ids({ state: 'waiting', limit: 100 }), ['fa-1', 'fa-2'], 'by state');
      assert.deepEqual(await ids({ type: 'mail', limit: 100 }), ['fa-1', 'fa-3', 'fb-1'], 'by type');
      assert.deepEqual(await ids({ queue: 'fa', type: 'mail', state: 'scheduled', limit: 100 }), ['fa-3'], 'all');
      assert.deepEqual(await ids({ state: 'active', limit: 100 }), ['fb-1'], 'active');
      assert.deepEqual(await ids({ queue: 'nope', limit: 100 }), [], 'an unknown queue is empty');
    },
  ),

  garbageCursorIsRejected: defineCheck(
    'queue: reading',
    'listJobs rejects a cursor it did not make with VALIDATION_FAILED',
    async ({ backend }) => {
      await backend.queue.enqueue(newJob('cursor'));
      for (const cursor of ['not-a-cursor', '%%%', Buffer.from('{"x":1}').toString('base64url')]) {
        await expectConveyorError(
          () => backend.queue.listJobs({ queue: 'cursor', limit: 10, cursor }),
          'VALIDATION_FAILED',
          `listJobs with cursor ${JSON.stringify(cursor)}`,
        );
      }
    },
  ),

  // Gated on capabilities.search: substring search is optional because some stores could only do it by scanning
  // every job; such adapters must refuse it loudly (SEARCH_UNSUPPORTED) instead, so exactly one of these two runs.
  searchFindsSubstrings: defineCheck(
    'queue: reading',
    'listJobs({search}) finds jobs by a substring of id, type or payload',
    async ({ backend }) => {
      await backend.queue.enqueue(newJob('search', { id: 'order-needle-1', type: 'ship' }));
      await backend.queue.enqueue(newJob('search', { id: 's2', type: 'needle.type' }));
      await backend.queue.enqueue(newJob('search', { id: 's3', payload: { note: 'a needle in a haystack' } }));
      await backend.queue.enqueue(newJob('search', { id: 's4', payload: { note: 'hay only' } }));
      const found = await backend.queue.listJobs({ queue: 'search', search: 'needle', limit: 100 });
      assert.deepEqual(found.items.map((j) => j.id).sort(), ['order-needle-1', 's2', 's3']);
    },
    (caps) => (caps.search ? null : 'capabilities.search is false (SEARCH_UNSUPPORTED is checked instead)'),
  ),

  searchUnsupportedIsRefused: defineCheck(
    'queue: reading',
    'listJobs({search}) on a backend without the search capability throws SEARCH_UNSUPPORTED',
    async ({ backend }) => {
      await expectConveyorError(
        () => backend.queue.listJobs({ search: 'x', limit: 10 }),
        'SEARCH_UNSUPPORTED',
        'listJobs with search',
      );
    },
    (caps) => (caps.search ? 'capabilities.search is true (search results are checked instead)' : null),
  ),

  countsCoverEveryState: defineCheck(
    'queue: reading',
    'counts() answers every state of every queue, and counts(queue) only that queue',
    async ({ backend, clock }) => {
      await backend.queue.enqueue(newJob('ca'));
      await backend.queue.enqueue(newJob('ca', { delayMs: 100 }));
      await backend.queue.enqueue(newJob('ca'));
      await backend.queue.enqueue(newJob('cb'));
      const active = await claimOne(backend, 'ca');
      await backend.queue.complete([{ jobId: active.id, token: active.token }]);
      await claimOne(backend, 'ca');
      clock.advance(1);
      const all = await backend.queue.counts();
      assert.deepEqual(all['ca'], stateCounts({ scheduled: 1, active: 1, completed: 1 }));
      assert.deepEqual(all['cb'], stateCounts({ waiting: 1 }));
      const one = await backend.queue.counts('cb');
      assert.deepEqual(Object.keys(one), ['cb'], 'counts(queue) answers that queue only');
      const unknown = (await backend.queue.counts('nothing-here'))['nothing-here'];
      ensure(
        unknown === undefined || JSON.stringify(unknown) === JSON.stringify(stateCounts()),
        'an unknown queue is absent or all zeros',
      );
    },
  ),

  listQueuesReportsCountsAndOldestWaiting: defineCheck(
    'queue: reading',
    'listQueues lists every queue with its counts, pause flag and the runAt of its oldest waiting job',
    async ({ backend, clock }) => {
      const t0 = clock.now();
      await backend.queue.enqueue(newJob('la', { runAt: t0 - 500 }));
      clock.advance(10);
      await backend.queue.enqueue(newJob('la'));
      await backend.queue.enqueue(newJob('lb', { delayMs: 1000 }));
      // Compare the contract's fields only, so an adapter may add its own.
      const byName = async () =>
        new Map(
          (await backend.queue.listQueues()).map((q) => [
            q.name,
            { name: q.name, paused: q.paused, counts: q.counts, oldestWaitingAt: q.oldestWaitingAt },
          ]),
        );
      let queues = await byName();
      assert.deepEqual(queues.get('la'), {
        name: 'la',
        paused: false,
        counts: stateCounts({ waiting: 2 }),
        oldestWaitingAt: t0 - 500,
      });
      assert.deepEqual(queues.get('lb'), {
        name: 'lb',
        paused: false,
        counts: stateCounts({ scheduled: 1 }),
        oldestWaitingAt: null,
      });
      await claimOne(backend, 'la'); // takes the oldest (earliest runAt)
      queues = await byName();
      assert.equal(queues.get('la')?.oldestWaitingAt, t0 + 10, 'the oldest remaining waiting job');
    },
  ),
};
