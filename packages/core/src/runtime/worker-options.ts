import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { z } from 'zod';
import type { Backend } from '../contracts/backend';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';
import type { BackoffStrategy } from './backoff';
import { runtimeError } from './errors';
import { describeIssues } from './options';

/** Options of a {@link Worker}. */
export interface WorkerOptions {
  /** The store: `createMemoryBackend()`, `createSqliteBackend()`, … */
  backend: Backend;
  /** Handlers running at once. @default 1 */
  concurrency?: number;
  /**
   * Most jobs taken by one claim call; a claim asks for min(free slots + free prefetch room, batchSize).
   * @default concurrency + prefetch
   */
  batchSize?: number;
  /**
   * Jobs claimed ahead of free slots and held in this process until a slot frees, so short jobs do not wait one
   * store round trip between each other. Prefetched jobs are leased (shown `active`, their leases renewed by the
   * heartbeat) and handed back on close. Leave it at 0 when jobs are long or workers many and uneven: a prefetched
   * job waits for this worker even when another is idle. @default 0
   */
  prefetch?: number;
  /** Lease length: a job whose lease is not renewed within this is recovered by the stalled sweep. @default 30_000 */
  leaseMs?: number;
  /** How often held leases are renewed (one `extendLeases` call) and the registry is refreshed. @default leaseMs / 3 */
  heartbeatMs?: number;
  /** Sleep between claims when the queues are empty and no `job.enqueued` event arrives. @default 1000 */
  pollIntervalMs?: number;
  /** How often this worker sweeps for jobs whose lease expired (any worker's). 0 disables. @default 15_000 */
  stalledIntervalMs?: number;
  /** Decides the delay for jobs whose backoff type is `custom`. */
  backoffStrategy?: BackoffStrategy;
  /** Where the worker logs. @default silentLogger */
  logger?: Logger;
  /** Identity in the registry, in job records and events. @default `<host>:<pid>:<random>` */
  workerId?: string;
  /**
   * Claim only job types this worker has a handler for (when handlers are given as a map). Off by default, so a
   * job of a type no running worker knows fails with a clear error instead of waiting silently. @default false
   */
  claimKnownTypesOnly?: boolean;
  /** Completions (and failures) sent in one `complete()` (`fail()`) call at most. @default 1000 */
  ackBatchSize?: number;
  /**
   * Longest a finished job waits for its acknowledgement batch; the batch is also sent at once when no handler is
   * running. @default 2
   */
  ackDelayMs?: number;
  /** Records, metrics and events are written in batches of at most this many. @default 1000 */
  recordBatchSize?: number;
  /** Grace period of `close()` when it is called without one. @default 30_000 */
  closeTimeoutMs?: number;
}

const positiveInt = (what: string) =>
  z
    .number({ error: `must be a number (${what})` })
    .int('must be a whole number')
    .min(1, 'must be at least 1');
const nonNegativeInt = (what: string) =>
  z
    .number({ error: `must be a number (${what})` })
    .int('must be a whole number')
    .min(0, 'must be 0 or more');

const workerOptionsSchema = z.object({
  concurrency: positiveInt('handlers running at once').max(100_000, 'must be at most 100000').optional(),
  batchSize: positiveInt('jobs per claim').optional(),
  prefetch: nonNegativeInt('jobs claimed ahead').max(100_000, 'must be at most 100000').optional(),
  leaseMs: z.number().int('must be a whole number').min(10, 'must be at least 10 ms').optional(),
  heartbeatMs: z.number().int('must be a whole number').min(5, 'must be at least 5 ms').optional(),
  pollIntervalMs: positiveInt('milliseconds').optional(),
  stalledIntervalMs: nonNegativeInt('milliseconds').optional(),
  workerId: z.string().min(1, 'must not be empty').max(255).optional(),
  claimKnownTypesOnly: z.boolean().optional(),
  ackBatchSize: positiveInt('acknowledgements per call').optional(),
  ackDelayMs: nonNegativeInt('milliseconds').optional(),
  recordBatchSize: positiveInt('records per call').optional(),
  closeTimeoutMs: nonNegativeInt('milliseconds').optional(),
});

/** Options with every default applied. */
export interface ResolvedWorkerOptions {
  backend: Backend;
  concurrency: number;
  batchSize: number;
  prefetch: number;
  leaseMs: number;
  heartbeatMs: number;
  pollIntervalMs: number;
  stalledIntervalMs: number;
  backoffStrategy: BackoffStrategy | undefined;
  logger: Logger;
  workerId: string;
  claimKnownTypesOnly: boolean;
  ackBatchSize: number;
  ackDelayMs: number;
  recordBatchSize: number;
  closeTimeoutMs: number;
}

/** Validate and fill in defaults; a bad option throws `CONFIG_INVALID` naming it. */
export function resolveWorkerOptions(options: WorkerOptions): ResolvedWorkerOptions {
  if (options === null || typeof options !== 'object' || options.backend === undefined) {
    throw runtimeError(
      'CONFIG_INVALID',
      'worker',
      'missing required option `backend`. Pass the store, e.g. `new Worker(queue, handlers, { backend: createMemoryBackend() })`.',
    );
  }
  const { backend, backoffStrategy, logger, ...rest } = options;
  const parsed = workerOptionsSchema.safeParse(rest);
  if (!parsed.success) {
    throw runtimeError(
      'CONFIG_INVALID',
      'worker',
      `invalid worker options: ${describeIssues(parsed.error.issues, '')}. Fix the listed option(s).`,
      { details: parsed.error.issues },
    );
  }
  const o = parsed.data;
  const concurrency = o.concurrency ?? 1;
  const prefetch = o.prefetch ?? 0;
  const leaseMs = o.leaseMs ?? 30_000;
  const heartbeatMs = o.heartbeatMs ?? Math.max(5, Math.floor(leaseMs / 3));
  if (heartbeatMs >= leaseMs) {
    throw runtimeError(
      'CONFIG_INVALID',
      'worker',
      `heartbeatMs (${heartbeatMs}) must be shorter than leaseMs (${leaseMs}), or leases expire between renewals. Use about leaseMs / 3.`,
    );
  }
  if (backoffStrategy !== undefined && typeof backoffStrategy !== 'function') {
    throw runtimeError(
      'CONFIG_INVALID',
      'worker',
      'backoffStrategy must be a function (attempt, error, job) => ms | null.',
    );
  }
  return {
    backend,
    concurrency,
    batchSize: Math.min(o.batchSize ?? concurrency + prefetch, concurrency + prefetch),
    prefetch,
    leaseMs,
    heartbeatMs,
    pollIntervalMs: o.pollIntervalMs ?? 1000,
    stalledIntervalMs: o.stalledIntervalMs ?? 15_000,
    backoffStrategy,
    logger: logger ?? silentLogger,
    workerId: o.workerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`,
    claimKnownTypesOnly: o.claimKnownTypesOnly ?? false,
    ackBatchSize: o.ackBatchSize ?? 1000,
    ackDelayMs: o.ackDelayMs ?? 2,
    recordBatchSize: o.recordBatchSize ?? 1000,
    closeTimeoutMs: o.closeTimeoutMs ?? 30_000,
  };
}
