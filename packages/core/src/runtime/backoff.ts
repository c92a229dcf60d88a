import type { BackoffOptions, Job } from '../contracts/job';

/**
 * Decides the delay before attempt `attempt + 1` for a job whose backoff is `custom`. Return milliseconds (0 or
 * more), or `null` to stop retrying and fail the job now.
 */
export type BackoffStrategy = (attempt: number, error: unknown, job: Job) => number | null;

/** The backoff used when a job has none: exponential from 1 s, capped at 1 h, 20 % jitter. */
export const DEFAULT_BACKOFF: Readonly<Required<BackoffOptions>> = {
  type: 'exponential',
  delayMs: 1000,
  maxDelayMs: 3_600_000,
  jitter: 0.2,
};

/**
 * Delay in ms before the next attempt after attempt number `attempt` (1-based) failed.
 *
 * `fixed` waits `delayMs`; `exponential` waits `delayMs * 2^(attempt-1)` capped at `maxDelayMs`; `custom` asks
 * `strategy` (falling back to exponential when the worker has none). Jitter replaces a `jitter` fraction of the
 * delay with a uniformly random share of it, so many jobs failing together do not retry in lockstep.
 * Returns null when a custom strategy says "do not retry".
 */
export function computeBackoff(
  backoff: BackoffOptions | null,
  attempt: number,
  error: unknown,
  job: Job,
  strategy: BackoffStrategy | undefined,
  random: () => number = Math.random,
): number | null {
  const options = backoff ?? DEFAULT_BACKOFF;
  if (options.type === 'custom' && strategy !== undefined) {
    const custom = strategy(attempt, error, job);
    if (custom === null) return null;
    return Number.isFinite(custom) ? Math.max(0, Math.round(custom)) : 0;
  }
  const maxDelay = options.maxDelayMs ?? DEFAULT_BACKOFF.maxDelayMs;
  const base =
    options.type === 'fixed'
      ? options.delayMs
      : Math.min(maxDelay, options.delayMs * 2 ** Math.min(Math.max(attempt - 1, 0), 52));
  const jitter = Math.min(Math.max(options.jitter ?? DEFAULT_BACKOFF.jitter, 0), 1);
  if (jitter === 0 || base === 0) return Math.round(base);
  return Math.round(base * (1 - jitter) + random() * base * jitter);
}
