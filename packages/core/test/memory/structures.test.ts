import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeapItem } from '../../src/memory/indexed-heap';
import { IndexedHeap } from '../../src/memory/indexed-heap';
import { SortedIndex } from '../../src/memory/sorted-index';

interface Item extends HeapItem {
  key: number;
  id: number;
}

const order = (a: { key: number; id: number }, b: { key: number; id: number }) => a.key - b.key || a.id - b.id;

/** insert (key) or delete (index into the live items), enough of them to split chunks of 512. */
const ops = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ op: fc.constant('insert' as const), key: fc.integer({ min: 0, max: 50 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('delete' as const), key: fc.nat() }) },
  ),
  { maxLength: 3_000, size: 'max' },
);

describe('SortedIndex', () => {
  it('matches a sorted array under random inserts and deletes, and resumes descending after any key', () => {
    fc.assert(
      fc.property(ops, fc.integer({ min: 0, max: 60 }), (steps, probe) => {
        const index = new SortedIndex<Item, { key: number; id: number }>(order);
        const model: Item[] = [];
        let nextId = 0;
        for (const step of steps) {
          if (step.op === 'insert') {
            const item = { key: step.key, id: nextId++, heapIndex: -1 };
            index.insert(item);
            model.push(item);
          } else if (model.length > 0) {
            const at = step.key % model.length;
            const victim = model[at] as Item;
            // Plain checks inside the loop: thousands of expect() calls per run would dominate the test's time.
            if (!index.delete(victim) || index.delete(victim)) throw new Error(`delete of ${victim.id} misbehaved`);
            model.splice(at, 1);
          }
        }
        model.sort(order);
        expect(index.size).toBe(model.length);
        expect([...index.ascending()]).toEqual(model);
        expect([...index.descending()]).toEqual([...model].reverse());
        const below = { key: probe, id: Math.floor(nextId / 2) };
        expect([...index.descending(below)]).toEqual(model.filter((m) => order(m, below) < 0).reverse());
      }),
      { numRuns: 25 },
    );
  });
});

describe('IndexedHeap', () => {
  it('pops in order after random pushes and removals from the middle', () => {
    fc.assert(
      fc.property(ops, (steps) => {
        const heap = new IndexedHeap<Item>(order);
        const live: Item[] = [];
        let nextId = 0;
        for (const step of steps) {
          if (step.op === 'insert') {
            const item = { key: step.key, id: nextId++, heapIndex: -1 };
            heap.push(item);
            live.push(item);
          } else if (live.length > 0) {
            const at = step.key % live.length;
            const victim = live[at] as Item;
            if (!heap.remove(victim) || victim.heapIndex !== -1 || heap.remove(victim)) {
              throw new Error(`remove of ${victim.id} misbehaved`);
            }
            live[at] = live[live.length - 1] as Item;
            live.pop();
          }
        }
        const expected = live.sort(order);
        const popped: Item[] = [];
        for (let top = heap.pop(); top !== undefined; top = heap.pop()) popped.push(top);
        expect(popped).toEqual(expected);
      }),
      { numRuns: 25 },
    );
  });
});
