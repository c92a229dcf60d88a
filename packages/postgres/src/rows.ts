import type { BackoffOptions, ClaimedJob, Job, JobError, JobState, NewJob, RetentionOption } from '@conveyor/core';
import { assertValidNewJob, buildJob, JOB_STATES, retentionRule } from '@conveyor/core';
import { timeOrderedId } from './ids';
import { validationError } from './options';

/** The columns every job read selects, in {@link JobRow} shape. */
export const JOB_COLUMNS = `id, queue, type, state, priority, attempt, max_attempts, token, seq, retention, created_at,
  run_at, started_at, finished_at, lease_expires_at, worker_id, unique_key, timeout_ms, payload, backoff,
  remove_on_complete, remove_on_fail, meta, result, last_error, progress`;

/** `JOB_COLUMNS` qualified with a table alias. */
export function jobColumns(alias: string): string {
  return JOB_COLUMNS.split(',')
    .map((c) => `${alias}.${c.trim()}`)
    .join(', ');
}

/** A job row as `pg` returns it (int8 parsed to number by the context's type parser). */
export interface JobRow {
  id: string;
  queue: string;
  type: string;
  state: JobState;
  priority: number;
  attempt: number;
  max_attempts: number;
  token: number;
  seq: number;
  retention: number;
  created_at: number;
  run_at: number;
  started_at: number | null;
  finished_at: number | null;
  lease_expires_at: number | null;
  worker_id: string | null;
  unique_key: string | null;
  timeout_ms: number | null;
  payload: unknown;
  backoff: BackoffOptions | null;
  remove_on_complete: RetentionOption;
  remove_on_fail: RetentionOption;
  meta: Record<string, unknown> | null;
  result: unknown;
  last_error: JobError | null;
  progress: unknown;
}

export function toJob(r: JobRow): Job {
  return {
    id: r.id,
    queue: r.queue,
    type: r.type,
    payload: r.payload,
    state: r.state,
    priority: r.priority,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    backoff: r.backoff,
    timeoutMs: r.timeout_ms,
    uniqueKey: r.unique_key,
    removeOnComplete: r.remove_on_complete,
    removeOnFail: r.remove_on_fail,
    meta: r.meta,
    createdAt: r.created_at,
    runAt: r.run_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: r.result,
    lastError: r.last_error,
    progress: r.progress,
    workerId: r.worker_id,
    leaseExpiresAt: r.lease_expires_at,
  };
}

/**
 * What a claim returns, in this order (`rowMode: 'array'`, see {@link claimedFromArray}): the job's fields and its
 * token, `seq` for the claim order and the `retention` bits (see `PostgresQueueAdapter.complete`). `finish_seq` stays
 * in the store.
 */
export function claimColumns(alias: string): string {
  return [
    'id',
    'queue',
    'type',
    'payload',
    'state',
    'priority',
    'attempt',
    'max_attempts',
    'backoff',
    'timeout_ms',
    'unique_key',
    'remove_on_complete',
    'remove_on_fail',
    'meta',
    'created_at',
    'run_at',
    'started_at',
    'finished_at',
    'result',
    'last_error',
    'progress',
    'worker_id',
    'lease_expires_at',
    'token',
    'seq',
    'retention',
  ]
    .map((c) => `${alias}.${c}`)
    .join(', ');
}

/** A claimed row in {@link claimColumns} order. */
export type ClaimArrayRow = unknown[];

/** Indexes of the claim-order columns in a {@link claimColumns} row. */
export const CLAIM_PRIORITY = 5;
export const CLAIM_RUN_AT = 15;
export const CLAIM_SEQ = 24;
export const CLAIM_RETENTION = 25;

