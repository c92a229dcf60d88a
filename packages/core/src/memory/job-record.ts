import type { BackoffOptions, ClaimedJob, Job, JobError, NewJob, RetentionOption } from '../contracts/job';
import { JOB_STATES } from '../contracts/job';
import { assertValidNewJob } from '../util/validate-job';
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

/**
 * Check what the store relies on (the runtime validates options in depth with zod before they get here). Throws
 * `VALIDATION_FAILED` naming the field.
 */
export function validateNewJob(input: NewJob, index?: number): void {
  assertValidNewJob(validationError, input, index);
}

const STATE_SET: ReadonlySet<string> = new Set(JOB_STATES);

export function isJobState(value: unknown): value is Job['state'] {
  return typeof value === 'string' && STATE_SET.has(value);
}
