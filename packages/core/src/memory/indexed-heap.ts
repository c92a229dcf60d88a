/**
 * A binary heap whose items know their own position (`heapIndex`), so an item can be removed from the middle in
 * O(log n). The memory queue adapter keeps each job in at most one heap at a time (its queue's delayed heap or one
 * ready heap), which is why a single position field per item is enough.
 */

/** An item that can sit in an {@link IndexedHeap}: the heap writes its position here (-1 when in no heap). */
export interface HeapItem {
  heapIndex: number;
}

/** Negative when `a` must come out before `b`. */
export type HeapOrder<T> = (a: T, b: T) => number;

export class IndexedHeap<T extends HeapItem> {
  private readonly items: T[] = [];

  constructor(private readonly before: HeapOrder<T>) {}

  get size(): number {
    return this.items.length;
  }

  /** The item that would come out next, without removing it. */
  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    item.heapIndex = this.items.length;
    this.items.push(item);
    this.up(item.heapIndex);
  }

  pop(): T | undefined {
    const top = this.items[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  /** Remove an item held by this heap; returns false when it is not in it. */
  remove(item: T): boolean {
    const i = item.heapIndex;
    if (i < 0 || this.items[i] !== item) return false;
    this.removeAt(i);
    return true;
  }

  private removeAt(i: number): void {
    const items = this.items;
    const removed = items[i] as T;
    const last = items.pop() as T;
    removed.heapIndex = -1;
    if (i === items.length) return;
    items[i] = last;
    last.heapIndex = i;
    this.down(i);
    if (items[i] === last) this.up(i);
  }

  private up(start: number): void {
    const items = this.items;
    let i = start;
    const item = items[i] as T;
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex] as T;
      if (this.before(item, parent) >= 0) break;
      items[i] = parent;
      parent.heapIndex = i;
      i = parentIndex;
    }
    items[i] = item;
    item.heapIndex = i;
  }

  private down(start: number): void {
    const items = this.items;
    const n = items.length;
    let i = start;
    const item = items[i] as T;
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && this.before(items[right] as T, items[left] as T) < 0) child = right;
      const c = items[child] as T;
      if (this.before(c, item) >= 0) break;
      items[i] = c;
      c.heapIndex = i;
      i = child;
    }
    items[i] = item;
    item.heapIndex = i;
  }
}
