import { hostname } from 'node:os';
import { EventEmitter } from 'eventemitter3';
import type { Backend } from '../contracts/backend';
import { LeaseLostError, UnrecoverableError } from '../contracts/errors';
import type { ConveyorEvent } from '../contracts/events';
import type { ClaimedJob, Job, JobError } from '../contracts/job';
import type { Logger } from '../contracts/logger';
import type {
  AckResult,
  AckSideEffects,
  ClaimRequest,
  CompleteRequest,
  FailRequest,
  LeaseRef,
  QueueAdapter,
  RecoveredJob,
} from '../contracts/queue-adapter';
import type { ExecutionRecord, WorkerStats } from '../contracts/storage-adapter';
import { STALLED_ERROR } from '../util/job-defaults';
import { Attempt, type AttemptHost } from './attempt';
import { ensureBackendReady } from './backend-init';
import { computeBackoff } from './backoff';
import type { HandlerMap, JobHandler, JobMap } from './context';
import { runtimeError, toJobError } from './errors';
import { makeEvent } from './events';
import { Flusher } from './flusher';
import { nextId } from './ids';
import { assertName } from './options';
import { Recorder, subscribeInternal } from './recorder';
import { type ResolvedWorkerOptions, resolveWorkerOptions, type WorkerOptions } from './worker-options';

/** Events a worker emits locally (`worker.on(...)`). Bus events (API.md shape) are published as well. */
export interface WorkerEvents {
  /** An attempt began. */
  started: [job: Job];
  /** An attempt succeeded and the store acknowledged it. `job` is the stored job, or the claimed one if removed. */
  completed: [job: Job, result: unknown, info: { durationMs: number }];
  /** An attempt failed or timed out and the job will run again after `retryDelayMs`. */
  retrying: [
    job: Job,
    error: JobError,
    info: { status: 'failed' | 'timeout'; durationMs: number; retryDelayMs: number },
  ];
  /** An attempt failed or timed out and the job is now `failed` for good. */
  failed: [job: Job, error: JobError, info: { status: 'failed' | 'timeout'; durationMs: number }];
  /** A handler reported progress. */
  progress: [job: Job, progress: unknown];
  /** The stalled sweep took a job back from a worker whose lease expired. */
  stalled: [recovered: RecoveredJob];
  /** This worker lost a lease (expired, recovered by a sweep, cancelled); the handler's signal was aborted. */
  'lease-lost': [job: Job, reason: string];
  /** The queues ran dry and no handler is running. */
  drained: [];
  /** A store call failed; the worker logged it and keeps going. */
  error: [error: unknown];
  /** `close()` finished. */
  closed: [];
}

type WorkerState = 'idle' | 'starting' | 'running' | 'closing' | 'closed';

/** Options of {@link Worker.close}. */
export interface CloseOptions {
  /**
   * How long running handlers may take to finish. Past it their signals are aborted and their jobs are released
   * so another worker takes them at once. @default the worker's `closeTimeoutMs` (30 s)
   */
  timeoutMs?: number;
}

const MAX_CLAIM_BACKOFF_MS = 30_000;
const STALLED_SWEEP_LIMIT = 1000;

/**
 * Runs jobs from one or more queues.
 *
 * The hot path is built for throughput: a claim asks for as many jobs as there are free slots (one call fills
 * several), completions and failures are acknowledged in batches (`complete()` / `fail()` with many leases),
 * execution records, metrics and events are written behind in batches, and every held lease is renewed by one
 * `extendLeases` call per heartbeat. Store errors are logged and retried with backoff; they never crash the process.
 *
 * @example
 * const worker = new Worker('emails', { send: async (job, ctx) => mailer.send(job.payload, { signal: ctx.signal }) },
 *   { backend, concurrency: 10 });
 * await worker.start();
 * // on shutdown:
 * await worker.close({ timeoutMs: 10_000 });
 */
export class Worker<Jobs extends JobMap = JobMap> extends EventEmitter<WorkerEvents> implements AttemptHost {
  /** Identity in the registry, job records and events. */
  readonly workerId: string;
  /** Queues this worker claims from. */
  readonly queues: readonly string[];
  readonly logger: Logger;

  private readonly options: ResolvedWorkerOptions;
  private readonly backend: Backend;
  private readonly queueAdapter: QueueAdapter;
  private readonly queueSet: Set<string>;
  private readonly handlerMap: Map<string, JobHandler> | null;
  private readonly singleHandler: JobHandler | null;
  private readonly recorder: Recorder;
  private readonly completions: Flusher<Attempt>;
  private readonly failures: Flusher<Attempt>;
  private readonly claimBase: Omit<ClaimRequest, 'limit'>;

  private state: WorkerState = 'idle';
  private startPromise: Promise<void> | null = null;
  private closePromise: Promise<void> | null = null;
  /** Claimed attempts whose outcome the store has not acknowledged yet: the leases the heartbeat renews. */
  private readonly held = new Map<string, Attempt>();
  /** Handlers executing (slots in use). */
  private running = 0;
  /** Jobs claimed ahead of free slots (`prefetch`), oldest first from `prefetchHead`, with when they were claimed. */
  private prefetched: PrefetchedJob[] = [];
  private prefetchHead = 0;
  /** Attempts still `running` (not decided); close() waits for this to reach 0. */
  private undecided = 0;
  private starting = false;
  private drained = false;
  private wokenDuringClaim = false;
  private claimFailures = 0;
  private claimInFlight: Promise<void> | null = null;
  private fillImmediate: ReturnType<typeof setImmediate> | null = null;
  private pollTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatInFlight: Promise<void> | null = null;
  private sweepTimer: ReturnType<typeof setTimeout> | null = null;
  private sweepInFlight: Promise<void> | null = null;
  private unsubscribe: (() => void) | null = null;
  private idleWaiter: (() => void) | null = null;
  private warnedCustomBackoff = false;
  /** Whether per-job success-path events can reach anyone; refreshed once per claim and per ack batch. */
  private jobEvents = true;
  /**
   * The queue adapter writes records, metrics and events with each claim and ack (`capabilities.inlineRecords`):
   * the runtime hands them over with the call instead of buffering them for separate writes.
   */
  private readonly inlineRecords: boolean;
  private startedAt = 0;
  private readonly counters: WorkerStats = {
    activeJobs: 0,
    executions: 0,
    succeeded: 0,
    failed: 0,
    totalDurationMs: 0,
  };

