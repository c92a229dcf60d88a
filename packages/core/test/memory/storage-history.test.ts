import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ExecutionRecord } from '../../src/contracts/storage-adapter';
import { MemoryStorageAdapter } from '../../src/memory/index';
import { SortedIndex } from '../../src/memory/sorted-index';
import { fakeClock } from './helpers';

function rec(jobId: string, startedAt: number, id: string, attempt = 1): ExecutionRecord {
  return {
    id,
    jobId,
    queue: 'q',
    type: 't',
    attempt,
    status: 'success',
    startedAt,
    finishedAt: startedAt + 5,
    durationMs: 5,
    workerId: 'w',
    result: null,
    error: null,
  };
}

const byNewest = (a: ExecutionRecord, b: ExecutionRecord) =>
  b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

describe('memory storage: bounded history and the lazy per-job index', () => {
  it('evicts the oldest by startedAt, also from a per-job index that is alive', async () => {
    const s = new MemoryStorageAdapter({ maxExecutions: 3 });
    await s.recordExecutions([rec('a', 10, 'e1'), rec('b', 20, 'e2'), rec('a', 30, 'e3', 2)]);
    // Build the per-job index, then push the oldest records out.
    expect((await s.listExecutions('a', { limit: 10 })).items.map((r) => r.id)).toEqual(['e3', 'e1']);
    // Written last but started first: it is the oldest, so it is the one dropped.
    await s.recordExecutions([rec('c', 40, 'e4'), rec('a', 5, 'e0')]);
    expect((await s.recentExecutions({ limit: 10 })).map((r) => r.id)).toEqual(['e4', 'e3', 'e2']);
    expect((await s.listExecutions('a', { limit: 10 })).items.map((r) => r.id)).toEqual(['e3']);
    expect((await s.summarizeExecutions('a')).totalExecutions).toBe(1);
    await s.recordExecutions([rec('d', 50, 'e5'), rec('e', 60, 'e6')]);
    expect((await s.listExecutions('a', { limit: 10 })).items).toEqual([]);
    expect((await s.summarizeExecutions('a')).totalExecutions).toBe(0);
  });

  it('keeps answering per job after the index went idle and was dropped', async () => {
    const clock = fakeClock(1_000);
    const s = new MemoryStorageAdapter({ clock });
    await s.recordExecutions([rec('a', 1, 'e1')]);
    expect((await s.listExecutions('a', { limit: 10 })).items).toHaveLength(1);
    clock.advance(120_000);
    // This write finds the index idle and drops it; the next read rebuilds it with everything.
    await s.recordExecutions([rec('a', 2, 'e2', 2), rec('b', 3, 'e3')]);
    expect((await s.listExecutions('a', { limit: 10 })).items.map((r) => r.id)).toEqual(['e2', 'e1']);
    await s.recordExecutions([rec('a', 4, 'e4', 3)]);
    expect((await s.listExecutions('a', { limit: 10 })).items.map((r) => r.id)).toEqual(['e4', 'e2', 'e1']);
  });

  it('keeps one copy of a record written again, in the same batch or later, index alive or not', async () => {
    const s = new MemoryStorageAdapter();
    const r = rec('a', 7, 'e1');
    await s.recordExecutions([r, { ...r }]);
    await s.listExecutions('a', { limit: 1 });
    await s.recordExecutions([{ ...r, status: 'failed' }]);
    expect((await s.listExecutions('a', { limit: 10 })).items).toEqual([r]);
    expect(await s.recentExecutions({ limit: 10 })).toEqual([r]);
  });

  it('stores copies: mutating a written or a returned record changes nothing stored', async () => {
    const s = new MemoryStorageAdapter();
    const r = { ...rec('a', 7, 'e1'), error: { message: 'm', code: 'C', stack: null } };
    await s.recordExecutions([r]);
    r.status = 'failed';
    r.error.message = 'changed';
    const [got] = await s.recentExecutions({ limit: 1 });
    expect(got).toMatchObject({ status: 'success', error: { message: 'm' } });
    if (got?.error) got.error.message = 'changed too';
    expect((await s.listExecutions('a', { limit: 1 })).items[0]?.error?.message).toBe('m');
  });

  it('matches a plain model under random writes, reads, evictions and cleanups', async () => {
    const step = fc.oneof(
      {
        weight: 4,
        arbitrary: fc.record({
          op: fc.constant('write' as const),
          batch: fc.array(
            fc.record({ job: fc.integer({ min: 0, max: 5 }), at: fc.integer({ min: 0, max: 40 }), id: fc.nat(60) }),
            { minLength: 1, maxLength: 6 },
          ),
        }),
      },
      { weight: 2, arbitrary: fc.record({ op: fc.constant('read' as const), job: fc.integer({ min: 0, max: 5 }) }) },
      {
        weight: 1,
        arbitrary: fc.record({ op: fc.constant('cleanup' as const), before: fc.integer({ min: 0, max: 45 }) }),
      },
      { weight: 1, arbitrary: fc.record({ op: fc.constant('idle' as const) }) },
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { maxLength: 40 }), fc.integer({ min: 1, max: 12 }), async (steps, max) => {
        const clock = fakeClock(0);
        const s = new MemoryStorageAdapter({ clock, maxExecutions: max });
        let model: ExecutionRecord[] = [];
        for (const st of steps) {
          if (st.op === 'write') {
            const batch = st.batch.map((b) => rec(`j${b.job}`, b.at, `e${String(b.id).padStart(3, '0')}`));
            await s.recordExecutions(batch);
            for (const r of batch) {
              if (!model.some((m) => m.id === r.id && m.startedAt === r.startedAt)) model.push(r);
            }
            model.sort(byNewest);
            model = model.slice(0, max);
          } else if (st.op === 'read') {
            const jobId = `j${st.job}`;
            const expected = model.filter((m) => m.jobId === jobId);
            const pages: string[] = [];
            let cursor: string | null = null;
            do {
              const page = await s.listExecutions(jobId, { limit: 2, cursor });
              pages.push(...page.items.map((r) => r.id));
              cursor = page.nextCursor;
            } while (cursor !== null);
            expect(pages).toEqual(expected.map((m) => m.id));
            expect((await s.summarizeExecutions(jobId)).totalExecutions).toBe(expected.length);
          } else if (st.op === 'cleanup') {
            const removed = await s.cleanupExecutions(st.before);
            expect(removed).toBe(model.filter((m) => m.finishedAt < st.before).length);
            model = model.filter((m) => !(m.finishedAt < st.before));
          } else {
            clock.advance(61_000);
          }
          expect((await s.recentExecutions({ limit: 1000 })).map((r) => r.id)).toEqual(model.map((m) => m.id));
        }
      }),
      { numRuns: 150 },
    );
  });
});

