import type { HeapItem, HeapOrder } from './indexed-heap';
import { IndexedHeap } from './indexed-heap';

/** Compact the run once this many slots at its front are spent and they are at least half of it. */
const COMPACT_AT = 1024;

/**
 * A priority queue for claimable jobs that is a plain FIFO in the common case. Jobs usually become ready in claim
 * order (same priority, `runAt` = enqueue time, increasing insertion number), so an item that sorts after the last
 * one appended joins the `run`, an array consumed from the front in O(1) without comparisons or cache-missing
 * sift-downs; only items that arrive out of order (a higher priority, a retry whose time came, a clock moved back)
 * go to an {@link IndexedHeap}. `peek`/`pop` take the smaller of the two fronts, so the order is exactly the heap's.
 *
 * Position bookkeeping rides on {@link HeapItem.heapIndex}: `>= 0` is a heap position (the heap's own), `-1` is "in
 * no queue", and `-2 - i` is slot `i` of the run, so an item can still be removed from the middle in O(1) (its slot
 * becomes a hole that `peek` skips).
 */
export class ReadyQueue<T extends HeapItem> {
  private readonly heap: IndexedHeap<T>;
  /** Items in ascending order from `head`; removed ones leave `undefined` holes. */
  private run: (T | undefined)[] = [];
  private head = 0;
  private runLive = 0;
  /** The last item appended to the run (even if removed since): a new item must sort after it to join the run. */
  private runTail: T | undefined = undefined;

  constructor(private readonly before: HeapOrder<T>) {
    this.heap = new IndexedHeap<T>(before);
  }

  get size(): number {
    return this.heap.size + this.runLive;
  }

  /** The item that would come out next, without removing it. */
  peek(): T | undefined {
    const top = this.heap.peek();
    const front = this.runFront();
    if (front === undefined) return top;
    if (top === undefined) return front;
    return this.before(top, front) < 0 ? top : front;
  }

  push(item: T): void {
    const tail = this.runTail;
    if (tail === undefined || this.before(tail, item) < 0) {
      item.heapIndex = -2 - this.run.length;
      this.run.push(item);
      this.runLive++;
      this.runTail = item;
    } else {
      this.heap.push(item);
    }
  }

  pop(): T | undefined {
    const item = this.peek();
    if (item !== undefined) this.remove(item);
    return item;
  }

  /** Remove an item held by this queue; returns false when it is not in it. */
  remove(item: T): boolean {
    const at = item.heapIndex;
    if (at >= 0) return this.heap.remove(item);
    const slot = -2 - at;
    if (slot < 0 || this.run[slot] !== item) return false;
    this.run[slot] = undefined;
    item.heapIndex = -1;
    this.runLive--;
    if (slot === this.head) this.advance();
    return true;
  }

  /** The first live item of the run (after skipping holes), or undefined. */
  private runFront(): T | undefined {
    return this.runLive === 0 ? undefined : this.run[this.head];
  }

  /** Move `head` past holes; reset or compact the run when its front is mostly spent. */
  private advance(): void {
    const run = this.run;
    if (this.runLive === 0) {
      this.run = [];
      this.head = 0;
      this.runTail = undefined;
      return;
    }
    let head = this.head;
    while (run[head] === undefined) head++;
    this.head = head;
    if (head >= COMPACT_AT && head * 2 >= run.length) {
      const kept = run.slice(head);
      for (let i = 0; i < kept.length; i++) {
        const item = kept[i];
        if (item !== undefined) item.heapIndex = -2 - i;
      }
      this.run = kept;
      this.head = 0;
    }
  }
}
