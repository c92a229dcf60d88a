import type { AdapterCapabilities, Clock } from '../contracts/capabilities';
import { conveyorMessage, invalidState, LeaseLostError, notFound } from '../contracts/errors';
import type { ConveyorEvent, EventBus } from '../contracts/events';
import type { ClaimedJob, FinishedState, Job, JobState, NewJob, Page, RetentionOption } from '../contracts/job';
import { JOB_STATES } from '../contracts/job';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';
import type { MetricEvent, MetricsAdapter } from '../contracts/metrics-adapter';
import type {
  AckResult,
  AckSideEffects,
  ClaimRequest,
  CleanRequest,
  CompleteRequest,
  EnqueueCallOptions,
  EnqueueResult,
  ExtendResult,
  FailRequest,
  LeaseRef,
  ListJobsQuery,
  QueueAdapter,
  QueueInfo,
  RecoveredJob,
  ScheduleDefinition,
  StateCounts,
} from '../contracts/queue-adapter';
import type { ExecutionRecord, StorageAdapter } from '../contracts/storage-adapter';
import { makeEvent } from '../runtime/events';
import { decodeCursor, encodeCursor } from '../util/cursor';
import { buildJob, retentionRule, STALLED_ERROR } from '../util/job-defaults';
import { jobFilter, mergeDescending } from './job-listing';
import type { JobKey, JobRecord } from './job-record';
import { isJobState, readyOrder, toClaimed, toJob, toRecord, validateNewJob } from './job-record';
import type { MemoryAdapterOptions } from './options';
import { COMPONENT, checkLimit, closedError, MEMORY_CAPABILITIES, validationError } from './options';
import { QueueState, zeroCounts } from './queue-state';
import type { ReadyQueue } from './ready-queue';
import { ScheduleStore } from './schedule-store';

/**
 * Where a memory queue adapter with `inlineRecords` writes the history that comes with its enqueues, claims and
 * acks: the other three adapters of its backend (see `createMemoryBackend({ inlineRecords: true })`).
 */
export interface MemoryInlineSink {
  storage: StorageAdapter;
  metrics: MetricsAdapter;
  events: EventBus;
}

/** Options of a {@link MemoryQueueAdapter}. */
export interface MemoryQueueOptions extends MemoryAdapterOptions {
  /** Write records, metrics and events with each enqueue, claim and ack (declares `inlineRecords`). */
  inline?: MemoryInlineSink;
}

const DEFAULT_RECOVER_LIMIT = 1000;
const DEFAULT_CLEAN_LIMIT = 1000;

/**
 * The reference {@link QueueAdapter}: every rule of the contract, in one process's memory.
 *
 * Cost: enqueue and each claimed, completed or failed job is O(1) when jobs become ready in claim order (the
 * common case: a FIFO run in front of each ready heap, acknowledgements found by token among active jobs only) and
 * O(log n) otherwise (heaps, and the ordered indexes of states someone lists); counts come from counters; a page
 * of `listJobs` resumes at its cursor instead of sorting.
 * Memory: a job is dropped as soon as its retention (`removeOnComplete` / `removeOnFail`) says so.
 * Payloads, results and progress values are stored by reference and must be treated as immutable by callers.
 */
