import type { BackoffOptions, ClaimedJob, Job, JobError, JobState, NewJob, RetentionOption } from '@conveyor/core';
import { validationError } from './errors';

/** A row of `conveyor_jobs` as better-sqlite3 returns it. */
export interface JobRow {
  seq: number;
  id: string;
  queue: string;
  type: string;
  payload: string;
  state: JobState;
  priority: number;
  attempt: number;
  max_attempts: number;
  backoff: string | null;
  timeout_ms: number | null;
  unique_key: string | null;
  remove_on_complete: string;
  remove_on_fail: string;
  meta: string | null;
  created_at: number;
  run_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  last_error: string | null;
  progress: string | null;
  worker_id: string | null;
  lease_expires_at: number | null;
  token: number;
}

/** JSON text of a value; `undefined` is stored as `null` (what a networked store would do too). */
export function toJson(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

function parseOrNull<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** The public job of a row: JSON columns parsed, every object freshly allocated. */
export function rowToJob(r: JobRow): Job {
  return {
    id: r.id,
    queue: r.queue,
    type: r.type,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state,
    priority: r.priority,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    backoff: parseOrNull<BackoffOptions>(r.backoff),
    timeoutMs: r.timeout_ms,
    uniqueKey: r.unique_key,
    removeOnComplete: JSON.parse(r.remove_on_complete) as RetentionOption,
    removeOnFail: JSON.parse(r.remove_on_fail) as RetentionOption,
    meta: parseOrNull<Record<string, unknown>>(r.meta),
    createdAt: r.created_at,
    runAt: r.run_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: parseOrNull<unknown>(r.result),
    lastError: parseOrNull<JobError>(r.last_error),
    progress: parseOrNull<unknown>(r.progress),
    workerId: r.worker_id,
    leaseExpiresAt: r.lease_expires_at,
  };
}

/** An active row with its fencing token. */
export function rowToClaimed(r: JobRow): ClaimedJob {
  const job = rowToJob(r) as ClaimedJob;
  job.token = r.token;
  return job;
}

/** Parameters of the insert statement, in column order. */
export function jobInsertParams(job: Job, payloadJson: string): unknown[] {
  return [
    job.id,
    job.queue,
    job.type,
    payloadJson,
    job.state,
    job.priority,
    job.attempt,
    job.maxAttempts,
    job.backoff === null ? null : JSON.stringify(job.backoff),
    job.timeoutMs,
    job.uniqueKey,
    JSON.stringify(job.removeOnComplete),
    JSON.stringify(job.removeOnFail),
    job.meta === null ? null : JSON.stringify(job.meta),
    job.createdAt,
    job.runAt,
  ];
}

export const INSERT_JOB_SQL = `INSERT INTO conveyor_jobs (id, queue, type, payload, state, priority, attempt, max_attempts,
  backoff, timeout_ms, unique_key, remove_on_complete, remove_on_fail, meta, created_at, run_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

function isFiniteNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function checkRetention(value: unknown, field: string, where: string): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (isFiniteNumber(value) && value >= 0) return;
  if (typeof value === 'object' && value !== null) {
    const { count, ageMs } = value as { count?: unknown; ageMs?: unknown };
    const countOk = count === undefined || (Number.isInteger(count) && (count as number) >= 0);
    const ageOk = ageMs === undefined || (isFiniteNumber(ageMs) && ageMs >= 0);
    if (countOk && ageOk) return;
  }
  throw validationError(
    `${where}${field} must be a boolean, a count >= 0, or { count?: integer >= 0, ageMs?: number >= 0 }. Fix the job options.`,
  );
}

/**
 * Check what the store relies on; the runtime validates options in depth before they get here. Throws
 * `VALIDATION_FAILED` naming the field (and the position in a batch).
 */
export function validateNewJob(input: NewJob, index?: number): void {
  const where = index === undefined ? '' : `job #${index}: `;
  const fail = (sentence: string): never => {
    throw validationError(`${where}${sentence}`);
  };
  if (typeof input !== 'object' || input === null) fail('a job must be an object with queue, type and payload.');
  if (typeof input.queue !== 'string' || input.queue.length === 0) fail('queue must be a non-empty string.');
  if (typeof input.type !== 'string' || input.type.length === 0) fail('type must be a non-empty string.');
  if (input.id !== undefined && (typeof input.id !== 'string' || input.id.length === 0)) {
    fail('id must be a non-empty string when given; omit it to get a generated id.');
  }
  if (input.priority !== undefined && !isFiniteNumber(input.priority)) fail('priority must be a finite number.');
  if (input.delayMs !== undefined && !isFiniteNumber(input.delayMs)) fail('delayMs must be a finite number of ms.');
  if (input.runAt !== undefined && !isFiniteNumber(input.runAt)) fail('runAt must be a finite time in ms.');
  if (input.maxAttempts !== undefined && (!Number.isInteger(input.maxAttempts) || input.maxAttempts < 1)) {
    fail('maxAttempts must be an integer >= 1.');
  }
  if (
    input.timeoutMs !== undefined &&
    input.timeoutMs !== null &&
    !(isFiniteNumber(input.timeoutMs) && input.timeoutMs > 0)
  ) {
    fail('timeoutMs must be a positive number of ms, or null for no timeout.');
  }
  if (input.uniqueKey !== undefined && input.uniqueKey !== null && typeof input.uniqueKey !== 'string') {
    fail('uniqueKey must be a string or null.');
  }
  checkRetention(input.removeOnComplete, 'removeOnComplete', where);
  checkRetention(input.removeOnFail, 'removeOnFail', where);
}
