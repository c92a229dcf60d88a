/**
 * An ordered set of items kept as a list of sorted chunks (the layout of Python's `sortedcontainers`): insert and
 * delete cost a binary search plus a splice inside one chunk of at most `2 × CHUNK` items, and iterating from any
 * position is a binary search away. The memory adapters use it for "newest first, resume after this cursor" lists,
 * so a page never sorts the whole set.
 */

/** Target chunk length; a chunk is split in two when it grows past twice this. */
const CHUNK = 512;

/** Ascending order: negative when `a` sorts before `b`. Keys must be unique (ties broken by an id). */
export type KeyOrder<K> = (a: K, b: K) => number;

export class SortedIndex<T extends K, K = T> {
  private chunks: T[][] = [];
  /** The last (largest) item of each chunk. */
  private maxes: T[] = [];
  private count = 0;

  constructor(private readonly order: KeyOrder<K>) {}

  get size(): number {
    return this.count;
  }

  /**
   * Add an item; returns false (and changes nothing) when an item with an equal key is already present, so a key
   * written twice is kept once.
   */
  insert(item: T): boolean {
    const { chunks, maxes, order } = this;
    const lastIndex = chunks.length - 1;
    if (lastIndex < 0) {
      chunks.push([item]);
      maxes.push(item);
      this.count++;
      return true;
    }
    // Fast path: keys that only grow (createdAt of new jobs, startedAt of new executions) append to the last chunk.
    const vsMax = order(item, maxes[lastIndex] as T);
    if (vsMax > 0) {
      const last = chunks[lastIndex] as T[];
      last.push(item);
      maxes[lastIndex] = item;
      this.count++;
      if (last.length > 2 * CHUNK) this.split(lastIndex);
      return true;
    }
    if (vsMax === 0) return false;
    // Near-append (keys that tie on time and differ in a random id) lands in the last chunk: skip the chunk search.
    const lastChunk = chunks[lastIndex] as T[];
    const ci = order(item, lastChunk[0] as T) > 0 ? lastIndex : this.chunkFor(item);
    const chunk = chunks[ci] as T[];
    const pos = lowerBound(chunk, item, order);
    if (pos < chunk.length && order(chunk[pos] as T, item) === 0) return false;
    chunk.splice(pos, 0, item);
    this.count++;
    maxes[ci] = chunk[chunk.length - 1] as T;
    if (chunk.length > 2 * CHUNK) this.split(ci);
    return true;
  }

  /**
   * Remove the `n` smallest items (all of them when `n` >= size) and hand each to `removed`, smallest first. Costs
   * one splice per chunk touched, so trimming the oldest end of a bounded history is cheap.
   */
  dropFirst(n: number, removed?: (item: T) => void): void {
    let left = Math.min(n, this.count);
    if (left <= 0) return;
    this.count -= left;
    const { chunks } = this;
    let whole = 0;
    while (left > 0) {
      const chunk = chunks[whole] as T[];
      if (chunk.length <= left) {
        if (removed !== undefined) for (const item of chunk) removed(item);
        left -= chunk.length;
        whole++;
      } else {
        const gone = chunk.splice(0, left);
        if (removed !== undefined) for (const item of gone) removed(item);
        left = 0;
      }
    }
    if (whole > 0) {
      chunks.splice(0, whole);
      this.maxes.splice(0, whole);
    }
  }

  /** Remove the item with this key; returns false when absent. */
  delete(item: K): boolean {
    const { chunks, maxes, order } = this;
    if (chunks.length === 0) return false;
    const ci = this.chunkFor(item);
    const chunk = chunks[ci] as T[];
    const pos = lowerBound(chunk, item, order);
    if (pos >= chunk.length || order(chunk[pos] as T, item) !== 0) return false;
    chunk.splice(pos, 1);
    this.count--;
    if (chunk.length === 0) {
      chunks.splice(ci, 1);
      maxes.splice(ci, 1);
    } else {
      maxes[ci] = chunk[chunk.length - 1] as T;
    }
    return true;
  }

  /** Items in descending order, starting strictly below `below` when given (the cursor of the previous page). */
  *descending(below?: K): Generator<T, void, undefined> {
    const { chunks, order } = this;
    if (chunks.length === 0) return;
    let ci = chunks.length - 1;
    let pos = (chunks[ci] as T[]).length - 1;
    if (below !== undefined) {
      ci = this.chunkFor(below);
      const chunk = chunks[ci] as T[];
      pos = lowerBound(chunk, below, order) - 1;
    }
    // The set must not change while a caller iterates: every caller consumes synchronously.
    for (; ci >= 0; ci--) {
      const chunk = chunks[ci] as T[];
      if (pos >= chunk.length) pos = chunk.length - 1;
      for (; pos >= 0; pos--) yield chunk[pos] as T;
      pos = Number.POSITIVE_INFINITY;
    }
  }

  /** Items in ascending order (oldest first). */
  *ascending(): Generator<T, void, undefined> {
    for (const chunk of this.chunks) for (const item of chunk) yield item;
  }

  /** The smallest item, or undefined when empty. */
  first(): T | undefined {
    return this.chunks[0]?.[0];
  }

  /** Replace the content with items already in ascending order (bulk load, no comparisons). */
  load(sorted: readonly T[]): void {
    this.chunks = [];
    this.maxes = [];
    for (let i = 0; i < sorted.length; i += CHUNK) {
      const chunk = sorted.slice(i, i + CHUNK);
      this.chunks.push(chunk);
      this.maxes.push(chunk[chunk.length - 1] as T);
    }
    this.count = sorted.length;
  }

  clear(): void {
    this.chunks = [];
    this.maxes = [];
    this.count = 0;
  }

  /** Index of the first chunk whose largest item is >= key (the last chunk when every item is smaller). */
  private chunkFor(key: K): number {
    const { maxes, order } = this;
    let lo = 0;
    let hi = maxes.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (order(maxes[mid] as T, key) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private split(ci: number): void {
    const chunk = this.chunks[ci] as T[];
    const upper = chunk.splice(CHUNK);
    this.chunks.splice(ci + 1, 0, upper);
    this.maxes[ci] = chunk[chunk.length - 1] as T;
    this.maxes.splice(ci + 1, 0, upper[upper.length - 1] as T);
  }
}

/** First position in `items` whose item is >= key. */
function lowerBound<T extends K, K>(items: T[], key: K, order: KeyOrder<K>): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (order(items[mid] as T, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
