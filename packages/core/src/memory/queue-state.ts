import type { JobState } from '../contracts/job';
import { JOB_STATES } from '../contracts/job';
import type { StateCounts } from '../contracts/queue-adapter';
import { IndexedHeap } from './indexed-heap';
import type { JobKey, JobRecord } from './job-record';
import { delayedOrder, jobKeyOrder, readyOrder } from './job-record';
import { ReadyQueue } from './ready-queue';
import { SortedIndex } from './sorted-index';
import { StateList } from './state-list';

export function zeroCounts(): StateCounts {
  return { waiting: 0, scheduled: 0, retrying: 0, active: 0, completed: 0, failed: 0, cancelled: 0 };
}

/** An ordered index nobody has read for this long is dropped, so the claim path stops paying for it. */
const INDEX_IDLE_MS = 60_000;

/**
 * Everything the memory store keeps for one queue. Each job of the queue is in exactly one `members` list (that of
 * its state) and in at most one heap: `delayed` while it waits for its time, or the ready heap of its type once it
 * can be claimed. A due `scheduled` or `retrying` job keeps its state until it is claimed; moving it to a ready heap
 * is invisible to callers.
 *
 * The (createdAt, id) index of a state, which newest-first pages need, is built on the first read of that state and
 * then kept up to date while it is being read; after {@link INDEX_IDLE_MS} without a read it is dropped. So a queue
 * nobody lists (a worker-only process, the benchmark) pays nothing for it, and a watched queue pays O(log n) per
 * state change instead of a sort per page.
 */
export class QueueState {
  paused = false;
  /** Jobs per state: kept by counters, never counted by a scan. */
  readonly counts: StateCounts = zeroCounts();
  /** Jobs per state in the order they entered it: the oldest finished job first, for retention and clean. */
  readonly members = {} as Record<JobState, StateList<JobRecord>>;
  /** Claimable jobs per type. One queue per type lets a claim filtered by type skip the others without a scan. */
  readonly ready = new Map<string, ReadyQueue<JobRecord>>();
  /** `scheduled` and `retrying` jobs not yet moved to a ready heap, earliest `runAt` first. */
  readonly delayed = new IndexedHeap<JobRecord>(delayedOrder);
  /** Materialised (createdAt, id) indexes, per state, and when each was last read. */
  private readonly indexes = new Map<JobState, { index: SortedIndex<JobRecord, JobKey>; readAt: number }>();
  /** Smallest `runAt` among waiting jobs, valid while `oldestWaitingDirty` is false. */
  private oldestWaiting: number | null = null;
  private oldestWaitingDirty = false;

  /**
   * @param leases the store-wide map of held leases (token → job), shared by every queue: a job is in it exactly
   * while it is `active`, so acknowledging a lease is a lookup in a map as small as the work in flight.
   */
  constructor(
    readonly name: string,
    private readonly leases: Map<number, JobRecord> = new Map(),
  ) {
    for (const state of JOB_STATES) this.members[state] = new StateList<JobRecord>();
  }

  readyHeap(type: string): ReadyQueue<JobRecord> {
    let heap = this.ready.get(type);
    if (heap === undefined) {
      heap = new ReadyQueue<JobRecord>(readyOrder);
      this.ready.set(type, heap);
    }
    return heap;
  }

  /** Put a job into the structures of `state` (its current `state` field is overwritten). */
  enter(r: JobRecord, state: JobState): void {
    r.state = state;
    if (state === 'active') this.leases.set(r.token, r);
    this.counts[state]++;
    this.members[state].push(r);
    if (this.indexes.size > 0) this.indexes.get(state)?.index.insert(r);
    if (state === 'waiting' && !this.oldestWaitingDirty) {
      if (this.oldestWaiting === null || r.runAt < this.oldestWaiting) this.oldestWaiting = r.runAt;
    }
  }

  /** Take a job out of the structures of its current state. */
  leave(r: JobRecord): void {
    const state = r.state;
    if (state === 'active') this.leases.delete(r.token);
    this.counts[state]--;
    this.members[state].remove(r);
    if (this.indexes.size > 0) this.indexes.get(state)?.index.delete(r);
    if (state === 'waiting' && r.runAt === this.oldestWaiting) this.oldestWaitingDirty = true;
  }

  /** The (createdAt, id) index of a state, built now if nobody read it lately. */
  indexOf(state: JobState, now: number): SortedIndex<JobRecord, JobKey> {
    let entry = this.indexes.get(state);
    if (entry === undefined) {
      const index = new SortedIndex<JobRecord, JobKey>(jobKeyOrder);
      index.load(this.members[state].toArray().sort(jobKeyOrder));
      entry = { index, readAt: now };
      this.indexes.set(state, entry);
    }
    entry.readAt = now;
    return entry.index;
  }

  /** Drop indexes nobody read for a while (called from the claim path, cheap when there are none). */
  dropIdleIndexes(now: number): void {
    if (this.indexes.size === 0) return;
    for (const [state, entry] of this.indexes) {
      if (now - entry.readAt > INDEX_IDLE_MS) this.indexes.delete(state);
    }
  }

  /** Put a pending job into the heap its state calls for. */
  schedule(r: JobRecord): void {
    if (r.state === 'waiting') this.readyHeap(r.type).push(r);
    else if (r.state === 'scheduled' || r.state === 'retrying') this.delayed.push(r);
  }

  /** Take a job out of whichever heap holds it. */
  unschedule(r: JobRecord): void {
    if (r.heapIndex === -1) return;
    if (!this.delayed.remove(r)) this.ready.get(r.type)?.remove(r);
  }

  /** Move every delayed job whose time has come to its ready heap. */
  promoteDue(now: number): void {
    const delayed = this.delayed;
    for (let top = delayed.peek(); top !== undefined && top.runAt <= now; top = delayed.peek()) {
      delayed.pop();
      this.readyHeap(top.type).push(top);
    }
  }

  /**
   * `runAt` of the oldest waiting job. Kept up to date as jobs enter; when the oldest leaves, the next call rescans
   * the waiting set once (a dashboard read, never on the claim path).
   */
  oldestWaitingAt(): number | null {
    if (this.oldestWaitingDirty) {
      let oldest: number | null = null;
      for (let r = this.members.waiting.head; r !== null; r = r.next) {
        if (oldest === null || r.runAt < oldest) oldest = r.runAt;
      }
      this.oldestWaiting = oldest;
      this.oldestWaitingDirty = false;
    }
    return this.counts.waiting === 0 ? null : this.oldestWaiting;
  }
}
