import { randomUUID } from 'node:crypto';
import type { Job, NewJob, RetentionOption } from '../contracts/job';

/** Defaults applied to every new job, by every adapter. */
export const JOB_DEFAULTS = {
  priority: 0,
  maxAttempts: 3,
  removeOnComplete: false as RetentionOption,
  removeOnFail: false as RetentionOption,
} as const;

/** A new job id: random, URL-safe. */
export function newJobId(): string {
  return randomUUID();
}

/**
 * The stored form of a new job at store time `now`: the one place defaults and the initial state are decided,
 * so every adapter agrees. `scheduled` when the run time is in the future, else `waiting`.
 */
export function buildJob(input: NewJob, now: number, id: string = input.id ?? newJobId()): Job {
  const runAt = input.runAt ?? now + Math.max(0, input.delayMs ?? 0);
  return {
    id,
    queue: input.queue,
    type: input.type,
    payload: input.payload === undefined ? null : input.payload,
    state: runAt > now ? 'scheduled' : 'waiting',
    priority: input.priority ?? JOB_DEFAULTS.priority,
    attempt: 0,
    maxAttempts: input.maxAttempts ?? JOB_DEFAULTS.maxAttempts,
    backoff: input.backoff ?? null,
    timeoutMs: input.timeoutMs ?? null,
    uniqueKey: input.uniqueKey ?? null,
    removeOnComplete: input.removeOnComplete ?? JOB_DEFAULTS.removeOnComplete,
    removeOnFail: input.removeOnFail ?? JOB_DEFAULTS.removeOnFail,
    meta: input.meta ?? null,
    createdAt: now,
    runAt,
    startedAt: null,
    finishedAt: null,
    result: null,
    lastError: null,
    progress: null,
    workerId: null,
    leaseExpiresAt: null,
  };
}

/** A retention option in one shape: remove at once, or keep at most `count` and none older than `ageMs`. */
export interface RetentionRule {
  removeImmediately: boolean;
  count: number | null;
  ageMs: number | null;
}

export function retentionRule(option: RetentionOption): RetentionRule {
  if (option === true) return { removeImmediately: true, count: null, ageMs: null };
  if (option === false) return { removeImmediately: false, count: null, ageMs: null };
  if (typeof option === 'number') return { removeImmediately: option <= 0, count: option, ageMs: null };
  return { removeImmediately: option.count === 0, count: option.count ?? null, ageMs: option.ageMs ?? null };
}

/** The error recorded for a job whose lease expired. */
export const STALLED_ERROR = {
  message: 'The worker lost the lease (it crashed, hung, or could not reach the store) before finishing.',
  code: 'STALLED',
  stack: null,
} as const;