/** Build a claimed job from a {@link claimColumns} row (int8 already a number, jsonb already parsed by pg). */
export function claimedFromArray(r: ClaimArrayRow): ClaimedJob {
  return {
    id: r[0] as string,
    queue: r[1] as string,
    type: r[2] as string,
    payload: r[3],
    state: 'active',
    priority: r[5] as number,
    attempt: r[6] as number,
    maxAttempts: r[7] as number,
    backoff: r[8] as BackoffOptions | null,
    timeoutMs: r[9] as number | null,
    uniqueKey: r[10] as string | null,
    removeOnComplete: r[11] as RetentionOption,
    removeOnFail: r[12] as RetentionOption,
    meta: r[13] as Record<string, unknown> | null,
    createdAt: r[14] as number,
    runAt: r[15] as number,
    startedAt: r[16] as number | null,
    finishedAt: r[17] as number | null,
    result: r[18],
    lastError: r[19] as JobError | null,
    progress: r[20],
    workerId: r[21] as string | null,
    leaseExpiresAt: r[22] as number,
    token: r[23] as number,
  };
}

/** Retention bits of the `retention` column. */
export const RETENTION = {
  completeNow: 1,
  failNow: 2,
  completeRule: 4,
  failRule: 8,
} as const;

function retentionBits(job: Job): number {
  const c = retentionRule(job.removeOnComplete);
  const f = retentionRule(job.removeOnFail);
  let bits = 0;
  if (c.removeImmediately) bits |= RETENTION.completeNow;
  else if (c.count !== null || c.ageMs !== null) bits |= RETENTION.completeRule;
  if (f.removeImmediately) bits |= RETENTION.failNow;
  else if (f.count !== null || f.ageMs !== null) bits |= RETENTION.failRule;
  return bits;
}

/**
 * One job as the enqueue statement reads it (one `unnest` array per column). Defaults come from `buildJob`, the one place
 * every adapter decides them; the times are left to SQL so they come from the store's clock: `run_at` is absolute
 * when the caller gave `runAt`, else `delay` is added to store-now.
 */
export interface InsertRow {
  id: string;
  queue: string;
  type: string;
  priority: number;
  max_attempts: number;
  retention: number;
  run_at: number | null;
  delay: number;
  unique_key: string | null;
  timeout_ms: number | null;
  payload: unknown;
  backoff: BackoffOptions | null;
  remove_on_complete: RetentionOption;
  remove_on_fail: RetentionOption;
  meta: Record<string, unknown> | null;
  /** The job as `buildJob` made it (store-now 0); the insert fills in its times and state. */
  job: Job;
  /** Index of the input in its batch. */
  ord: number;
}

export function toInsertRow(input: NewJob, ord = 0): InsertRow {
  // now = 0: buildJob's runAt is then the relative delay, which SQL adds to store-now. A job without an id gets a
  // time-ordered one (see timeOrderedId): inserts append to the right edge of the primary key.
  const job = buildJob(input, 0, input.id ?? timeOrderedId());
  return {
    id: job.id,
    queue: job.queue,
    type: job.type,
    priority: job.priority,
    max_attempts: job.maxAttempts,
    retention: retentionBits(job),
    run_at: input.runAt ?? null,
    delay: input.runAt === undefined ? Math.max(0, input.delayMs ?? 0) : 0,
    unique_key: job.uniqueKey,
    timeout_ms: job.timeoutMs,
    payload: job.payload,
    backoff: job.backoff,
    remove_on_complete: job.removeOnComplete,
    remove_on_fail: job.removeOnFail,
    meta: job.meta,
    job,
    ord,
  };
}

/** Check what the store relies on; throws `VALIDATION_FAILED` naming the field (and the job's index in a batch). */
export function validateNewJob(input: NewJob, index?: number): void {
  assertValidNewJob(validationError, input, index);
}

const STATE_SET: ReadonlySet<string> = new Set(JOB_STATES);

export function isJobState(value: unknown): value is JobState {
  return typeof value === 'string' && STATE_SET.has(value);
}

/** JSON text for a jsonb parameter; a value JSON cannot hold is a validation error, not a driver crash. */
export function jsonParam(value: unknown, what: string): string | null {
  if (value === undefined) return null;
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw validationError(
      `${what} is not JSON-serialisable (${error instanceof Error ? error.message : String(error)}). Pass plain data.`,
    );
  }
  return text === undefined ? null : text;
}