  /**
   * @param queues a queue name or several; the worker claims from all of them.
   * @param handlers one handler per job type, or one function for every type.
   */
  constructor(queues: string | readonly string[], handlers: HandlerMap<Jobs> | JobHandler, options: WorkerOptions) {
    super();
    this.options = resolveWorkerOptions(options);
    const names = typeof queues === 'string' ? [queues] : [...queues];
    if (names.length === 0) {
      throw runtimeError('CONFIG_INVALID', 'worker', 'no queue given. Pass a queue name or a non-empty array of them.');
    }
    for (const name of names) assertName('worker', 'queue name', name);
    this.queues = Object.freeze([...new Set(names)]);
    this.queueSet = new Set(this.queues);
    if (typeof handlers === 'function') {
      this.singleHandler = handlers;
      this.handlerMap = null;
    } else if (handlers !== null && typeof handlers === 'object') {
      this.singleHandler = null;
      this.handlerMap = new Map();
      for (const [type, handler] of Object.entries(handlers)) {
        if (handler === undefined) continue;
        if (typeof handler !== 'function') {
          throw runtimeError('CONFIG_INVALID', 'worker', `the handler for job type "${type}" is not a function.`);
        }
        this.handlerMap.set(type, handler as JobHandler);
      }
    } else {
      throw runtimeError(
        'CONFIG_INVALID',
        'worker',
        'handlers must be a function or an object mapping job types to functions.',
      );
    }
    this.workerId = this.options.workerId;
    this.logger = this.options.logger;
    this.backend = this.options.backend;
    this.queueAdapter = this.backend.queue;
    this.inlineRecords = this.queueAdapter.capabilities.inlineRecords === true;
    this.claimBase = {
      queues: [...this.queues],
      workerId: this.workerId,
      leaseMs: this.options.leaseMs,
      ...(this.options.claimKnownTypesOnly && this.handlerMap !== null ? { types: [...this.handlerMap.keys()] } : {}),
    };
    const onError = (error: unknown) => this.fire('error', error);
    this.recorder = new Recorder(this.backend, this.logger, { maxBatch: this.options.recordBatchSize }, onError);
    const ackOptions = {
      maxSize: this.options.ackBatchSize,
      maxDelayMs: this.options.ackDelayMs,
      logger: this.logger,
      onError,
    };
    this.completions = new Flusher<Attempt>({
      ...ackOptions,
      name: 'completions',
      write: (batch) => this.writeCompletions(batch),
    });
    this.failures = new Flusher<Attempt>({
      ...ackOptions,
      name: 'failures',
      write: (batch) => this.writeFailures(batch),
    });
  }

  /** True between `start()` and `close()`. */
  get isRunning(): boolean {
    return this.state === 'running';
  }

  /** Figures since start: what the registry heartbeat reports. */
  stats(): WorkerStats {
    return { ...this.counters, activeJobs: this.running };
  }

  /**
   * Initialise the backend (once), register in the worker registry, subscribe to `job.enqueued` wake-ups and start
   * claiming. Rejects if the store cannot be reached at start; call it again to retry.
   */
  start(): Promise<void> {
    if (this.state === 'closing' || this.state === 'closed') {
      return Promise.reject(
        runtimeError('INVALID_STATE', 'worker', `worker ${this.workerId} is closed; create a new Worker to run again.`),
      );
    }
    if (this.startPromise === null) {
      this.startPromise = this.doStart().catch((error: unknown) => {
        this.startPromise = null;
        if (this.state === 'starting') this.state = 'idle';
        this.unsubscribe?.();
        this.unsubscribe = null;
        throw error;
      });
    }
    return this.startPromise;
  }

