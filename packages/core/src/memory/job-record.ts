import type { BackoffOptions, ClaimedJob, Job, JobError, NewJob, RetentionOption } from '../contracts/job';
import { JOB_STATES } from '../contracts/job';
import type { HeapItem } from './indexed-heap';
import { validationError } from './options';
import type { ListItem } from './state-list';

/**
 * A job as the memory store holds it: the public fields plus the bookkeeping the store needs. Never handed out;
 * callers get copies made by {@link toJob}.
 */
export interface JobRecord extends Job, HeapItem, ListItem<JobRecord> {
  /** Current (or last) fencing token; 0 before the first claim. */
  token: number;
  /** Insertion order, the last tie-breaker of the ready order. */
  seq: number;
}

/** The key of the "newest first" lists: `createdAt`, then id. */
export interface JobKey {
  createdAt: number;
  id: string;
}

/** Ascending (createdAt, id): the lists walk it backwards for newest first. */
export function jobKeyOrder(a: JobKey, b: JobKey): number {
  return a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

/** Claim order among ready jobs: highest priority, then earliest runAt, then insertion order. */
export function readyOrder(a: JobRecord, b: JobRecord): number {
  return b.priority - a.priority || a.runAt - b.runAt || a.seq - b.seq;
}

/** Order of jobs waiting for their time (scheduled, retrying): earliest runAt, then insertion order. */
export function delayedOrder(a: JobRecord, b: JobRecord): number {
  return a.runAt - b.runAt || a.seq - b.seq;
}

function copyBackoff(b: BackoffOptions | null): BackoffOptions | null {
  return b === null ? null : { ...b };
}

function copyError(e: JobError | null): JobError | null {
  return e === null ? null : { message: e.message, code: e.code, stack: e.stack };
}

function copyRetention(r: RetentionOption): RetentionOption {
  return typeof r === 'object' ? { ...r } : r;
}

/**
 * A copy of the public fields. The store's own objects (options, errors, meta) are copied one level deep;
 * `payload`, `result` and `progress` are shared, because the store treats them as immutable values: a caller must
 * not mutate what it enqueued or got back (the same rule a networked store enforces by serialising).
 */
export function toJob(r: JobRecord): Job {
  return {
    id: r.id,
    queue: r.queue,
    type: r.type,
    payload: r.payload,
    state: r.state,
    priority: r.priority,
    attempt: r.attempt,
    maxAttempts: r.maxAttempts,
    backoff: copyBackoff(r.backoff),
    timeoutMs: r.timeoutMs,
    uniqueKey: r.uniqueKey,
    removeOnComplete: copyRetention(r.removeOnComplete),
    removeOnFail: copyRetention(r.removeOnFail),
    meta: r.meta === null ? null : { ...r.meta },
    createdAt: r.createdAt,
    runAt: r.runAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    result: r.result,
    lastError: copyError(r.lastError),
    progress: r.progress,
    workerId: r.workerId,
    leaseExpiresAt: r.leaseExpiresAt,
  };
}

/**
 * A copy of an active job with its lease token. One literal with every field (rather than {@link toJob} plus a
 * `token` added afterwards), so the object is allocated once with all its fields in place.
 */
export function toClaimed(r: JobRecord): ClaimedJob {
  return {
    id: r.id,
    queue: r.queue,
    type: r.type,
    payload: r.payload,
    state: 'active',
    priority: r.priority,
    attempt: r.attempt,
    maxAttempts: r.maxAttempts,
    backoff: copyBackoff(r.backoff),
    timeoutMs: r.timeoutMs,
    uniqueKey: r.uniqueKey,
    removeOnComplete: copyRetention(r.removeOnComplete),
    removeOnFail: copyRetention(r.removeOnFail),
    meta: r.meta === null ? null : { ...r.meta },
    createdAt: r.createdAt,
    runAt: r.runAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    result: r.result,
    lastError: copyError(r.lastError),
    progress: r.progress,
    workerId: r.workerId,
    leaseExpiresAt: r.leaseExpiresAt as number,
    token: r.token,
  };
}

/** A record from the stored form of a new job. */
export function toRecord(job: Job, seq: number): JobRecord {
  const r = job as JobRecord;
  r.token = 0;
  r.seq = seq;
  r.heapIndex = -1;
  r.prev = null;
  r.next = null;
  return r;
}

const BACKOFF_TYPES = new Set(['fixed', 'exponential', 'custom']);

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

const RETENTION_HINT =
  'must be a boolean, a count >= 0, or { count?: integer >= 0, ageMs?: number >= 0 }. Fix the job options.';

function retentionOk(value: unknown): boolean {
  if (value === undefined || typeof value === 'boolean') return true;
  if (isFiniteNumber(value)) return value >= 0;
  if (typeof value !== 'object' || value === null) return false;
  const { count, ageMs } = value as { count?: unknown; ageMs?: unknown };
  const countOk = count === undefined || (Number.isInteger(count) && (count as number) >= 0);
  return countOk && (ageMs === undefined || (isFiniteNumber(ageMs) && ageMs >= 0));
}

/**
 * Check what the store relies on (the runtime validates options in depth with zod before they get here). Throws
 * `VALIDATION_FAILED` naming the field.
 */
export function validateNewJob(input: NewJob, index?: number): void {
  const problem = newJobProblem(input);
  if (problem !== null) throw validationError(`${index === undefined ? '' : `job #${index}: `}${problem}`);
}

/** What is wrong with a new job, or null. A plain function without closures: it runs for every enqueued job. */
function newJobProblem(input: NewJob): string | null {
  if (typeof input !== 'object' || input === null) return 'a job must be an object with queue, type and payload.';
  if (typeof input.queue !== 'string' || input.queue.length === 0) return 'queue must be a non-empty string.';
  if (typeof input.type !== 'string' || input.type.length === 0) return 'type must be a non-empty string.';
  if (input.id !== undefined && (typeof input.id !== 'string' || input.id.length === 0)) {
    return 'id must be a non-empty string when given; omit it to get a generated id.';
  }
  if (input.priority !== undefined && !isFiniteNumber(input.priority)) return 'priority must be a finite number.';
  if (input.delayMs !== undefined && !isFiniteNumber(input.delayMs)) return 'delayMs must be a finite number of ms.';
  if (input.runAt !== undefined && !isFiniteNumber(input.runAt)) return 'runAt must be a finite time in ms.';
  if (input.maxAttempts !== undefined && (!Number.isInteger(input.maxAttempts) || input.maxAttempts < 1)) {
    return 'maxAttempts must be an integer >= 1.';
  }
  const { timeoutMs, uniqueKey, backoff, meta } = input;
  if (timeoutMs !== undefined && timeoutMs !== null && !(isFiniteNumber(timeoutMs) && timeoutMs > 0)) {
    return 'timeoutMs must be a positive number of ms, or null for no timeout.';
  }
  if (uniqueKey !== undefined && uniqueKey !== null && typeof uniqueKey !== 'string') {
    return 'uniqueKey must be a string or null.';
  }
  if (backoff !== undefined && backoff !== null) {
    if (
      typeof backoff !== 'object' ||
      !BACKOFF_TYPES.has(backoff.type) ||
      !isFiniteNumber(backoff.delayMs) ||
      backoff.delayMs < 0
    ) {
      return "backoff must be { type: 'fixed' | 'exponential' | 'custom', delayMs: number >= 0 } or null.";
    }
  }
  if (meta !== undefined && meta !== null && (typeof meta !== 'object' || Array.isArray(meta))) {
    return 'meta must be a plain object or null.';
  }
  if (!retentionOk(input.removeOnComplete)) return `removeOnComplete ${RETENTION_HINT}`;
  if (!retentionOk(input.removeOnFail)) return `removeOnFail ${RETENTION_HINT}`;
  return null;
}

const STATE_SET: ReadonlySet<string> = new Set(JOB_STATES);

export function isJobState(value: unknown): value is Job['state'] {
  return typeof value === 'string' && STATE_SET.has(value);
}
