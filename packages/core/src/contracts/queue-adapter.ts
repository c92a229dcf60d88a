import type { AdapterCapabilities } from './capabilities';
import type { ConveyorEvent } from './events';
import type { ClaimedJob, FinishedState, Job, JobError, JobState, NewJob, Page } from './job';
import type { MetricEvent } from './metrics-adapter';
import type { ExecutionRecord } from './storage-adapter';

/** Result of an enqueue. `deduplicated` is true when an existing job (same id, or same live unique key) was returned. */
export interface EnqueueResult {
  job: Job;
  deduplicated: boolean;
}

export interface ClaimRequest {
  /** Queues to claim from; paused queues are skipped. */
  queues: string[];
  workerId: string;
  /** Claim at most this many jobs (one round trip). */
  limit: number;
  /** Lease length; the lease expires at store-now + leaseMs. */
  leaseMs: number;
  /** Only these job types, when given. */
  types?: string[];
  /**
   * Sent only to adapters with `capabilities.inlineRecords`. For each claimed job, in the same atomic step as the
   * claim: record a `started` metric (`at` = the claim's store time, `waitMs` = max(0, claim time − `runAt`),
   * `count` 1) and, when `events` is true, publish a `job.started` event
   * `{ type: 'job.started', timestamp: <claim time, ISO>, queue, jobId, workerId, data: { type, attempt, maxAttempts } }`
   * with an id of the bus's own scheme.
   */
  recordStart?: { events: boolean };
}

/**
 * Sent only to adapters with `capabilities.inlineRecords`, with an enqueue: for each job actually stored (not
 * deduplicated), in the same atomic step, record an `enqueued` metric (`at` = `createdAt`, `count` 1) and, when
 * `events` is true, publish
 * `{ type: 'job.enqueued', timestamp: <createdAt, ISO>, queue, jobId, data: { type, state, priority, runAt: <ISO> } }`.
 */
export interface EnqueueSideEffects {
  events: boolean;
}

/** The second argument of `enqueue` / `enqueueMany`. Adapters may accept more (a caller's transaction, say). */
export interface EnqueueCallOptions {
  /** Only with `capabilities.inlineRecords`: see {@link EnqueueSideEffects}. */
  sideEffects?: EnqueueSideEffects;
}

/**
 * What the runtime would otherwise write behind one ack. Sent only to adapters with `capabilities.inlineRecords`;
 * the adapter stores each part **if and only if** the item's ack is ok, in the same atomic step as the ack, so a
 * refused ack (stale token) leaves no record, metric or event behind.
 */
export interface AckSideEffects {
  /** Stored as `StorageAdapter.recordExecutions` would store it (a record id written twice keeps one record). */
  record: ExecutionRecord;
  /**
   * Added as `MetricsAdapter.record` would add it: kind `completed`, `failed` or `retried`, with `durationMs`. The
   * adapter may merge equal metrics of one batch.
   */
  metric: MetricEvent;
  /**
   * Published as `EventBus.publish` would publish it (`job.completed`, `job.failed` or `job.retrying`; the adapter
   * may use its own id scheme and may add `data.runAt` to `job.retrying`). Absent when the runtime knows nobody
   * listens.
   */
  event?: ConveyorEvent;
}

/** Identifies one lease: a job and the fencing token its claim returned. */
export interface LeaseRef {
  jobId: string;
  token: number;
}

export interface CompleteRequest extends LeaseRef {
  result?: unknown;
  /** See {@link AckSideEffects}; only with `capabilities.inlineRecords`. */
  sideEffects?: AckSideEffects;
}

export interface FailRequest extends LeaseRef {
  error: JobError;
  /**
   * Delay before the next attempt (`retrying` state), or null to fail the job for good (`failed`). The runtime
   * decides, from attempts left, the backoff and `UnrecoverableError`; the adapter obeys it even when no attempts
   * are left.
   */
  retryDelayMs: number | null;
  /** See {@link AckSideEffects}; only with `capabilities.inlineRecords`. */
  sideEffects?: AckSideEffects;
}

/** Per-item outcome of a batched lease operation. A stale token yields `ok: false` and changes nothing. */
export type AckResult = { jobId: string; ok: true; job: Job | null } | { jobId: string; ok: false; code: 'LEASE_LOST' };