  /**
   * Stop claiming, wait up to `timeoutMs` for running handlers, then abort the rest and release their leases so
   * another worker takes them at once; flush every buffer and leave the registry. Idempotent.
   */
  close(options: CloseOptions = {}): Promise<void> {
    if (this.closePromise === null) this.closePromise = this.doClose(options.timeoutMs ?? this.options.closeTimeoutMs);
    return this.closePromise;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Life cycle

  private async doStart(): Promise<void> {
    this.state = 'starting';
    await ensureBackendReady(this.backend);
    this.startedAt = await this.queueAdapter.now();
    await this.backend.storage.registerWorker({
      id: this.workerId,
      host: hostname(),
      pid: process.pid,
      queues: [...this.queues],
      concurrency: this.options.concurrency,
      startedAt: this.startedAt,
    });
    if (this.state !== 'starting') return; // closed while starting
    this.unsubscribe = subscribeInternal(this.backend.events, this.onBusEvent);
    this.publish('worker.started', this.startedAt, undefined, undefined, {
      host: hostname(),
      pid: process.pid,
      queues: [...this.queues],
      concurrency: this.options.concurrency,
    });
    // Delivered before start() resolves, so it precedes every event of this worker's jobs on the bus.
    await this.recorder.events.flush();
    if (this.state !== 'starting') return; // closed while starting
    this.state = 'running';
    this.armHeartbeat();
    if (this.options.stalledIntervalMs > 0) this.runSweep();
    this.logger.info(`[conveyor] [worker] ${this.workerId} started on ${this.queues.join(', ')}.`, {
      workerId: this.workerId,
      concurrency: this.options.concurrency,
    });
    this.scheduleFill();
  }

  private async doClose(timeoutMs: number): Promise<void> {
    if (this.startPromise !== null) await this.startPromise.catch(() => undefined);
    const wasStarted = this.state === 'running';
    this.state = 'closing';
    this.unsubscribe?.();
    this.unsubscribe = null;
    if (this.fillImmediate !== null) clearImmediate(this.fillImmediate);
    this.fillImmediate = null;
    this.clearPoll();
    // A claim in flight hands its jobs back itself (fill() sees the state).
    if (this.claimInFlight !== null) await this.claimInFlight;
    // Prefetched jobs never started: straight back to the queue for other workers.
    const unstarted = this.takePrefetched();
    if (unstarted.length > 0) await this.releaseUnstarted(unstarted);

    if (this.undecided > 0) await this.waitUndecided(timeoutMs);
    await this.releaseUndecided();

    await Promise.all([this.completions.close(), this.failures.close()]);
    this.stopTimers();
    if (this.heartbeatInFlight !== null) await this.heartbeatInFlight;
    if (this.sweepInFlight !== null) await this.sweepInFlight;
    if (wasStarted) {
      try {
        await this.backend.storage.deregisterWorker(this.workerId);
      } catch (error) {
        this.report(error, 'could not deregister from the worker registry; it will show as stale until pruned');
      }
      this.publish('worker.stopped', Date.now(), undefined, undefined, { ...this.stats() });
    }
    await this.recorder.close();
    this.state = 'closed';
    this.logger.info(`[conveyor] [worker] ${this.workerId} closed.`, { workerId: this.workerId });
    this.fire('closed');
  }

  private waitUndecided(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.idleWaiter = null;
        resolve();
      }, timeoutMs);
      this.idleWaiter = () => {
        clearTimeout(timer);
        this.idleWaiter = null;
        resolve();
      };
    });
  }

  /** Abort the attempts still running after the grace period and give their jobs back in one `release` call. */
  private async releaseUndecided(): Promise<void> {
    const leftovers: Attempt[] = [];
    for (const attempt of this.held.values()) if (attempt.outcome === 'running') leftovers.push(attempt);
    if (leftovers.length === 0) return;
    const reason = runtimeError(
      'TIMEOUT',
      'worker',
      `worker ${this.workerId} is closing and the job did not finish within the close timeout; it was released for another worker. Honour ctx.signal to stop promptly.`,
    );
    const leases: LeaseRef[] = [];
    for (const attempt of leftovers) {
      this.decide(attempt, 'released');
      attempt.durationMs = Date.now() - attempt.startedLocal;
      this.held.delete(attempt.job.id);
      attempt.abort(reason);
      leases.push({ jobId: attempt.job.id, token: attempt.job.token });
    }
    let results: AckResult[];
    try {
      results = await this.queueAdapter.release(leases);
    } catch (error) {
      this.report(error, `could not release ${leases.length} job(s) on close; the stalled sweep will recover them`);
      return;
    }
    const error: JobError = {
      message: 'The worker shut down before the handler finished; the job was released for another worker.',
      code: 'WORKER_CLOSED',
      stack: null,
    };
    for (let i = 0; i < leftovers.length; i++) {
      const attempt = leftovers[i] as Attempt;
      const result = matchResult(results, i, attempt.job.id);
      if (result === undefined || !result.ok) continue;
      const { job } = attempt;
      this.recorder.executions.push({
        id: nextId(),
        jobId: job.id,
        queue: job.queue,
        type: job.type,
        attempt: job.attempt,
        status: 'cancelled',
        startedAt: attempt.startedAt,
        finishedAt: attempt.finishedAt,
        durationMs: attempt.durationMs,
        workerId: this.workerId,
        result: null,
        error,
      });
      this.publish('job.retrying', attempt.finishedAt, job.queue, job.id, {
        type: job.type,
        attempt: job.attempt,
        reason: 'released',
        retryDelayMs: 0,
      });
    }
  }

  private stopTimers(): void {
    if (this.heartbeatTimer !== null) clearTimeout(this.heartbeatTimer);
    if (this.sweepTimer !== null) clearTimeout(this.sweepTimer);
    this.heartbeatTimer = null;
    this.sweepTimer = null;
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Claiming

  private readonly onBusEvent = (event: ConveyorEvent): void => {
    const type = event.type;
    if (type === 'job.enqueued' || type === 'queue.resumed') {
      if (event.queue !== undefined && !this.queueSet.has(event.queue)) return;
      if (type === 'job.enqueued' && event.data['state'] === 'scheduled') return; // not ready yet: the poll finds it
      this.wake();
    } else if (type === 'job.cancelled' && event.jobId !== undefined) {
      if (this.prefetchHead < this.prefetched.length) {
        const entry = this.prefetched.find((e, i) => i >= this.prefetchHead && e.job.id === event.jobId);
        if (entry !== undefined) this.dropPrefetched(new Set([entry.job]));
      }
      const attempt = this.held.get(event.jobId);
      if (attempt !== undefined && attempt.outcome === 'running') {
        this.loseLease(
          attempt,
          runtimeError(
            'LEASE_LOST',
            'worker',
            `job ${event.jobId} was cancelled while running; its lease was revoked.`,
          ),
          'cancelled',
        );
      }
    }
  };

  /** New work may be available: claim as soon as there is a free slot. */
  private wake(): void {
    if (this.state !== 'running') return;
    this.drained = false;
    if (this.claimInFlight !== null) this.wokenDuringClaim = true;
    this.clearPoll();
    this.scheduleFill();
  }

  private readonly fillCallback = (): void => {
    this.fillImmediate = null;
    this.fill();
  };

  /**
   * Claim on the next turn of the event loop, so every handler that finishes in this turn frees its slot first
   * and one claim fills them all.
   */
  private scheduleFill(): void {
    if (this.fillImmediate !== null || this.state !== 'running') return;
    this.fillImmediate = setImmediate(this.fillCallback);
  }

  private clearPoll(): void {
    if (this.pollTimer !== null) {
      clearTimeout(this.pollTimer);
      this.pollTimer = null;
    }
  }

  private armPoll(delayMs: number): void {
    this.clearPoll();
    if (this.state !== 'running') return;
    this.pollTimer = setTimeout(() => {
      this.pollTimer = null;
      this.drained = false;
      this.scheduleFill();
    }, delayMs);
  }

  /** Claim as many jobs as there are free slots (capped by `batchSize`), unless a claim is already in flight. */
  private fill(): void {
    if (this.state !== 'running') return;
    if (this.prefetchHead < this.prefetched.length) {
      this.startPrefetched(Date.now());
      // The store was empty at the last claim: run what is here; a wake-up or the poll claims again.
      if (this.drained) return;
    }
    if (this.claimInFlight !== null) return;
    const free = this.options.concurrency + this.options.prefetch - this.running - this.bufferedCount();
    if (free <= 0) return;
    const limit = Math.min(free, this.options.batchSize);
    this.wokenDuringClaim = false;
    this.claimInFlight = this.claimAndStart(limit).finally(() => {
      this.claimInFlight = null;
    });
  }

  private async claimAndStart(limit: number): Promise<void> {
    let jobs: ClaimedJob[];
    try {
      const request: ClaimRequest = { ...this.claimBase, limit };
      if (this.inlineRecords) {
        // Asked now, not at the last ack: a watcher that just appeared sees this batch's job.started.
        this.jobEvents = this.recorder.wantsJobEvents();
        request.recordStart = { events: this.jobEvents };
      }
      jobs = await this.queueAdapter.claim(request);
      this.claimFailures = 0;
    } catch (error) {
      this.claimFailures++;
      const delay = Math.min(
        MAX_CLAIM_BACKOFF_MS,
        this.options.pollIntervalMs * 2 ** Math.min(this.claimFailures - 1, 10),
      );
      this.report(error, `claiming jobs failed; retrying in ${delay} ms`);
      this.armPoll(delay);
      return;
    }
    if (this.state !== 'running') {
      // Closed while the claim was in flight: give the jobs back untouched.
      if (jobs.length > 0) await this.releaseUnstarted(jobs);
      return;
    }
    const now = Date.now();
    this.jobEvents = this.recorder.wantsJobEvents();
    this.starting = true;
    // Jobs prefetched earlier go first; then this claim's, while slots are free; the rest wait for a slot.
    if (this.prefetchHead < this.prefetched.length) this.startPrefetched(now);
    const concurrency = this.options.concurrency;
    let i = 0;
    for (; i < jobs.length && this.running < concurrency; i++) this.startAttempt(jobs[i] as ClaimedJob, now);
    const deadline = now + this.options.leaseMs;
    for (; i < jobs.length; i++) this.prefetched.push({ job: jobs[i] as ClaimedJob, at: now, deadline });
    this.starting = false;
    if (this.running === 0 && jobs.length > 0) this.flushAcks();
    if (jobs.length < limit && !this.wokenDuringClaim) {
      this.drained = true;
      if (this.running === 0 && this.bufferedCount() === 0) this.fire('drained');
      this.armPoll(this.options.pollIntervalMs);
    } else if (this.running + this.bufferedCount() < concurrency + this.options.prefetch) {
      this.scheduleFill();
    }
  }

  /** Prefetched jobs waiting for a slot. */
  private bufferedCount(): number {
    return this.prefetched.length - this.prefetchHead;
  }

  /** Start prefetched jobs while slots are free; their store start time moves by the time they waited here. */
  private startPrefetched(now: number): void {
    const concurrency = this.options.concurrency;
    const wasStarting = this.starting;
    this.starting = true;
    while (this.prefetchHead < this.prefetched.length && this.running < concurrency) {
      const entry = this.prefetched[this.prefetchHead] as PrefetchedJob;
      this.prefetched[this.prefetchHead] = RELEASED_SLOT;
      this.prefetchHead++;
      const { job } = entry;
      if (job.startedAt !== null && now > entry.at) job.startedAt += now - entry.at;
      this.startAttempt(job, now);
    }
    this.starting = wasStarting;
    if (this.prefetchHead === this.prefetched.length) {
      this.prefetched = [];
      this.prefetchHead = 0;
    } else if (this.prefetchHead > 1024 && this.prefetchHead * 2 > this.prefetched.length) {
      this.prefetched = this.prefetched.slice(this.prefetchHead);
      this.prefetchHead = 0;
    }
    if (!wasStarting && this.running === 0) this.flushAcks();
  }

  /** Remove and return every prefetched job (on close, or to drop lost leases). */
  private takePrefetched(): ClaimedJob[] {
    const jobs = this.prefetched.slice(this.prefetchHead).map((entry) => entry.job);
    this.prefetched = [];
    this.prefetchHead = 0;
    return jobs;
  }

  private async releaseUnstarted(jobs: ClaimedJob[]): Promise<void> {
    try {
      await this.queueAdapter.release(jobs.map((job) => ({ jobId: job.id, token: job.token })));
    } catch (error) {
      this.report(
        error,
        `could not release ${jobs.length} job(s) claimed during close; the stalled sweep will recover them`,
      );
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Running one attempt

  private startAttempt(job: ClaimedJob, now: number): void {
    const attempt = new Attempt(this, job, now, this.options.leaseMs);
    this.held.set(job.id, attempt);
    this.running++;
    this.undecided++;
    const at = attempt.startedAt;
    if (this.inlineRecords) {
      // The claim itself recorded the `started` metric and event.
    } else {
      this.recorder.metrics.observe('started', job.queue, job.type, at, undefined, at > job.runAt ? at - job.runAt : 0);
    }
    if (this.jobEvents && !this.inlineRecords) {
      this.publish('job.started', at, job.queue, job.id, {
        type: job.type,
        attempt: job.attempt,
        maxAttempts: job.maxAttempts,
      });
    }
    this.fire('started', job);

    const handler = this.singleHandler ?? this.handlerMap?.get(job.type);
    if (handler === undefined) {
      const known = this.handlerMap === null ? [] : [...this.handlerMap.keys()];
      this.onHandlerError(
        attempt,
        Object.assign(
          new Error(
            `[conveyor] [worker] no handler for job type "${job.type}" on worker ${this.workerId} (it handles: ${known.join(', ') || 'nothing'}). Add a handler for it, or set claimKnownTypesOnly so this worker leaves such jobs to others.`,
          ),
          { code: 'UNKNOWN_JOB_TYPE' },
        ),
      );
      return;
    }
    if (job.timeoutMs !== null && job.timeoutMs > 0) attempt.timer = setTimeout(this.onTimeout, job.timeoutMs, attempt);
    let returned: unknown;
    try {
      returned = handler(job, attempt);
    } catch (error) {
      this.onHandlerError(attempt, error);
      return;
    }
    if (
      returned !== null &&
      typeof returned === 'object' &&
      typeof (returned as PromiseLike<unknown>).then === 'function'
    ) {
      (returned as PromiseLike<unknown>).then(
        (result) => this.onHandlerSuccess(attempt, result),
        (error: unknown) => this.onHandlerError(attempt, error),
      );
    } else {
      this.onHandlerSuccess(attempt, returned);
    }
  }

  private readonly onTimeout = (attempt: Attempt): void => {
    attempt.timer = null;
    if (attempt.outcome !== 'running') return;
    const error = runtimeError(
      'TIMEOUT',
      'worker',
      `job ${attempt.job.id} (${attempt.job.type}) ran longer than its timeoutMs of ${attempt.job.timeoutMs} ms; its signal was aborted. Raise timeoutMs, or make the handler honour ctx.signal.`,
    );
    attempt.abort(error);
    this.decideFailure(attempt, error, 'timeout');
  };

  private onHandlerSuccess(attempt: Attempt, result: unknown): void {
    this.handlerSettled(attempt);
    if (attempt.outcome === 'running') {
      const unserialisable = checkSerialisable(result);
      if (unserialisable !== null) {
        this.decideFailure(attempt, unserialisable, 'failed');
      } else {
        this.decide(attempt, 'success');
        attempt.durationMs = Date.now() - attempt.startedLocal;
        attempt.result = result === undefined ? null : result;
        this.completions.push(attempt);
      }
    } else {
      this.lateOutcome(attempt, 'completion');
    }
    this.slotFreed();
  }

  private onHandlerError(attempt: Attempt, error: unknown): void {
    this.handlerSettled(attempt);
    if (attempt.outcome === 'running') this.decideFailure(attempt, error, 'failed');
    else this.lateOutcome(attempt, 'failure');
    this.slotFreed();
  }

  private handlerSettled(attempt: Attempt): void {
    attempt.handlerDone = true;
    if (attempt.timer !== null) {
      clearTimeout(attempt.timer);
      attempt.timer = null;
    }
  }

  private decide(attempt: Attempt, outcome: Attempt['outcome']): void {
    if (attempt.outcome === 'running') {
      this.undecided--;
      if (this.undecided === 0 && this.idleWaiter !== null) this.idleWaiter();
    }
    attempt.outcome = outcome;
  }

  private decideFailure(attempt: Attempt, error: unknown, status: 'failed' | 'timeout'): void {
    this.decide(attempt, status);
    attempt.durationMs = Date.now() - attempt.startedLocal;
    attempt.error = toJobError(error);
    const { job } = attempt;
    const unrecoverable =
      error instanceof UnrecoverableError || (error as { name?: unknown })?.name === 'UnrecoverableError';
    let delay: number | null = null;
    if (!unrecoverable && job.attempt < job.maxAttempts) {
      if (job.backoff?.type === 'custom' && this.options.backoffStrategy === undefined && !this.warnedCustomBackoff) {
        this.warnedCustomBackoff = true;
        this.logger.warn(
          `[conveyor] [worker] job type "${job.type}" uses a custom backoff but worker ${this.workerId} has no backoffStrategy; using exponential. Pass backoffStrategy in the worker options.`,
        );
      }
      try {
        delay = computeBackoff(job.backoff, job.attempt, error, job, this.options.backoffStrategy);
      } catch (strategyError) {
        this.report(strategyError, `backoffStrategy threw for job ${job.id}; the job fails without retry`);
        delay = null;
      }
    }
    attempt.retryDelayMs = delay;
    this.failures.push(attempt);
  }

  private lateOutcome(attempt: Attempt, what: 'completion' | 'failure'): void {
    if (attempt.outcome === 'lost') {
      this.logger.warn(
        `[conveyor] [worker] job ${attempt.job.id} finished after its lease was lost; its ${what} was refused and changed nothing.`,
        { jobId: attempt.job.id, workerId: this.workerId },
      );
    } else if (attempt.outcome === 'released') {
      this.logger.info(
        `[conveyor] [worker] job ${attempt.job.id} finished after it was released on close; its ${what} was discarded.`,
        { jobId: attempt.job.id, workerId: this.workerId },
      );
    } else {
      this.logger.debug(
        `[conveyor] [worker] job ${attempt.job.id} finished after its timeout; the result is ignored.`,
        {
          jobId: attempt.job.id,
        },
      );
    }
  }

  private slotFreed(): void {
    this.running--;
    if (this.running === 0 && !this.starting) this.flushAcks();
    if (!this.drained || this.prefetchHead < this.prefetched.length) this.scheduleFill();
    else if (this.running === 0 && this.state === 'running') this.fire('drained');
  }

  /** Nothing is running: there is no reason to wait for more acknowledgements. */
  private flushAcks(): void {
    if (this.completions.size > 0) void this.completions.flush();
    if (this.failures.size > 0) void this.failures.flush();
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Acknowledgements (batched)

  private async writeCompletions(batch: Attempt[]): Promise<void> {
    const requests = new Array<CompleteRequest>(batch.length);
    const inline = this.inlineRecords;
    for (let i = 0; i < batch.length; i++) {
      const a = batch[i] as Attempt;
      if (inline && a.sideEffects === null) a.sideEffects = this.successSideEffects(a);
      requests[i] =
        inline && a.sideEffects !== null
          ? { jobId: a.job.id, token: a.job.token, result: a.result, sideEffects: a.sideEffects }
          : { jobId: a.job.id, token: a.job.token, result: a.result };
    }
    const results = await this.queueAdapter.complete(requests);
    this.jobEvents = this.recorder.wantsJobEvents();
    for (let i = 0; i < batch.length; i++) {
      const attempt = batch[i] as Attempt;
      const result = matchResult(results, i, attempt.job.id);
      this.unhold(attempt);
      if (result?.ok) this.recordSuccess(attempt, result.job);
      else this.ackRefused(attempt, 'completion');
    }
  }

  private async writeFailures(batch: Attempt[]): Promise<void> {
    const requests = new Array<FailRequest>(batch.length);
    const inline = this.inlineRecords;
    for (let i = 0; i < batch.length; i++) {
      const a = batch[i] as Attempt;
      const request: FailRequest = {
        jobId: a.job.id,
        token: a.job.token,
        error: a.error as JobError,
        retryDelayMs: a.retryDelayMs,
      };
      if (inline) {
        if (a.sideEffects === null) a.sideEffects = this.failureSideEffects(a);
        request.sideEffects = a.sideEffects;
      }
      requests[i] = request;
    }
    const results = await this.queueAdapter.fail(requests);
    for (let i = 0; i < batch.length; i++) {
      const attempt = batch[i] as Attempt;
      const result = matchResult(results, i, attempt.job.id);
      this.unhold(attempt);
      if (result?.ok) this.recordFailure(attempt, result.job);
      else this.ackRefused(attempt, 'failure');
    }
  }

  private unhold(attempt: Attempt): void {
    if (this.held.get(attempt.job.id) === attempt) this.held.delete(attempt.job.id);
  }

  private ackRefused(attempt: Attempt, what: 'completion' | 'failure'): void {
    this.logger.warn(
      `[conveyor] [worker] the ${what} of job ${attempt.job.id} was refused: the lease was lost (expired, recovered or cancelled) before it was acknowledged. The store was not changed.`,
      { jobId: attempt.job.id, workerId: this.workerId },
    );
    this.fire('lease-lost', attempt.job, `${what} refused`);
  }

  private recordSuccess(attempt: Attempt, stored: Job | null): void {
    const { job } = attempt;
    const finishedAt = attempt.finishedAt;
    const durationMs = attempt.durationMs;
    if (!this.inlineRecords) this.writeSuccessHistory(attempt, finishedAt, durationMs);
    const counters = this.counters;
    counters.executions++;
    counters.succeeded++;
    counters.totalDurationMs += durationMs;
    this.fire('completed', stored ?? job, attempt.result, { durationMs });
  }

  /** Buffer the record, metric and event of a success for the write-behind (adapters without inline records). */
  private writeSuccessHistory(attempt: Attempt, finishedAt: number, durationMs: number): void {
    const { job } = attempt;
    this.recorder.executions.push(this.executionRecord(attempt, 'success', finishedAt, durationMs));
    this.recorder.metrics.observe('completed', job.queue, job.type, finishedAt, durationMs);
    if (this.jobEvents) {
      this.publish('job.completed', finishedAt, job.queue, job.id, {
        type: job.type,
        attempt: job.attempt,
        durationMs,
      });
    }
  }

  /** The execution record of a finished attempt (`error` and `result` from the attempt). */
  private executionRecord(
    attempt: Attempt,
    status: 'success' | 'failed' | 'timeout',
    finishedAt: number,
    durationMs: number,
  ): ExecutionRecord {
    const { job } = attempt;
    return {
      id: nextId(finishedAt),
      jobId: job.id,
      queue: job.queue,
      type: job.type,
      attempt: job.attempt,
      status,
      startedAt: attempt.startedAt,
      finishedAt,
      durationMs,
      workerId: this.workerId,
      result: status === 'success' ? attempt.result : null,
      error: status === 'success' ? null : (attempt.error as JobError),
    };
  }

  /** What a success writes besides the job, handed to an `inlineRecords` adapter with the ack. */
  private successSideEffects(attempt: Attempt): AckSideEffects {
    const { job } = attempt;
    const finishedAt = attempt.finishedAt;
    const durationMs = attempt.durationMs;
    const sideEffects: AckSideEffects = {
      record: this.executionRecord(attempt, 'success', finishedAt, durationMs),
      metric: { kind: 'completed', queue: job.queue, type: job.type, at: finishedAt, durationMs, count: 1 },
    };
    if (this.jobEvents) {
      sideEffects.event = makeEvent('job.completed', finishedAt, job.queue, job.id, this.workerId, {
        type: job.type,
        attempt: job.attempt,
        durationMs,
      });
    }
    return sideEffects;
  }

  /** What a failure writes besides the job, handed to an `inlineRecords` adapter with the ack. */
  private failureSideEffects(attempt: Attempt): AckSideEffects {
    const { job } = attempt;
    const status = attempt.outcome === 'timeout' ? 'timeout' : 'failed';
    const finishedAt = attempt.finishedAt;
    const durationMs = attempt.durationMs;
    const error = attempt.error as JobError;
    // The adapter obeys retryDelayMs: null fails the job for good, anything else schedules another attempt.
    const willRetry = attempt.retryDelayMs !== null;
    const data = failureEventData(job, status, durationMs, error);
    if (willRetry) data['retryDelayMs'] = attempt.retryDelayMs;
    return {
      record: this.executionRecord(attempt, status, finishedAt, durationMs),
      metric: {
        kind: willRetry ? 'retried' : 'failed',
        queue: job.queue,
        type: job.type,
        at: finishedAt,
        durationMs,
        count: 1,
      },
      event: makeEvent(willRetry ? 'job.retrying' : 'job.failed', finishedAt, job.queue, job.id, this.workerId, data),
    };
  }

  private recordFailure(attempt: Attempt, stored: Job | null): void {
    const { job } = attempt;
    const status = attempt.outcome === 'timeout' ? 'timeout' : 'failed';
    const finishedAt = attempt.finishedAt;
    const durationMs = attempt.durationMs;
    const error = attempt.error as JobError;
    const willRetry =
      stored !== null ? stored.state === 'retrying' || stored.state === 'waiting' : attempt.retryDelayMs !== null;
    const counters = this.counters;
    counters.executions++;
    counters.failed++;
    counters.totalDurationMs += durationMs;
    const inline = this.inlineRecords;
    const data = inline ? null : failureEventData(job, status, durationMs, error);
    if (data !== null) {
      this.recorder.executions.push(this.executionRecord(attempt, status, finishedAt, durationMs));
      this.recorder.metrics.observe(willRetry ? 'retried' : 'failed', job.queue, job.type, finishedAt, durationMs);
    }
    // Timeouts are also counted on their own. Inline adapters wrote the failure metric with the ack; this one rides
    // the batched recorder either way, only once the ack was accepted, so the inline side-effects stay one event.
    if (status === 'timeout') this.recorder.metrics.observe('timeout', job.queue, job.type, finishedAt);
    if (willRetry) {
      const retryDelayMs = attempt.retryDelayMs ?? 0;
      if (data !== null) {
        data['retryDelayMs'] = retryDelayMs;
        if (stored !== null) data['runAt'] = new Date(stored.runAt).toISOString();
        this.publish('job.retrying', finishedAt, job.queue, job.id, data);
      }
      this.fire('retrying', stored ?? job, error, { status, durationMs, retryDelayMs });
    } else {
      if (data !== null) this.publish('job.failed', finishedAt, job.queue, job.id, data);
      this.fire('failed', stored ?? job, error, { status, durationMs });
    }
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Leases, progress, heartbeat, stalled sweep

  /** {@link AttemptHost.reportProgress}: store progress and publish `job.progress`. */
  async reportProgress(attempt: Attempt, progress: unknown): Promise<void> {
    const { job } = attempt;
    if (attempt.outcome === 'lost' || attempt.outcome === 'released') throw new LeaseLostError(job.id, 'worker');
    try {
      await this.queueAdapter.updateProgress({ jobId: job.id, token: job.token }, progress);
    } catch (error) {
      if (error instanceof LeaseLostError || (error as { code?: unknown })?.code === 'LEASE_LOST') {
        this.loseLease(attempt, error as Error, 'progress refused');
      }
      throw error;
    }
    this.publish('job.progress', Date.now(), job.queue, job.id, { type: job.type, progress });
    this.fire('progress', job, progress);
  }

  /** Forget prefetched jobs whose lease is gone (refused or expired): another worker may run them now. */
  private dropPrefetched(lost: Set<ClaimedJob>): void {
    const before = this.bufferedCount();
    this.prefetched = this.prefetched.slice(this.prefetchHead).filter((entry) => !lost.has(entry.job));
    this.prefetchHead = 0;
    const dropped = before - this.prefetched.length;
    if (dropped > 0) {
      this.logger.warn(
        `[conveyor] [worker] dropped ${dropped} prefetched job(s) whose lease was lost before they started; the store gave them to another worker.`,
        { workerId: this.workerId },
      );
    }
  }

  /** The store no longer holds our lease: stop the handler; nothing it does later is written. */
  private loseLease(attempt: Attempt, reason: Error, why: string): void {
    if (attempt.outcome !== 'running') return; // already decided: its acknowledgement will be refused
    this.decide(attempt, 'lost');
    attempt.durationMs = Date.now() - attempt.startedLocal;
    if (attempt.timer !== null) {
      clearTimeout(attempt.timer);
      attempt.timer = null;
    }
    this.unhold(attempt);
    attempt.abort(reason);
    this.logger.warn(
      `[conveyor] [worker] lost the lease on job ${attempt.job.id} (${why}); its handler was signalled to stop and its outcome will not be written.`,
      { jobId: attempt.job.id, workerId: this.workerId },
    );
    this.fire('lease-lost', attempt.job, why);
  }

  private armHeartbeat(): void {
    if (this.state !== 'running' && this.state !== 'closing') return;
    this.heartbeatTimer = setTimeout(() => {
      this.heartbeatTimer = null;
      this.heartbeatInFlight = this.heartbeat().finally(() => {
        this.heartbeatInFlight = null;
        if (this.state === 'running' || this.state === 'closing') this.armHeartbeat();
      });
    }, this.options.heartbeatMs);
  }

  /** Renew every held lease in one call, refresh the registry, publish `worker.heartbeat`. */
  private async heartbeat(): Promise<void> {
    const leases: LeaseRef[] = [];
    const attempts: Attempt[] = [];
    for (const attempt of this.held.values()) {
      if (attempt.outcome === 'lost' || attempt.outcome === 'released') continue;
      leases.push({ jobId: attempt.job.id, token: attempt.job.token });
      attempts.push(attempt);
    }
    // Prefetched jobs hold leases too.
    const waiting = this.prefetched.slice(this.prefetchHead);
    for (const { job } of waiting) leases.push({ jobId: job.id, token: job.token });
    if (leases.length > 0) {
      const sentAt = Date.now();
      const lost = new Set<ClaimedJob>();
      try {
        const results = await this.queueAdapter.extendLeases(leases, this.options.leaseMs);
        const deadline = sentAt + this.options.leaseMs;
        for (let i = 0; i < attempts.length; i++) {
          const attempt = attempts[i] as Attempt;
          const result = matchResult(results, i, attempt.job.id);
          if (result?.ok) attempt.leaseDeadline = deadline;
          else this.loseLease(attempt, new LeaseLostError(attempt.job.id, 'worker'), 'heartbeat refused');
        }
        for (let i = 0; i < waiting.length; i++) {
          const entry = waiting[i] as PrefetchedJob;
          const result = matchResult(results, attempts.length + i, entry.job.id);
          if (result?.ok) entry.deadline = deadline;
          else lost.add(entry.job);
        }
      } catch (error) {
        this.report(error, `renewing ${leases.length} lease(s) failed; will retry at the next heartbeat`);
        // Without a renewal we cannot know; past the local deadline the store has surely taken the job back.
        const now = Date.now();
        for (const attempt of attempts) {
          if (now > attempt.leaseDeadline) {
            this.loseLease(attempt, new LeaseLostError(attempt.job.id, 'worker'), 'lease expired without renewal');
          }
        }
        for (const entry of waiting) if (now > entry.deadline) lost.add(entry.job);
      }
      if (lost.size > 0) this.dropPrefetched(lost);
    }
    if (this.state !== 'running' && this.state !== 'closing') return;
    const stats = this.stats();
    try {
      await this.backend.storage.heartbeatWorker(this.workerId, stats);
    } catch (error) {
      this.report(error, 'refreshing the worker registry failed; will retry at the next heartbeat');
    }
    this.publish('worker.heartbeat', Date.now(), undefined, undefined, { ...stats });
  }

  private runSweep(): void {
    this.sweepInFlight = this.sweep().finally(() => {
      this.sweepInFlight = null;
      if (this.state === 'running') {
        this.sweepTimer = setTimeout(() => {
          this.sweepTimer = null;
          if (this.state === 'running') this.runSweep();
        }, this.options.stalledIntervalMs);
      }
    });
  }

  /** Take back jobs whose lease expired (from any worker) and write their `stalled` records. */
  private async sweep(): Promise<void> {
    for (let round = 0; round < 10; round++) {
      let recovered: RecoveredJob[];
      try {
        recovered = await this.queueAdapter.recoverStalled({ limit: STALLED_SWEEP_LIMIT });
      } catch (error) {
        this.report(error, 'the stalled-job sweep failed; will retry at the next interval');
        return;
      }
      if (recovered.length === 0) return;
      let now: number;
      try {
        now = await this.queueAdapter.now();
      } catch {
        now = Date.now();
      }
      for (const item of recovered) this.recordStalled(item, now);
      this.wake();
      if (recovered.length < STALLED_SWEEP_LIMIT) return;
    }
  }

  private recordStalled(item: RecoveredJob, now: number): void {
    const { job } = item;
    const startedAt = item.startedAt ?? now;
    const durationMs = Math.max(0, now - startedAt);
    this.recorder.executions.push({
      id: nextId(now),
      jobId: job.id,
      queue: job.queue,
      type: job.type,
      attempt: item.attempt,
      status: 'stalled',
      startedAt,
      finishedAt: now,
      durationMs,
      workerId: item.workerId,
      result: null,
      error: { ...STALLED_ERROR },
    });
    this.recorder.metrics.observe('stalled', job.queue, job.type, now, durationMs);
    const data = {
      type: job.type,
      attempt: item.attempt,
      maxAttempts: job.maxAttempts,
      status: 'stalled',
      reason: 'stalled',
      stalledWorkerId: item.workerId,
      error: { message: STALLED_ERROR.message, code: STALLED_ERROR.code },
    };
    this.publish(job.state === 'failed' ? 'job.failed' : 'job.retrying', now, job.queue, job.id, data);
    this.logger.warn(
      `[conveyor] [worker] recovered job ${job.id} from worker ${item.workerId ?? 'unknown'}: its lease expired (attempt ${item.attempt}); it is now ${job.state}.`,
      { jobId: job.id, stalledWorkerId: item.workerId },
    );
    this.fire('stalled', item);
  }

  // ---------------------------------------------------------------------------------------------------------------
  // Helpers

  /** Emit a local event; a listener that throws is logged, never allowed to break the worker's bookkeeping. */
  private fire<K extends keyof WorkerEvents>(event: K, ...args: WorkerEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: WorkerEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.logger.error(`[conveyor] [worker] a "${String(event)}" listener threw; fix the listener.`, {
        workerId: this.workerId,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private publish(
    type: ConveyorEvent['type'],
    at: number,
    queue: string | undefined,
    jobId: string | undefined,
    data: Record<string, unknown>,
  ): void {
    this.recorder.events.push(makeEvent(type, at, queue, jobId, this.workerId, data));
  }

  private report(error: unknown, sentence: string): void {
    this.logger.error(`[conveyor] [worker] ${sentence}.`, {
      workerId: this.workerId,
      error: error instanceof Error ? error.message : String(error),
    });
    this.fire('error', error);
  }
}

/** The `data` of a `job.failed` / `job.retrying` event for one failed attempt. */
function failureEventData(
  job: ClaimedJob,
  status: 'failed' | 'timeout',
  durationMs: number,
  error: JobError,
): Record<string, unknown> {
  return {
    type: job.type,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    status,
    durationMs,
    error: { message: error.message, code: error.code },
  };
}

/** A job claimed ahead of a free slot: when it was claimed (local time) and when its lease runs out locally. */
interface PrefetchedJob {
  job: ClaimedJob;
  at: number;
  deadline: number;
}

/** Fills a started prefetch slot, so the array does not keep the job alive until it is compacted. */
const RELEASED_SLOT: PrefetchedJob = { job: null as unknown as ClaimedJob, at: 0, deadline: 0 };

/** The result for `batch[index]`: by position when the adapter kept the order, else by job id. */
function matchResult<R extends { jobId: string }>(results: R[], index: number, jobId: string): R | undefined {
  const atIndex = results[index];
  if (atIndex !== undefined && atIndex.jobId === jobId) return atIndex;
  return results.find((r) => r.jobId === jobId);
}

/** A result must survive JSON; returns the error to fail the attempt with, or null when it is fine. */
function checkSerialisable(result: unknown): Error | null {
  const kind = typeof result;
  if (result === null || result === undefined || kind === 'string' || kind === 'number' || kind === 'boolean') {
    return null;
  }
  try {
    JSON.stringify(result);
    return null;
  } catch (error) {
    return Object.assign(
      new Error(
        `[conveyor] [worker] the handler's result cannot be stored as JSON (${error instanceof Error ? error.message : String(error)}). Return plain data.`,
      ),
      { code: 'VALIDATION_FAILED' },
    );
  }
}