describe('SortedIndex: duplicates and trimming', () => {
  const order = (a: number, b: number) => a - b;

  it('refuses a key already present, on the append path and in the middle', () => {
    const index = new SortedIndex<number>(order);
    expect(index.insert(5)).toBe(true);
    expect(index.insert(5)).toBe(false);
    expect(index.insert(1)).toBe(true);
    expect(index.insert(1)).toBe(false);
    expect(index.insert(3)).toBe(true);
    expect([...index.ascending()]).toEqual([1, 3, 5]);
    expect(index.size).toBe(3);
  });

  it('drops the smallest items across chunks and reports each, smallest first', () => {
    const index = new SortedIndex<number>(order);
    for (let i = 0; i < 3000; i++) index.insert(i);
    const gone: number[] = [];
    index.dropFirst(1500, (x) => gone.push(x));
    expect(gone).toEqual(Array.from({ length: 1500 }, (_, i) => i));
    expect(index.size).toBe(1500);
    expect(index.first()).toBe(1500);
    expect([...index.descending(1502)]).toEqual([1501, 1500]);
    index.insert(10);
    expect(index.first()).toBe(10);
    index.dropFirst(10_000);
    expect(index.size).toBe(0);
    expect([...index.ascending()]).toEqual([]);
    expect(index.insert(7)).toBe(true);
    expect([...index.descending()]).toEqual([7]);
  });
});