export interface ExtendResult {
  jobId: string;
  ok: boolean;
  /** The new expiry when ok. */
  leaseExpiresAt: number | null;
}

/** A job taken back from a worker whose lease expired (crashed, hung or partitioned away). */
export interface RecoveredJob {
  /** The job after recovery: `waiting` when attempts remain, else `failed`. */
  job: Job;
  /** The worker that lost the lease. */
  workerId: string | null;
  /** The attempt that stalled. */
  attempt: number;
  startedAt: number | null;
}

export interface ListJobsQuery {
  queue?: string;
  state?: JobState;
  type?: string;
  /** Substring search over id, type and payload text. Only when `capabilities.search`; else `SEARCH_UNSUPPORTED`. */
  search?: string;
  /** 1–1000. */
  limit: number;
  /** Opaque, from a previous page's `nextCursor`. */
  cursor?: string | null;
}

/** Job counts by state, every state present (0 when none). */
export type StateCounts = Record<JobState, number>;

export interface QueueInfo {
  name: string;
  paused: boolean;
  counts: StateCounts;
  /** `runAt` of the oldest `waiting` job, or null. */
  oldestWaitingAt: number | null;
}

export interface CleanRequest {
  queue: string;
  state: FinishedState;
  /** Only jobs finished at least this long ago. @default 0 */
  olderThanMs?: number;
  /** At most this many. @default 1000 */
  limit?: number;
}

/** A recurring job definition kept in the store, so every scheduler instance sees the same set. */
export interface ScheduleDefinition {
  /** Unique name of the schedule. */
  name: string;
  /** Five- or six-field cron expression. */
  cron: string;
  /** IANA time zone. @default 'UTC' */
  timezone: string;
  /** The job each tick enqueues (its `id` and timing fields are ignored). */
  job: NewJob;
  /** Last tick that enqueued a job, or null. */
  lastFiredAt: number | null;
  /** The next tick, as computed by the scheduler that last saved it. */
  nextRunAt: number | null;
  paused: boolean;
}

/**
 * Jobs and their life cycle. Every method is atomic on its own; batched methods are atomic per item.
 *
 * Errors: methods that take an id throw `ConveyorError('NOT_FOUND')` for an unknown job and
 * `ConveyorError('INVALID_STATE')` when the job's state does not allow the operation; nothing is changed then.
 *
 * Readings every adapter shares (the conformance suite pins them):
 * - A lease stays valid until another claim, a recovery, a cancel or a removal replaces its token: a heartbeat or
 *   ack that arrives after `leaseExpiresAt` but before the job was recovered is accepted. A lease whose
 *   `leaseExpiresAt` equals store-now has not expired yet.
 * - A job with `runAt` equal to store-now is ready. A `scheduled` or `retrying` job whose time has come keeps its
 *   state (and its count) until it is claimed or promoted; time alone changes no state.
 * - Unique keys are scoped to their queue. `retryFailed` skips a failed job whose key is now held by another
 *   live job (what `retry` does then is not yet pinned by the suite).
 * - Acks and `updateProgress` for an unknown job answer as for a stale token (`LEASE_LOST`).
 * - Retention rules (`removeOnComplete`/`removeOnFail` as a count or age) are applied, when a job finishes, to the
 *   finished jobs of that state in its queue (the rule of the finishing job decides), as in BullMQ.
 * - After `close()`, every method of every contract rejects with `ADAPTER_CLOSED`.
 */
export interface QueueAdapter {
  /** What this adapter supports beyond the contract. */
  readonly capabilities: AdapterCapabilities;

  /** Prepare the store (migrations, scripts). Idempotent; the runtime calls it before first use. */
  init(): Promise<void>;
  /** Release connections. Further calls reject with `ADAPTER_CLOSED`. */
  close(): Promise<void>;
  /** The store's clock, in ms. All lease and schedule times derive from it. */
  now(): Promise<number>;

  /**
   * Enqueue one job. `runAt` in the future → `scheduled`, else `waiting`. `options.sideEffects` only with
   * `capabilities.inlineRecords` (see {@link EnqueueSideEffects}).
   */
  enqueue(job: NewJob, options?: EnqueueCallOptions): Promise<EnqueueResult>;
  /** Enqueue many atomically: all are stored or none. Results are in input order. */
  enqueueMany(jobs: NewJob[], options?: EnqueueCallOptions): Promise<EnqueueResult[]>;

