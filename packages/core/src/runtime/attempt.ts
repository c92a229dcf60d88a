import type { ClaimedJob, JobError } from '../contracts/job';
import type { Logger } from '../contracts/logger';
import type { AckSideEffects } from '../contracts/queue-adapter';
import { type JobContext, LazyAbort } from './context';

/**
 * Where an attempt stands on the worker:
 * - `running`: the handler runs and nothing is decided yet;
 * - `success` / `failed` / `timeout`: decided, waiting for (or past) its acknowledgement;
 * - `lost`: the store no longer holds our lease (expired, recovered, cancelled); nothing more is written;
 * - `released`: given back on close; nothing more is written.
 */
export type AttemptOutcome = 'running' | 'success' | 'failed' | 'timeout' | 'lost' | 'released';

/** What an attempt needs from its worker (kept narrow so the attempt does not reach into the worker's state). */
export interface AttemptHost {
  readonly workerId: string;
  readonly logger: Logger;
  reportProgress(attempt: Attempt, progress: unknown): Promise<void>;
}

/**
 * One claimed attempt on a worker. It doubles as the handler's {@link JobContext} (one allocation per job on the
 * hot path) and its abort controller is created only when the handler reads `signal` or the attempt must stop.
 */
export class Attempt extends LazyAbort implements JobContext {
  readonly job: ClaimedJob;
  readonly attempt: number;
  readonly workerId: string;
  readonly logger: Logger;
  private readonly host: AttemptHost;
  /** Local wall time when the handler was called; durations are measured locally. */
  readonly startedLocal: number;
  /** Store time the attempt started (from the claim), the base of the execution record's times. */
  readonly startedAt: number;
  outcome: AttemptOutcome = 'running';
  /** The handler's promise settled (its slot is free again). */
  handlerDone = false;
  durationMs = 0;
  result: unknown = null;
  error: JobError | null = null;
  /** For failures: delay before the next attempt, or null when the job fails for good. */
  retryDelayMs: number | null = null;
  timer: ReturnType<typeof setTimeout> | null = null;
  /** History handed to an `inlineRecords` adapter with the ack; built once, so a retried ack resends the same ids. */
  sideEffects: AckSideEffects | null = null;
  /** Local time by which the lease must have been renewed; past it without a renewal the lease is presumed lost. */
  leaseDeadline: number;

  constructor(host: AttemptHost, job: ClaimedJob, now: number, leaseMs: number) {
    super();
    this.host = host;
    this.job = job;
    this.attempt = job.attempt;
    this.workerId = host.workerId;
    this.logger = host.logger;
    this.startedLocal = now;
    this.startedAt = job.startedAt ?? now;
    this.leaseDeadline = now + leaseMs;
  }

  /** Store time the attempt ended, derived from the locally measured duration. */
  get finishedAt(): number {
    return this.startedAt + this.durationMs;
  }

  private boundUpdateProgress: ((progress: unknown) => Promise<void>) | null = null;

  /**
   * Bound on first read, so handlers may destructure it (`async (job, { updateProgress }) => …`) while attempts
   * that never touch it allocate nothing.
   */
  get updateProgress(): (progress: unknown) => Promise<void> {
    this.boundUpdateProgress ??= (progress: unknown) => this.host.reportProgress(this, progress);
    return this.boundUpdateProgress;
  }
}
