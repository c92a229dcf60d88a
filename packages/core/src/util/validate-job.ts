import type { ConveyorError } from '../contracts/errors';
import type { NewJob } from '../contracts/job';
import { EXECUTION_STATUSES } from '../contracts/job';
import type { ExecutionRecord } from '../contracts/storage-adapter';

/*
 * What every adapter checks of a NewJob before storing it. One definition, so no backend accepts what another
 * refuses; the runtime's zod schemas validate user options in depth before they get here.
 */

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

/** What is wrong with a new job, or null. A plain function without closures: it runs for every enqueued job. */
export function newJobProblem(input: NewJob): string | null {
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

/**
 * Throw the adapter's own `VALIDATION_FAILED` error (made by `toError`, which adds its `[conveyor] [component]`
 * prefix) when `input` is not a storable job; `index` names the job's position in a batch.
 */
export function assertValidNewJob(toError: (sentence: string) => ConveyorError, input: NewJob, index?: number): void {
  const problem = newJobProblem(input);
  if (problem !== null) throw toError(`${index === undefined ? '' : `job #${index}: `}${problem}`);
}

const EXECUTION_STATUS_SET: ReadonlySet<string> = new Set(EXECUTION_STATUSES);

/**
 * What is wrong with an execution record handed to `StorageAdapter.recordExecutions` (or carried by an inline ack),
 * or null. A plain function without closures: it runs once per acknowledged job.
 */
export function executionRecordProblem(r: ExecutionRecord): string | null {
  if (typeof r !== 'object' || r === null) return 'a record must be an object.';
  if (typeof r.id !== 'string' || r.id.length === 0) return 'id must be a non-empty string.';
  if (typeof r.jobId !== 'string' || r.jobId.length === 0) return 'jobId must be a non-empty string.';
  if (!EXECUTION_STATUS_SET.has(r.status)) return `status must be one of ${EXECUTION_STATUSES.join(', ')}.`;
  if (!Number.isFinite(r.startedAt) || !Number.isFinite(r.finishedAt)) {
    return 'startedAt and finishedAt must be times in ms.';
  }
  if (!Number.isFinite(r.durationMs)) return 'durationMs must be a number.';
  return null;
}
