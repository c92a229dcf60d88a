import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { HeapItem } from '../../src/memory/indexed-heap';
import { ReadyQueue } from '../../src/memory/ready-queue';

interface Item extends HeapItem {
  key: number;
  id: number;
}

const order = (a: Item, b: Item) => a.key - b.key || a.id - b.id;

/** Mostly growing keys (the FIFO run), some smaller ones (the heap), removals from anywhere, pops. */
const steps = fc.array(
  fc.oneof(
    { weight: 6, arbitrary: fc.record({ op: fc.constant('push' as const), delta: fc.integer({ min: -3, max: 4 }) }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant('pop' as const), n: fc.integer({ min: 1, max: 40 }) }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('remove' as const), at: fc.nat() }) },
  ),
  { maxLength: 4_000, size: 'max' },
);

describe('ReadyQueue', () => {
  it('comes out in exactly the heap order under pushes, pops and removals from the middle', () => {
    fc.assert(
      fc.property(steps, (ops) => {
        const queue = new ReadyQueue<Item>(order);
        let live: Item[] = [];
        let key = 0;
        let id = 0;
        for (const op of ops) {
          if (op.op === 'push') {
            key += op.delta;
            const item = { key, id: id++, heapIndex: -1 };
            queue.push(item);
            live.push(item);
          } else if (op.op === 'pop') {
            live.sort(order);
            for (let i = 0; i < op.n; i++) {
              const got = queue.pop();
              const want = live.shift();
              if (got !== want) throw new Error(`popped ${got?.id} instead of ${want?.id}`);
              if (got !== undefined && got.heapIndex !== -1) throw new Error('a popped item kept a position');
            }
          } else if (live.length > 0) {
            const victim = live[op.at % live.length] as Item;
            if (!queue.remove(victim) || queue.remove(victim)) throw new Error(`remove of ${victim.id} misbehaved`);
            live = live.filter((x) => x !== victim);
          }
          if (queue.size !== live.length) throw new Error(`size ${queue.size}, expected ${live.length}`);
        }
        live.sort(order);
        const rest: Item[] = [];
        for (let item = queue.pop(); item !== undefined; item = queue.pop()) rest.push(item);
        expect(rest).toEqual(live);
        expect(queue.peek()).toBeUndefined();
      }),
      { numRuns: 40 },
    );
  });

  it('keeps long in-order runs out of the heap and compacts the spent front', () => {
    const queue = new ReadyQueue<Item>(order);
    const items = Array.from({ length: 5_000 }, (_, i) => ({ key: i, id: i, heapIndex: -1 }));
    for (const item of items) queue.push(item);
    expect(items.every((item) => item.heapIndex <= -2)).toBe(true);
    for (let i = 0; i < 3_000; i++) expect(queue.pop()).toBe(items[i]);
    // After compaction the remaining items still know their slot: removing one from the middle works.
    expect(queue.remove(items[4_000] as Item)).toBe(true);
    expect(queue.size).toBe(1_999);
    expect(queue.pop()).toBe(items[3_000]);
  });
});