export class MemoryQueueAdapter implements QueueAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities;
  private readonly sink: MemoryInlineSink | null;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private closed = false;
  private readonly jobs = new Map<string, JobRecord>();
  /** Active jobs by their current token (maintained by {@link QueueState.enter}/`leave`). */
  private readonly leases = new Map<number, JobRecord>();
  private readonly queues = new Map<string, QueueState>();
  /** Holder of each live unique key, keyed by queue + NUL + key: unique keys are scoped to their queue. */
  private readonly uniques = new Map<string, JobRecord>();
  private readonly schedules = new ScheduleStore();
  private seq = 0;
  /** One counter for every job: a new token is greater than every earlier token, of this job and of any other. */
  private tokenSeq = 0;

  constructor(options: MemoryQueueOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    this.sink = options.inline ?? null;
    this.capabilities =
      this.sink === null ? MEMORY_CAPABILITIES : Object.freeze({ ...MEMORY_CAPABILITIES, inlineRecords: true });
  }

  /** Hand inline history to the sink; everything above ran synchronously, so nothing interleaved with the change. */
  private async writeInline(
    records: ExecutionRecord[] | null,
    metrics: MetricEvent[] | null,
    events: ConveyorEvent[] | null,
  ): Promise<void> {
    const sink = this.sink;
    if (sink === null) return;
    const writes: Promise<void>[] = [];
    if (records !== null && records.length > 0) writes.push(sink.storage.recordExecutions(records));
    if (metrics !== null && metrics.length > 0) writes.push(sink.metrics.record(metrics));
    if (events !== null && events.length > 0) writes.push(sink.events.publish(events));
    await Promise.all(writes);
  }

  /** The `enqueued` metrics and `job.enqueued` events of stored (not deduplicated) jobs. */
  private async enqueuedInline(results: EnqueueResult[], options: EnqueueCallOptions | undefined): Promise<void> {
    const sideEffects = options?.sideEffects;
    if (this.sink === null || sideEffects === undefined) return;
    const metrics: MetricEvent[] = [];
    const events: ConveyorEvent[] = [];
    for (const { job, deduplicated } of results) {
      if (deduplicated) continue;
      metrics.push({ kind: 'enqueued', queue: job.queue, type: job.type, at: job.createdAt, count: 1 });
      if (sideEffects.events) {
        events.push(
          makeEvent('job.enqueued', job.createdAt, job.queue, job.id, undefined, {
            type: job.type,
            state: job.state,
            priority: job.priority,
            runAt: new Date(job.runAt).toISOString(),
          }),
        );
      }
    }
    await this.writeInline(null, metrics, events);
  }

  /** Collect the side effects of the ok acks of one batch and write them. */
  private async ackedInline(
    requests: readonly { sideEffects?: AckSideEffects }[],
    results: readonly AckResult[],
  ): Promise<void> {
    if (this.sink === null) return;
    const records: ExecutionRecord[] = [];
    const metrics: MetricEvent[] = [];
    const events: ConveyorEvent[] = [];
    for (let i = 0; i < requests.length; i++) {
      const sideEffects = requests[i]?.sideEffects;
      if (sideEffects === undefined || results[i]?.ok !== true) continue;
      records.push(sideEffects.record);
      metrics.push(sideEffects.metric);
      if (sideEffects.event !== undefined) events.push(sideEffects.event);
    }
    await this.writeInline(records, metrics, events);
  }

  async init(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.logger.debug(conveyorMessage(COMPONENT, 'queue adapter closed.'), { jobs: this.jobs.size });
    this.jobs.clear();
    this.leases.clear();
    this.queues.clear();
    this.uniques.clear();
    this.schedules.clear();
  }

  async now(): Promise<number> {
    this.open();
    return this.clock();
  }

  // ---------------------------------------------------------------- enqueue

  async enqueue(job: NewJob, options?: EnqueueCallOptions): Promise<EnqueueResult> {
    this.open();
    validateNewJob(job);
    const result = this.insert(job, this.clock());
    if (this.sink !== null) await this.enqueuedInline([result], options);
    return result;
  }

  async enqueueMany(jobs: NewJob[], options?: EnqueueCallOptions): Promise<EnqueueResult[]> {
    this.open();
    if (!Array.isArray(jobs)) throw validationError('enqueueMany takes an array of jobs.');
    // Validate every job before storing any: nothing after this loop can throw, so the batch is all or nothing.
    for (let i = 0; i < jobs.length; i++) validateNewJob(jobs[i] as NewJob, i);
    const now = this.clock();
    const results = new Array<EnqueueResult>(jobs.length);
    for (let i = 0; i < jobs.length; i++) results[i] = this.insert(jobs[i] as NewJob, now);
    if (this.sink !== null) await this.enqueuedInline(results, options);
    return results;
  }

  /** Store a validated job, or return the job it duplicates (same id, or same live unique key in its queue). */
  private insert(input: NewJob, now: number): EnqueueResult {
    if (input.id !== undefined) {
      const existing = this.jobs.get(input.id);
      if (existing !== undefined) return { job: toJob(existing), deduplicated: true };
    }
    const uniqueKey = input.uniqueKey ?? null;
    if (uniqueKey !== null) {
      const holder = this.uniques.get(uniqueSlot(input.queue, uniqueKey));
      if (holder !== undefined) return { job: toJob(holder), deduplicated: true };
    }
    const r = toRecord(buildJob(input, now), ++this.seq);
    // Own copies of the option objects, so a caller mutating its input later changes nothing here.
    if (r.backoff !== null) r.backoff = { ...r.backoff };
    if (r.meta !== null) r.meta = { ...r.meta };
    if (typeof r.removeOnComplete === 'object') r.removeOnComplete = { ...r.removeOnComplete };
    if (typeof r.removeOnFail === 'object') r.removeOnFail = { ...r.removeOnFail };
    const q = this.queue(r.queue);
    this.jobs.set(r.id, r);
    if (uniqueKey !== null) this.uniques.set(uniqueSlot(r.queue, uniqueKey), r);
    q.enter(r, r.state);
    q.schedule(r);
    return { job: toJob(r), deduplicated: false };
  }

  // ---------------------------------------------------------------- leases

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    this.open();
    const { leaseMs, workerId } = request;
    const limit = Math.floor(request.limit);
    if (!Array.isArray(request.queues)) throw validationError('claim needs `queues`, an array of queue names.');
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw validationError('claim needs `leaseMs` > 0.');
    if (!(limit >= 1)) return [];
    const now = this.clock();
    const heaps: ReadyQueue<JobRecord>[] = [];
    const seen = new Set<string>();
    for (const name of request.queues) {
      if (seen.has(name)) continue;
      seen.add(name);
      const q = this.queues.get(name);
      if (q === undefined || q.paused) continue;
      q.dropIdleIndexes(now);
      q.promoteDue(now);
      if (request.types === undefined) {
        for (const heap of q.ready.values()) if (heap.size > 0) heaps.push(heap);
      } else {
        for (const type of request.types) {
          const heap = q.ready.get(type);
          if (heap !== undefined && heap.size > 0) heaps.push(heap);
        }
      }
    }
    const claimed: ClaimedJob[] = [];
    if (heaps.length === 0) return claimed;
    const expires = now + leaseMs;
    while (claimed.length < limit) {
      // Merge the heads of the candidate heaps (one per queue and type; few in practice).
      let best: ReadyQueue<JobRecord> | undefined;
      let bestTop: JobRecord | undefined;
      for (const heap of heaps) {
        const top = heap.peek();
        if (top !== undefined && (bestTop === undefined || readyOrder(top, bestTop) < 0)) {
          best = heap;
          bestTop = top;
        }
      }
      if (best === undefined || bestTop === undefined) break;
      best.pop();
      const r = bestTop;
      const q = this.queue(r.queue);
      q.leave(r);
      r.attempt++;
      r.token = ++this.tokenSeq;
      r.startedAt = now;
      r.workerId = workerId;
      r.leaseExpiresAt = expires;
      q.enter(r, 'active');
      claimed.push(toClaimed(r));
    }
    const recordStart = request.recordStart;
    if (this.sink !== null && recordStart !== undefined && claimed.length > 0) {
      const metrics: MetricEvent[] = [];
      const events: ConveyorEvent[] = [];
      for (const job of claimed) {
        const waitMs = Math.max(0, now - job.runAt);
        metrics.push({ kind: 'started', queue: job.queue, type: job.type, at: now, waitMs, count: 1 });
        if (recordStart.events) {
          events.push(
            makeEvent('job.started', now, job.queue, job.id, workerId, {
              type: job.type,
              attempt: job.attempt,
              maxAttempts: job.maxAttempts,
            }),
          );
        }
      }
      await this.writeInline(null, metrics, events);
    }
    return claimed;
  }

  async extendLeases(leases: LeaseRef[], leaseMs: number): Promise<ExtendResult[]> {
    this.open();
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw validationError('extendLeases needs `leaseMs` > 0.');
    const expires = this.clock() + leaseMs;
    return leases.map(({ jobId, token }) => {
      const r = this.held(jobId, token);
      if (r === undefined) return { jobId, ok: false, leaseExpiresAt: null };
      r.leaseExpiresAt = expires;
      return { jobId, ok: true, leaseExpiresAt: expires };
    });
  }

  async updateProgress(lease: LeaseRef, progress: unknown): Promise<void> {
    this.open();
    const r = this.held(lease.jobId, lease.token);
    if (r === undefined) throw new LeaseLostError(lease.jobId, COMPONENT);
    r.progress = progress;
  }

  async complete(requests: CompleteRequest[]): Promise<AckResult[]> {
    this.open();
    const now = this.clock();
    const results = new Array<AckResult>(requests.length);
    for (let i = 0; i < requests.length; i++) {
      const { jobId, token, result } = requests[i] as CompleteRequest;
      const r = this.held(jobId, token);
      if (r === undefined) {
        results[i] = { jobId, ok: false, code: 'LEASE_LOST' };
        continue;
      }
      const q = this.queue(r.queue);
      q.leave(r);
      r.result = result === undefined ? null : result;
      r.finishedAt = now;
      r.leaseExpiresAt = null;
      this.releaseUnique(r);
      q.enter(r, 'completed');
      results[i] = { jobId, ok: true, job: this.applyRetention(q, r, 'completed', r.removeOnComplete, now) };
    }
    if (this.sink !== null) await this.ackedInline(requests, results);
    return results;
  }

  async fail(requests: FailRequest[]): Promise<AckResult[]> {
    this.open();
    const now = this.clock();
    const results = new Array<AckResult>(requests.length);
    for (let i = 0; i < requests.length; i++) {
      const { jobId, token, error, retryDelayMs } = requests[i] as FailRequest;
      const r = this.held(jobId, token);
      if (r === undefined) {
        results[i] = { jobId, ok: false, code: 'LEASE_LOST' };
        continue;
      }
      const q = this.queue(r.queue);
      q.leave(r);
      r.lastError = { message: error.message, code: error.code, stack: error.stack };
      r.leaseExpiresAt = null;
      if (retryDelayMs !== null) {
        r.runAt = now + Math.max(0, retryDelayMs);
        q.enter(r, 'retrying');
        q.schedule(r);
        results[i] = { jobId, ok: true, job: toJob(r) };
      } else {
        r.finishedAt = now;
        this.releaseUnique(r);
        q.enter(r, 'failed');
        results[i] = { jobId, ok: true, job: this.applyRetention(q, r, 'failed', r.removeOnFail, now) };
      }
    }
    if (this.sink !== null) await this.ackedInline(requests, results);
    return results;
  }

  async release(leases: LeaseRef[]): Promise<AckResult[]> {
    this.open();
    return leases.map(({ jobId, token }): AckResult => {
      const r = this.held(jobId, token);
      if (r === undefined) return { jobId, ok: false, code: 'LEASE_LOST' };
      const q = this.queue(r.queue);
      q.leave(r);
      r.leaseExpiresAt = null;
      // runAt is kept: a released job goes back to the front of its priority, ahead of later work.
      q.enter(r, 'waiting');
      q.schedule(r);
      return { jobId, ok: true, job: toJob(r) };
    });
  }

  async recoverStalled(options: { limit?: number } = {}): Promise<RecoveredJob[]> {
    this.open();
    const limit = options.limit ?? DEFAULT_RECOVER_LIMIT;
    const now = this.clock();
    const expired: JobRecord[] = [];
    // The active sets are bounded by the workers' total concurrency, so this walk is small.
    outer: for (const q of this.queues.values()) {
      for (let r = q.members.active.head; r !== null; r = r.next) {
        if (expired.length >= limit) break outer;
        if (r.leaseExpiresAt !== null && r.leaseExpiresAt < now) expired.push(r);
      }
    }
    const recovered: RecoveredJob[] = [];
    for (const r of expired) {
      const q = this.queue(r.queue);
      const { workerId, attempt, startedAt } = r;
      q.leave(r);
      r.leaseExpiresAt = null;
      r.lastError = { ...STALLED_ERROR };
      let job: Job;
      if (r.attempt < r.maxAttempts) {
        q.enter(r, 'waiting');
        q.schedule(r);
        job = toJob(r);
      } else {
        r.finishedAt = now;
        this.releaseUnique(r);
        q.enter(r, 'failed');
        job = toJob(r);
        this.applyRetention(q, r, 'failed', r.removeOnFail, now);
      }
      recovered.push({ job, workerId, attempt, startedAt });
    }
    if (recovered.length > 0) {
      this.logger.warn(conveyorMessage(COMPONENT, `recovered ${recovered.length} stalled job(s).`), {
        jobIds: recovered.map((x) => x.job.id),
      });
    }
    return recovered;
  }

  // ---------------------------------------------------------------- reads

  async getJob(id: string): Promise<Job | null> {
    this.open();
    const r = this.jobs.get(id);
    return r === undefined ? null : toJob(r);
  }

  async listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    this.open();
    const { limit } = query;
    checkLimit(limit);
    if (query.state !== undefined && !isJobState(query.state)) {
      throw validationError(`state must be one of ${JOB_STATES.join(', ')}; got ${String(query.state)}.`);
    }
    let below: JobKey | undefined;
    if (query.cursor !== undefined && query.cursor !== null) {
      const [createdAt, id] = decodeCursor(query.cursor, ['number', 'string'] as const);
      below = { createdAt, id };
    }
    const queues: QueueState[] = [];
    if (query.queue === undefined) queues.push(...this.queues.values());
    else {
      const q = this.queues.get(query.queue);
      if (q !== undefined) queues.push(q);
    }
    const states: readonly JobState[] = query.state === undefined ? JOB_STATES : [query.state];
    const sources: Iterator<JobRecord>[] = [];
    const now = this.clock();
    for (const q of queues) {
      for (const s of states) if (q.counts[s] > 0) sources.push(q.indexOf(s, now).descending(below));
    }
    const matches = jobFilter(query.type, query.search);
    const items: Job[] = [];
    let last: JobRecord | undefined;
    let more = false;
    for (const r of mergeDescending(sources)) {
      if (!matches(r)) continue;
      if (items.length === limit) {
        more = true;
        break;
      }
      items.push(toJob(r));
      last = r;
    }
    return { items, nextCursor: more && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null };
  }

  async counts(queue?: string): Promise<Record<string, StateCounts>> {
    this.open();
    const out: Record<string, StateCounts> = {};
    if (queue !== undefined) {
      out[queue] = { ...(this.queues.get(queue)?.counts ?? zeroCounts()) };
      return out;
    }
    for (const [name, q] of this.queues) out[name] = { ...q.counts };
    return out;
  }

  async listQueues(): Promise<QueueInfo[]> {
    this.open();
    return [...this.queues.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((q) => ({ name: q.name, paused: q.paused, counts: { ...q.counts }, oldestWaitingAt: q.oldestWaitingAt() }));
  }

  // ---------------------------------------------------------------- operator actions

  async retry(id: string): Promise<Job> {
    this.open();
    const r = this.mustGet(id);
    if (r.state !== 'failed' && r.state !== 'cancelled') {
      throw invalidState(COMPONENT, `job ${id} is ${r.state}; only failed or cancelled jobs can be retried.`);
    }
    this.requeueFinished(r);
    return toJob(r);
  }

  async retryFailed(queue: string, limit: number): Promise<number> {
    this.open();
    if (!Number.isInteger(limit) || limit < 0) throw validationError('retryFailed needs an integer limit >= 0.');
    const q = this.queues.get(queue);
    if (q === undefined) return 0;
    let moved = 0;
    // Oldest failure first; a job whose unique key was taken meanwhile stays failed.
    for (const r of q.members.failed.toArray()) {
      if (moved >= limit) break;
      if (this.uniqueTaken(r)) continue;
      this.requeueFinished(r);
      moved++;
    }
    return moved;
  }

  async promote(id: string): Promise<Job> {
    this.open();
    const r = this.mustGet(id);
    if (r.state !== 'scheduled' && r.state !== 'retrying') {
      throw invalidState(COMPONENT, `job ${id} is ${r.state}; only scheduled or retrying jobs can be promoted.`);
    }
    const q = this.queue(r.queue);
    q.unschedule(r);
    q.leave(r);
    r.runAt = Math.min(r.runAt, this.clock());
    q.enter(r, 'waiting');
    q.schedule(r);
    return toJob(r);
  }

  async cancel(id: string): Promise<Job> {
    this.open();
    const r = this.mustGet(id);
    if (r.state === 'completed' || r.state === 'failed' || r.state === 'cancelled') {
      throw invalidState(COMPONENT, `job ${id} is already ${r.state}; only pending or active jobs can be cancelled.`);
    }
    const q = this.queue(r.queue);
    q.unschedule(r);
    q.leave(r);
    // Leaving `active` revokes the lease: every later write with its token is refused.
    r.leaseExpiresAt = null;
    r.finishedAt = this.clock();
    this.releaseUnique(r);
    q.enter(r, 'cancelled');
    return toJob(r);
  }

  async remove(id: string): Promise<void> {
    this.open();
    const r = this.mustGet(id);
    if (r.state === 'active') {
      throw invalidState(COMPONENT, `job ${id} is active; cancel it first, or wait until it finishes.`);
    }
    this.drop(this.queue(r.queue), r);
  }

  async clean(request: CleanRequest): Promise<number> {
    this.open();
    const { state } = request;
    if (state !== 'completed' && state !== 'failed' && state !== 'cancelled') {
      throw validationError(`clean acts on completed, failed or cancelled jobs; got ${String(state)}.`);
    }
    const olderThanMs = request.olderThanMs ?? 0;
    const limit = request.limit ?? DEFAULT_CLEAN_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw validationError('clean needs an integer limit >= 0.');
    const q = this.queues.get(request.queue);
    if (q === undefined) return 0;
    const cutoff = this.clock() - olderThanMs;
    const doomed: JobRecord[] = [];
    // Members are in the order they finished; with a clock that can be moved by hand, check every one.
    for (let r = q.members[state].head; r !== null; r = r.next) {
      if (doomed.length >= limit) break;
      if ((r.finishedAt ?? r.createdAt) <= cutoff) doomed.push(r);
    }
    for (const r of doomed) this.drop(q, r);
    return doomed.length;
  }

  // ---------------------------------------------------------------- pause

  async pause(queue: string): Promise<void> {
    this.open();
    this.queue(queue).paused = true;
  }

  async resume(queue: string): Promise<void> {
    this.open();
    this.queue(queue).paused = false;
  }

  async isPaused(queue: string): Promise<boolean> {
    this.open();
    return this.queues.get(queue)?.paused ?? false;
  }

  // ---------------------------------------------------------------- schedules

  async upsertSchedule(schedule: Omit<ScheduleDefinition, 'lastFiredAt'>): Promise<ScheduleDefinition> {
    this.open();
    return this.schedules.upsert(schedule);
  }

  async listSchedules(): Promise<ScheduleDefinition[]> {
    this.open();
    return this.schedules.list();
  }

  async removeSchedule(name: string): Promise<boolean> {
    this.open();
    return this.schedules.remove(name);
  }

  async fireSchedule(
    name: string,
    fireAt: number,
    nextRunAt: number | null,
    job: NewJob,
  ): Promise<EnqueueResult | null> {
    this.open();
    validateNewJob(job);
    // Checked and set in one synchronous step: of N racing schedulers, exactly one gets `true` for a tick.
    if (!this.schedules.claimTick(name, fireAt, nextRunAt)) return null;
    return this.insert(job, this.clock());
  }

  // ---------------------------------------------------------------- internals

  private open(): void {
    if (this.closed) throw closedError('memory queue adapter');
  }

  private queue(name: string): QueueState {
    let q = this.queues.get(name);
    if (q === undefined) {
      q = new QueueState(name, this.leases);
      this.queues.set(name, q);
    }
    return q;
  }

  private mustGet(id: string): JobRecord {
    const r = this.jobs.get(id);
    if (r === undefined) throw notFound(COMPONENT, `job ${id}`);
    return r;
  }

  /** The job when `token` is its current lease, else undefined. An expired lease not yet recovered still holds. */
  private held(jobId: string, token: number): JobRecord | undefined {
    // Tokens are unique store-wide, so the token finds the lease; the id must match too (a token of another job).
    const r = this.leases.get(token);
    return r !== undefined && r.id === jobId && r.state === 'active' ? r : undefined;
  }

  private uniqueTaken(r: JobRecord): boolean {
    if (r.uniqueKey === null) return false;
    const holder = this.uniques.get(uniqueSlot(r.queue, r.uniqueKey));
    return holder !== undefined && holder !== r;
  }

  private releaseUnique(r: JobRecord): void {
    if (r.uniqueKey === null) return;
    const slot = uniqueSlot(r.queue, r.uniqueKey);
    if (this.uniques.get(slot) === r) this.uniques.delete(slot);
  }

  /** A failed or cancelled job back to `waiting`, with room for one more attempt. */
  private requeueFinished(r: JobRecord): void {
    if (this.uniqueTaken(r)) {
      throw invalidState(
        COMPONENT,
        `job ${r.id} cannot be retried: job ${this.uniques.get(uniqueSlot(r.queue, r.uniqueKey as string))?.id} holds its unique key ${r.uniqueKey} now. Wait until that job finishes.`,
      );
    }
    const q = this.queue(r.queue);
    q.leave(r);
    r.maxAttempts = Math.max(r.maxAttempts, r.attempt + 1);
    r.runAt = this.clock();
    r.finishedAt = null;
    r.result = null;
    r.leaseExpiresAt = null;
    if (r.uniqueKey !== null) this.uniques.set(uniqueSlot(r.queue, r.uniqueKey), r);
    q.enter(r, 'waiting');
    q.schedule(r);
  }

  /** Forget a job entirely. */
  private drop(q: QueueState, r: JobRecord): void {
    q.unschedule(r);
    q.leave(r);
    this.releaseUnique(r);
    this.jobs.delete(r.id);
  }

  /**
   * Apply the finishing job's retention to its queue's jobs of `state`: drop this job at once, keep the `count`
   * most recently finished, drop those finished more than `ageMs` ago. Returns a copy of the job, or null when it
   * was dropped.
   */
  private applyRetention(q: QueueState, r: JobRecord, state: FinishedState, option: RetentionOption, now: number) {
    if (option === false) return toJob(r);
    const rule = retentionRule(option);
    if (rule.removeImmediately) {
      this.drop(q, r);
      return null;
    }
    const members = q.members[state];
    if (rule.count !== null) {
      while (members.size > rule.count) {
        this.drop(q, members.head as JobRecord);
      }
    }
    if (rule.ageMs !== null) {
      const cutoff = now - rule.ageMs;
      // Members are in finishing order, so the expired ones are a prefix: stop at the first one still young.
      for (let m = members.head; m !== null && (m.finishedAt ?? m.createdAt) < cutoff; m = members.head) {
        this.drop(q, m);
      }
    }
    return this.jobs.has(r.id) ? toJob(r) : null;
  }
}

function uniqueSlot(queue: string, key: string): string {
  return `${queue}\u0000${key}`;
}
