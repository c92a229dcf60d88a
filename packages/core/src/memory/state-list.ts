/**
 * An intrusive doubly linked list: the items carry their own `prev`/`next` links, so adding, removing and finding the
 * oldest item cost no hashing and no allocation. The memory queue keeps one list per (queue, state); a job is in
 * exactly one list at a time, which is why one pair of links per job is enough.
 */

/** An item that can sit in a {@link StateList}. */
export interface ListItem<T> {
  prev: T | null;
  next: T | null;
}

export class StateList<T extends ListItem<T>> {
  head: T | null = null;
  tail: T | null = null;
  size = 0;

  /** Append (the newest end). */
  push(item: T): void {
    item.prev = this.tail;
    item.next = null;
    if (this.tail === null) this.head = item;
    else this.tail.next = item;
    this.tail = item;
    this.size++;
  }

  /** Unlink an item that is in this list. */
  remove(item: T): void {
    const { prev, next } = item;
    if (prev === null) this.head = next;
    else prev.next = next;
    if (next === null) this.tail = prev;
    else next.prev = prev;
    item.prev = null;
    item.next = null;
    this.size--;
  }

  /** Oldest first. Do not remove items while iterating (collect them first). */
  *[Symbol.iterator](): Generator<T, void, undefined> {
    for (let item = this.head; item !== null; item = item.next) yield item;
  }

  toArray(): T[] {
    const out = new Array<T>(this.size);
    let i = 0;
    for (let item = this.head; item !== null; item = item.next) out[i++] = item;
    return out;
  }
}