  /**
   * Atomically move up to `limit` ready jobs to `active` for `workerId`: highest priority first, then earliest
   * `runAt`, then insertion order. Ready means `waiting`, or `scheduled`/`retrying` whose `runAt` has passed. Each
   * claim increments `attempt`, issues a new fencing token and sets the lease expiry. Two concurrent claims never
   * return the same job.
   */
  claim(request: ClaimRequest): Promise<ClaimedJob[]>;
  /** Heartbeat: push lease expiry to now + leaseMs for each held lease. Lost leases come back `ok: false`. */
  extendLeases(leases: LeaseRef[], leaseMs: number): Promise<ExtendResult[]>;
  /** Store progress for an active job; throws `LeaseLostError` on a stale token. */
  updateProgress(lease: LeaseRef, progress: unknown): Promise<void>;
  /** Mark jobs completed (then apply `removeOnComplete`). */
  complete(requests: CompleteRequest[]): Promise<AckResult[]>;
  /** Mark attempts failed: to `retrying` with a delay, or to `failed` (then apply `removeOnFail`). */
  fail(requests: FailRequest[]): Promise<AckResult[]>;
  /** Give jobs back (graceful shutdown): to `waiting` at once, the attempt already counted stays counted. */
  release(leases: LeaseRef[]): Promise<AckResult[]>;
  /**
   * Take back `active` jobs whose lease expired before store-now: to `waiting` when attempts remain, else to
   * `failed` with a `STALLED` error. Conditional: a job completed or re-leased between scan and update is untouched.
   */
  recoverStalled(options?: { limit?: number }): Promise<RecoveredJob[]>; // limit @default 1000

  getJob(id: string): Promise<Job | null>;
  /** Newest first (by `createdAt`, then id) within the filter. */
  listJobs(query: ListJobsQuery): Promise<Page<Job>>;
  /**
   * Counts by state for each queue, from counters or indexes, never a scan of jobs. Keyed by queue name; with a
   * `queue` that was never seen, that queue's counts are all zero.
   */
  counts(queue?: string): Promise<Record<string, StateCounts>>;
  /** Every known queue (seen in an enqueue or paused), with its counts. */
  listQueues(): Promise<QueueInfo[]>;

  /** A `failed` or `cancelled` job back to `waiting`; `maxAttempts` grows so one more attempt is allowed. */
  retry(id: string): Promise<Job>;
  /** Move `failed` jobs of a queue back to `waiting`, at most `limit`. Returns how many moved. */
  retryFailed(queue: string, limit: number): Promise<number>;
  /** Make a `scheduled` or `retrying` job ready now. */
  promote(id: string): Promise<Job>;
  /**
   * Cancel a `waiting`, `scheduled`, `retrying` or `active` job. An active job's lease is revoked: its worker's
   * next heartbeat or ack is refused, which aborts the handler.
   */
  cancel(id: string): Promise<Job>;
  /** Remove a job that is not `active`. */
  remove(id: string): Promise<void>;
  /** Remove finished jobs of one state. Returns how many. */
  clean(request: CleanRequest): Promise<number>;

  /** Workers stop claiming from a paused queue; jobs can still be enqueued. */
  pause(queue: string): Promise<void>;
  resume(queue: string): Promise<void>;
  isPaused(queue: string): Promise<boolean>;

  /** Create or replace a schedule by name (keeps `lastFiredAt` when replacing). */
  upsertSchedule(schedule: Omit<ScheduleDefinition, 'lastFiredAt'>): Promise<ScheduleDefinition>;
  listSchedules(): Promise<ScheduleDefinition[]>;
  removeSchedule(name: string): Promise<boolean>;
  /**
   * Atomically: if the schedule's `lastFiredAt` is before `fireAt`, set it to `fireAt`, set `nextRunAt`, and enqueue
   * `job`. Returns the enqueue result, or null when another instance already fired this tick. This is how N
   * scheduler instances enqueue exactly one job per tick.
   */
  fireSchedule(name: string, fireAt: number, nextRunAt: number | null, job: NewJob): Promise<EnqueueResult | null>;
}
