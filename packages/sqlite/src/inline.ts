import type { ConveyorEvent, ExecutionRecord, Job, MetricEvent } from '@conveyor/core';
import { appendShared, othersListening } from './event-bus';
import type { JobRow } from './job-row';
import { writeMetrics } from './metrics-adapter';
import { writeRecords } from './storage-adapter';
import type { SqliteStore } from './store';

/** ISO-8601 UTC of a time in ms. */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * The history an `inlineRecords` change writes with itself (capability `inlineRecords`): metrics, execution records
 * and events, gathered while the change runs and written by {@link InlineWrites.write} before the transaction
 * commits; events reach this process's listeners by {@link InlineWrites.deliver} once it committed. Events are
 * built only when someone can receive them (a listener here, or another connection subscribed to the table):
 * otherwise publishing them would change nothing.
 */
export class InlineWrites {
  private readonly metrics: MetricEvent[] = [];
  private readonly enqueuedCounts = new Map<string, MetricEvent>();
  private readonly records: ExecutionRecord[] = [];
  private readonly events: ConveyorEvent[] = [];
  private others: boolean | undefined;

  constructor(private readonly store: SqliteStore) {}

  /** Whether another connection is subscribed (read once per change). */
  private othersListening(): boolean {
    if (this.others === undefined) this.others = othersListening(this.store);
    return this.others;
  }

  /** Whether events are worth building. */
  wantsEvents(): boolean {
    return (this.store.localBus?.listenerCount() ?? 0) > 0 || this.othersListening();
  }

  /** `n` jobs of (queue, type) stored at `at`: one `enqueued` metric per distinct (queue, type, time). */
  enqueued(queue: string, type: string, at: number, n: number): void {
    const key = `${queue}\u0000${type}\u0000${at}`;
    const metric = this.enqueuedCounts.get(key);
    if (metric === undefined) this.enqueuedCounts.set(key, { kind: 'enqueued', queue, type, at, count: n });
    else metric.count = (metric.count ?? 1) + n;
  }

  /** The `job.enqueued` event of a stored job (`seq` makes the id: `je<seq>`). */
  enqueuedEvent(job: Job, seq: number): void {
    this.events.push({
      id: `je${seq}`,
      type: 'job.enqueued',
      timestamp: iso(job.createdAt),
      queue: job.queue,
      jobId: job.id,
      data: { type: job.type, state: job.state, priority: job.priority, runAt: iso(job.runAt) },
    });
  }

  /** A claimed job's `started` metric (wait = claim time − runAt), and its event when `event` (`js<token>`). */
  started(row: JobRow, at: number, workerId: string, event: boolean): void {
    this.metrics.push({
      kind: 'started',
      queue: row.queue,
      type: row.type,
      at,
      waitMs: Math.max(0, at - row.run_at),
      count: 1,
    });
    if (event) {
      this.events.push({
        id: `js${row.token}`,
        type: 'job.started',
        timestamp: iso(at),
        queue: row.queue,
        jobId: row.id,
        workerId,
        data: { type: row.type, attempt: row.attempt, maxAttempts: row.max_attempts },
      });
    }
  }

  /** What the runtime handed with an ack that was accepted. */
  acked(record: ExecutionRecord, metric: MetricEvent, event: ConveyorEvent | undefined): void {
    this.records.push(record);
    this.metrics.push(metric);
    if (event !== undefined) this.events.push(event);
  }

  /** Write everything gathered, inside the change's transaction. */
  write(): void {
    for (const metric of this.enqueuedCounts.values()) this.metrics.push(metric);
    if (this.metrics.length > 0) writeMetrics(this.store, this.metrics);
    if (this.records.length > 0) writeRecords(this.store, this.records);
    if (this.events.length > 0 && this.othersListening()) appendShared(this.store, this.events);
  }

  /** After the commit: the events to this process's listeners. */
  deliver(): void {
    if (this.events.length > 0) this.store.localBus?.deliverLocal(this.events);
  }
}
