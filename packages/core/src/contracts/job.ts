/**
 * The job model shared by every adapter and by the runtime.
 *
 * Times are milliseconds since the Unix epoch, taken from the store's clock (see {@link QueueAdapter.now}), so clock
 * skew between worker machines changes nothing.
 */

/** Every state a job can be in. */
export const JOB_STATES = ['waiting', 'scheduled', 'retrying', 'active', 'completed', 'failed', 'cancelled'] as const;

/**
 * - `waiting`: ready to be claimed.
 * - `scheduled`: `runAt` is in the future (delayed job).
 * - `retrying`: waiting out a backoff after a failed attempt.
 * - `active`: claimed by a worker, under a lease.
 * - `completed`: the handler returned.
 * - `failed`: attempts exhausted, or an `UnrecoverableError` (the dead-letter set).
 * - `cancelled`: cancelled before it could finish.
 */
export type JobState = (typeof JOB_STATES)[number];

/** States from which a job may still run: a unique key is held while its job is in one of these. */
export const PENDING_STATES: readonly JobState[] = ['waiting', 'scheduled', 'retrying', 'active'];

/** States that end a job's life; `clean` and retention act only on these. */
export const FINISHED_STATES = ['completed', 'failed', 'cancelled'] as const;
export type FinishedState = (typeof FINISHED_STATES)[number];

/** Outcome of one attempt, as written to the execution history. */
export const EXECUTION_STATUSES = ['success', 'failed', 'timeout', 'stalled', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** How long to wait before the next attempt. */
export interface BackoffOptions {
  /**
   * - `fixed`: always `delayMs`.
   * - `exponential`: `delayMs * 2^(attempt-1)`, capped at `maxDelayMs`.
   * - `custom`: the worker's `backoffStrategy` function decides.
   */
  type: 'fixed' | 'exponential' | 'custom';
  /** Base delay. @default 1000 */
  delayMs: number;
  /** Upper bound for exponential growth. @default 3_600_000 (one hour) */
  maxDelayMs?: number;
  /** Fraction (0–1) of the delay that is randomised ("full jitter" on that part). @default 0.2 */
  jitter?: number;
}

/** Keep finished jobs by count and/or age. `true` removes at once; `false` keeps forever. */
export type RetentionOption = boolean | number | { count?: number; ageMs?: number };

/** A serialisable error as stored on a job and in its execution records. */
export interface JobError {
  message: string;
  /** A stable code when the thrower gave one (`error.code`), else the error's name. */
  code: string | null;
  stack: string | null;
}

/** What a caller asks to enqueue; the adapter fills in ids and times. */
export interface NewJob {
  /** Caller-chosen id. An enqueue with the id of an existing job is deduplicated. Default: generated. */
  id?: string;
  queue: string;
  type: string;
  /** Any JSON-serialisable value. */
  payload: unknown;
  /** Higher runs first among ready jobs of a queue. @default 0 */
  priority?: number;
  /** Run no earlier than now (the store's clock) + `delayMs`. */
  delayMs?: number;
  /** Run no earlier than this absolute time (ms). Takes precedence over `delayMs`. */
  runAt?: number;
  /** Total attempts including the first. @default 3 */
  maxAttempts?: number;
  backoff?: BackoffOptions | null;
  /** An attempt running longer than this ends `timeout` and its AbortSignal fires. */
  timeoutMs?: number | null;
  /** While a job with this key is waiting/scheduled/retrying/active, another enqueue with it is deduplicated. */
  uniqueKey?: string | null;
  removeOnComplete?: RetentionOption;
  removeOnFail?: RetentionOption;
  /** Free-form user metadata shown in the dashboard. */
  meta?: Record<string, unknown> | null;
}

/** A job as stored. */
export interface Job<Payload = unknown, Result = unknown> {
  id: string;
  queue: string;
  type: string;
  payload: Payload;
  state: JobState;
  priority: number;
  /** Attempts started so far (0 before the first claim). Never decreases. */
  attempt: number;
  maxAttempts: number;
  backoff: BackoffOptions | null;
  timeoutMs: number | null;
  uniqueKey: string | null;
  removeOnComplete: RetentionOption;
  removeOnFail: RetentionOption;
  meta: Record<string, unknown> | null;
  createdAt: number;
  /** When the job becomes (or became) ready to claim. */
  runAt: number;
  /** Start of the current or last attempt. */
  startedAt: number | null;
  /** When it reached a finished state. */
  finishedAt: number | null;
  result: Result | null;
  lastError: JobError | null;
  /** Last reported progress (a number 0–100 or any JSON value). */
  progress: unknown;
  /** Worker holding (or that last held) the lease. */
  workerId: string | null;
  /** Lease expiry while `active`, else null. */
  leaseExpiresAt: number | null;
}

/** A job handed to a worker by `claim`: it carries the lease's fencing token. */
export interface ClaimedJob<Payload = unknown> extends Job<Payload> {
  state: 'active';
  /**
   * Fencing token of this lease: strictly greater than every earlier token of the same job. Every write about the
   * attempt (heartbeat, progress, complete, fail, release) must present it; a stale one is refused.
   */
  token: number;
  leaseExpiresAt: number;
}

/** One page of a cursor-paginated list. `nextCursor` is null on the last page. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
