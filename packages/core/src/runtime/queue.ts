import type { Backend } from '../contracts/backend';
import type { ConveyorEvent } from '../contracts/events';
import type { FinishedState, Job, JobError, NewJob } from '../contracts/job';
import { JOB_STATES } from '../contracts/job';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';
import type { EnqueueCallOptions, StateCounts } from '../contracts/queue-adapter';
import { buildJob, newJobId } from '../util/job-defaults';
import { rememberPayloadJson } from '../util/payload-json';
import { ensureBackendReady } from './backend-init';
import { type JobContext, type JobHandler, type JobMap, LazyAbort } from './context';
import { runtimeError, toJobError } from './errors';
import { makeEvent } from './events';
import { nextId } from './ids';
import { assertName, type JobOptions, parseJobOptions, toNewJob } from './options';
import { Recorder } from './recorder';

/** Options of a {@link Queue}. */
export interface QueueOptions {
  /** The store: `createMemoryBackend()`, `createSqliteBackend()`, … */
  backend: Backend;
  /** Where the queue logs. @default silentLogger */
  logger?: Logger;
  /** Largest payload accepted, measured as UTF-8 JSON. @default 1_048_576 (1 MiB) */
  maxPayloadBytes?: number;
  /** Options applied to every enqueue; per-call options override them key by key. @default {} */
  defaultJobOptions?: JobOptions;
}

/** What an enqueue returns: the stored job, and whether an existing one was returned instead of a new one. */
export interface EnqueueOutcome<Payload = unknown> {
  job: Job<Payload>;
  /** True when a job with the same id, or the same live `uniqueKey`, already existed; nothing new was stored. */
  deduplicated: boolean;
}

/** One item of {@link Queue.enqueueBulk}. */
export type BulkItem<Jobs extends JobMap> = {
  [Type in keyof Jobs & string]: { type: Type; payload: Jobs[Type]; options?: JobOptions };
}[keyof Jobs & string];

/** What {@link Queue.runNow} resolves to. */
export interface RunNowOutcome<Payload = unknown, Result = unknown> {
  /** The job as it ran (state `completed`); it is not stored in the queue. */
  job: Job<Payload, Result>;
  result: Result;
  durationMs: number;
}

/** Options of {@link Queue.runNow}: the job options, where `timeoutMs` aborts the handler's signal. */
export type RunNowOptions = Pick<JobOptions, 'jobId' | 'timeoutMs' | 'meta' | 'priority'>;

const DEFAULT_MAX_PAYLOAD_BYTES = 1_048_576;
/** Payload JSON at least this long is handed to the adapter (`payloadJson`) instead of being serialised again. */
const REMEMBER_JSON_FROM = 64;
/** Enqueue options for an `inlineRecords` adapter: `job.enqueued` is always published (it also wakes workers). */
const INLINE_ENQUEUE: EnqueueCallOptions = Object.freeze({ sideEffects: Object.freeze({ events: true }) });

/**
 * The producer side of one queue: enqueue (validated), bulk enqueue, and the operations the dashboard offers
 * (pause, resume, retry, promote, cancel, remove, clean), each publishing its event.
 *
 * `Jobs` maps job types to payload types, so `enqueue('send-email', payload)` checks the payload at compile time.
 * Call {@link Queue.close} on shutdown to flush buffered events and metrics (it does not close the backend).
 *
 * @example
 * const queue = new Queue<{ 'send-email': { to: string } }>('emails', { backend });
 * const { job } = await queue.enqueue('send-email', { to: 'ada@example.com' }, { delayMs: 5_000 });
 */
export class Queue<Jobs extends JobMap = JobMap> {
  /** The queue's name. */
  readonly name: string;
  readonly logger: Logger;
  private readonly backend: Backend;
  private readonly maxPayloadBytes: number;
  private readonly defaults: JobOptions;
  private readonly hasDefaults: boolean;
  private readonly recorder: Recorder;
  private ready: Promise<void> | null = null;
  private closed = false;

  constructor(name: string, options: QueueOptions) {
    if (options === null || typeof options !== 'object' || options.backend === undefined) {
      throw runtimeError(
        'CONFIG_INVALID',
        'queue',
        'missing required option `backend`. Pass the store, e.g. `new Queue(name, { backend: createMemoryBackend() })`.',
      );
    }
    this.name = assertName('queue', 'queue name', name);
    this.backend = options.backend;
    this.logger = options.logger ?? silentLogger;
    const max = options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES;
    if (!(typeof max === 'number' && max > 0)) {
      throw runtimeError(
        'CONFIG_INVALID',
        'queue',
        `maxPayloadBytes must be a positive number of bytes, got ${String(max)}.`,
      );
    }
    this.maxPayloadBytes = max;
    this.defaults = options.defaultJobOptions ?? {};
    // Validate the defaults once, here, so a bad default fails at construction rather than at every enqueue.
    parseJobOptions('queue', this.defaults, 'defaultJobOptions');
    if (this.defaults.jobId !== undefined) {
      throw runtimeError(
        'CONFIG_INVALID',
        'queue',
        'defaultJobOptions.jobId makes no sense: every job needs its own id.',
      );
    }
    this.hasDefaults = Object.keys(this.defaults).length > 0;
    this.recorder = new Recorder(this.backend, this.logger);
  }

  /**
   * Enqueue one job. Options are validated: a bad one throws `ConveyorError('VALIDATION_FAILED')` naming it (zod
   * issues in `details`); a payload over `maxPayloadBytes` throws `PAYLOAD_TOO_LARGE`. A job with the id or live
   * `uniqueKey` of an existing job is not stored again: the existing job comes back with `deduplicated: true`.
   */
  async enqueue<Type extends keyof Jobs & string>(
    type: Type,
    payload: Jobs[Type],
    options?: JobOptions,
  ): Promise<EnqueueOutcome<Jobs[Type]>> {
    const input = this.prepare(type, payload, options);
    await this.open();
    const adapter = this.backend.queue;
    if (adapter.capabilities.inlineRecords === true) {
      // The adapter records the metric and publishes the event in the same step as the insert.
      return (await adapter.enqueue(input, INLINE_ENQUEUE)) as EnqueueOutcome<Jobs[Type]>;
    }
    const result = await adapter.enqueue(input);
    if (!result.deduplicated) this.recordEnqueued(result.job);
    return result as EnqueueOutcome<Jobs[Type]>;
  }

  /**
   * Enqueue many jobs atomically (all or none) in one store call; every item is validated first, and the first
   * bad item throws with its index in the message. Results are in input order. One `publish` carries all the
   * `job.enqueued` events.
   */
  async enqueueBulk(items: readonly BulkItem<Jobs>[]): Promise<EnqueueOutcome[]> {
    if (!Array.isArray(items)) {
      throw runtimeError('VALIDATION_FAILED', 'queue', 'enqueueBulk takes an array of { type, payload, options? }.');
    }
    const inputs = new Array<NewJob>(items.length);
    for (let i = 0; i < items.length; i++) {
      const item = items[i] as BulkItem<Jobs>;
      if (item === null || typeof item !== 'object') {
        throw runtimeError('VALIDATION_FAILED', 'queue', `items[${i}] must be an object { type, payload, options? }.`);
      }
      inputs[i] = this.prepare(item.type, item.payload, item.options, `items[${i}]`);
    }
    if (inputs.length === 0) return [];
    await this.open();
    const adapter = this.backend.queue;
    if (adapter.capabilities.inlineRecords === true) return adapter.enqueueMany(inputs, INLINE_ENQUEUE);
    const results = await adapter.enqueueMany(inputs);
    const events: ConveyorEvent[] = [];
    for (const result of results) {
      if (result.deduplicated) continue;
      const { job } = result;
      this.recorder.metrics.observe('enqueued', job.queue, job.type, job.createdAt);
      events.push(this.enqueuedEvent(job));
    }
    if (events.length > 0) {
      try {
        await this.backend.events.publish(events);
      } catch (error) {
        this.logger.error(
          '[conveyor] [queue] publishing job.enqueued events failed; workers will find the jobs by polling.',
          {
            queue: this.name,
            error: error instanceof Error ? error.message : String(error),
          },
        );
      }
    }
    return results;
  }

  /** Workers stop claiming from this queue; enqueues still work. Publishes `queue.paused`. */
  async pause(): Promise<void> {
    await this.open();
    await this.backend.queue.pause(this.name);
    await this.publishNow(makeEvent('queue.paused', Date.now(), this.name, undefined, undefined, {}));
  }

  /** Workers claim from this queue again. Publishes `queue.resumed` (which wakes workers). */
  async resume(): Promise<void> {
    await this.open();
    await this.backend.queue.resume(this.name);
    await this.publishNow(makeEvent('queue.resumed', Date.now(), this.name, undefined, undefined, {}));
  }

  async isPaused(): Promise<boolean> {
    await this.open();
    return this.backend.queue.isPaused(this.name);
  }

  /** A job by id (job ids are global across queues), or null. */
  async getJob<Type extends keyof Jobs & string = keyof Jobs & string>(id: string): Promise<Job<Jobs[Type]> | null> {
    await this.open();
    return (await this.backend.queue.getJob(id)) as Job<Jobs[Type]> | null;
  }

  /** Job counts of this queue by state (every state present). */
  async counts(): Promise<StateCounts> {
    await this.open();
    const all = await this.backend.queue.counts(this.name);
    const counts = all[this.name];
    if (counts !== undefined) return counts;
    const zero = {} as StateCounts;
    for (const state of JOB_STATES) zero[state] = 0;
    return zero;
  }

  /** A `failed` or `cancelled` job back to `waiting` with one more attempt. Publishes `job.enqueued`. */
  async retry(id: string): Promise<Job> {
    await this.open();
    const job = await this.backend.queue.retry(id);
    await this.publishNow(this.enqueuedEvent(job, 'retry'));
    return job;
  }

  /** Move up to `limit` failed jobs of this queue back to `waiting`. Returns how many moved. @default limit 1000 */
  async retryFailed(limit = 1000): Promise<number> {
    await this.open();
    const moved = await this.backend.queue.retryFailed(this.name, limit);
    if (moved > 0) {
      await this.publishNow(
        makeEvent('job.enqueued', Date.now(), this.name, undefined, undefined, {
          state: 'waiting',
          reason: 'retry',
          count: moved,
        }),
      );
    }
    return moved;
  }

  /** Make a `scheduled` or `retrying` job ready now. Publishes `job.enqueued`. */
  async promote(id: string): Promise<Job> {
    await this.open();
    const job = await this.backend.queue.promote(id);
    await this.publishNow(this.enqueuedEvent(job, 'promote'));
    return job;
  }

  /**
   * Cancel a waiting, scheduled, retrying or active job. An active job's lease is revoked: a worker listening on the
   * same event bus aborts its handler at once, any other at its next heartbeat; its late result is refused. For an
   * active job a `cancelled` execution record is written. Publishes `job.cancelled`.
   */
  async cancel(id: string): Promise<Job> {
    await this.open();
    const before = await this.backend.queue.getJob(id);
    const job = await this.backend.queue.cancel(id);
    const now = job.finishedAt ?? Date.now();
    if (before?.state === 'active') {
      const startedAt = before.startedAt ?? now;
      const error: JobError = {
        message: 'The job was cancelled while it was running.',
        code: 'CANCELLED',
        stack: null,
      };
      this.recorder.executions.push({
        id: nextId(now),
        jobId: job.id,
        queue: job.queue,
        type: job.type,
        attempt: job.attempt,
        status: 'cancelled',
        startedAt,
        finishedAt: now,
        durationMs: Math.max(0, now - startedAt),
        workerId: before.workerId,
        result: null,
        error,
      });
    }
    await this.publishNow(
      makeEvent('job.cancelled', now, job.queue, job.id, undefined, {
        type: job.type,
        previousState: before?.state ?? null,
      }),
    );
    return job;
  }

  /** Remove a job that is not active. Publishes `job.deleted`. */
  async remove(id: string): Promise<void> {
    await this.open();
    const before = await this.backend.queue.getJob(id);
    await this.backend.queue.remove(id);
    await this.publishNow(
      makeEvent('job.deleted', Date.now(), before?.queue ?? this.name, id, undefined, {
        type: before?.type ?? null,
        previousState: before?.state ?? null,
      }),
    );
  }

  /** Remove finished jobs of one state from this queue, oldest first. Returns how many. */
  async clean(state: FinishedState, options: { olderThanMs?: number; limit?: number } = {}): Promise<number> {
    await this.open();
    const removed = await this.backend.queue.clean({ queue: this.name, state, ...options });
    if (removed > 0) {
      await this.publishNow(
        makeEvent('job.deleted', Date.now(), this.name, undefined, undefined, {
          reason: 'clean',
          state,
          count: removed,
        }),
      );
    }
    return removed;
  }

  /**
   * Execute a job inline, in this process, now, and still record it: an execution record, metrics (`enqueued`,
   * `started`, then `completed` or `failed`) and events (`job.started`, then `job.completed` or `job.failed`). The job
   * does not pass through the store's queue (no worker sees it, `getJob` does not find it) and runs once: there are
   * no retries. Rejects with the handler's error after recording it.
   */
  async runNow<Type extends keyof Jobs & string, Result>(
    type: Type,
    payload: Jobs[Type],
    handler: JobHandler<Jobs[Type], Result>,
    options: RunNowOptions = {},
  ): Promise<RunNowOutcome<Jobs[Type], Result>> {
    if (typeof handler !== 'function') {
      throw runtimeError('VALIDATION_FAILED', 'queue', 'runNow needs a handler function as its third argument.');
    }
    const input = this.prepare(type, payload, options);
    await this.open();
    const now = await this.backend.queue.now();
    const job = buildJob(input, now, input.id ?? newJobId()) as Job<Jobs[Type], Result>;
    job.state = 'active';
    job.attempt = 1;
    job.maxAttempts = 1;
    job.startedAt = now;
    const ctx = new InlineContext(this.logger, (progress) => {
      job.progress = progress;
      this.recorder.events.push(
        makeEvent('job.progress', Date.now(), job.queue, job.id, undefined, { type: job.type, progress, inline: true }),
      );
    });
    this.recorder.metrics.observe('enqueued', job.queue, job.type, now);
    this.recorder.metrics.observe('started', job.queue, job.type, now, undefined, 0);
    this.recorder.events.push(
      makeEvent('job.started', now, job.queue, job.id, undefined, {
        type: job.type,
        attempt: 1,
        maxAttempts: 1,
        inline: true,
      }),
    );
    const startedLocal = Date.now();
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timeoutMs = job.timeoutMs;
    let outcome: { ok: true; result: Result } | { ok: false; error: unknown; timedOut: boolean };
    try {
      const running = Promise.resolve().then(() => handler(job, ctx));
      const result =
        timeoutMs === null
          ? await running
          : await Promise.race([
              running,
              new Promise<never>((_, reject) => {
                timer = setTimeout(() => {
                  const error = runtimeError(
                    'TIMEOUT',
                    'queue',
                    `runNow job ${job.id} (${job.type}) ran longer than its timeoutMs of ${timeoutMs} ms; its signal was aborted.`,
                  );
                  ctx.abort(error);
                  reject(error);
                }, timeoutMs);
              }),
            ]);
      outcome = { ok: true, result };
    } catch (error) {
      outcome = { ok: false, error, timedOut: ctx.aborted };
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
    const durationMs = Date.now() - startedLocal;
    const finishedAt = now + durationMs;
    job.finishedAt = finishedAt;
    job.leaseExpiresAt = null;
    const status = outcome.ok ? 'success' : outcome.timedOut ? 'timeout' : 'failed';
    const error = outcome.ok ? null : toJobError(outcome.error);
    if (outcome.ok) {
      job.state = 'completed';
      job.result = outcome.result === undefined ? null : outcome.result;
    } else {
      job.state = 'failed';
      job.lastError = error;
    }
    this.recorder.executions.push({
      id: nextId(finishedAt),
      jobId: job.id,
      queue: job.queue,
      type: job.type,
      attempt: 1,
      status,
      startedAt: now,
      finishedAt,
      durationMs,
      workerId: null,
      result: job.result,
      error,
    });
    this.recorder.metrics.observe(outcome.ok ? 'completed' : 'failed', job.queue, job.type, finishedAt, durationMs);
    if (status === 'timeout') this.recorder.metrics.observe('timeout', job.queue, job.type, finishedAt);
    this.recorder.events.push(
      makeEvent(outcome.ok ? 'job.completed' : 'job.failed', finishedAt, job.queue, job.id, undefined, {
        type: job.type,
        attempt: 1,
        status,
        durationMs,
        inline: true,
        ...(error === null ? {} : { error: { message: error.message, code: error.code } }),
      }),
    );
    await this.recorder.flush();
    if (!outcome.ok) throw outcome.error;
    return { job, result: outcome.result, durationMs };
  }

  /** Flush buffered events and metrics. The backend stays open (it may be shared); close it yourself. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.recorder.close();
  }

  // -------------------------------------------------------------------------------------------------------------

  private open(): Promise<void> {
    if (this.closed) {
      return Promise.reject(
        runtimeError('INVALID_STATE', 'queue', `queue "${this.name}" is closed; create a new Queue.`),
      );
    }
    if (this.ready === null) {
      this.ready = ensureBackendReady(this.backend).catch((error: unknown) => {
        this.ready = null;
        throw error;
      });
    }
    return this.ready;
  }

  /** Validate one enqueue and build the adapter's input. */
  private prepare(type: unknown, payload: unknown, options: JobOptions | undefined, root = ''): NewJob {
    const prefix = root === '' ? '' : `${root}.`;
    let jobType: string;
    if (typeof type === 'string' && type.length > 0 && type.length <= 255) jobType = type;
    else jobType = assertName('queue', 'job type', type);
    const json = this.checkPayload(payload, root);
    let merged: unknown = options;
    if (this.hasDefaults) merged = options === undefined ? this.defaults : { ...this.defaults, ...options };
    const job: NewJob =
      merged === undefined
        ? { queue: this.name, type: jobType, payload }
        : toNewJob(this.name, jobType, payload, parseJobOptions('queue', merged, `${prefix}options`));
    // The adapter stores the payload as this same text (`payloadJson`) instead of serialising it again.
    // Short texts are cheaper to make again than to carry.
    if (json !== undefined && json.length >= REMEMBER_JSON_FROM) rememberPayloadJson(job, json);
    return job;
  }

  /** Validate a payload (JSON-safe, within `maxPayloadBytes`) and return its JSON text (undefined for `undefined`). */
  private checkPayload(payload: unknown, root: string): string | undefined {
    // The path is only needed for an error message: build it then, not once per job of a bulk enqueue.
    const where = () => (root === '' ? 'payload' : `${root}.payload`);
    let json: string | undefined;
    try {
      json = JSON.stringify(payload);
    } catch (error) {
      throw runtimeError(
        'VALIDATION_FAILED',
        'queue',
        `${where()} cannot be stored as JSON (${error instanceof Error ? error.message : String(error)}). Pass plain data: no cycles, BigInt or class instances.`,
        { cause: error },
      );
    }
    if (json === undefined) {
      if (payload === undefined) return undefined; // stored as null
      throw runtimeError(
        'VALIDATION_FAILED',
        'queue',
        `${where()} cannot be stored as JSON (it is a ${typeof payload}). Pass plain data.`,
      );
    }
    // UTF-8 needs at most 3 bytes per UTF-16 unit: skip the exact count when even the worst case fits.
    if (json.length * 3 <= this.maxPayloadBytes) return json;
    const bytes = Buffer.byteLength(json, 'utf8');
    if (bytes > this.maxPayloadBytes) {
      throw runtimeError(
        'PAYLOAD_TOO_LARGE',
        'queue',
        `${where()} is ${bytes} bytes as JSON, over this queue's maxPayloadBytes of ${this.maxPayloadBytes}. Store large data elsewhere (object storage, a table) and enqueue a reference, or raise maxPayloadBytes.`,
        { details: { bytes, maxPayloadBytes: this.maxPayloadBytes } },
      );
    }
    return json;
  }

  private recordEnqueued(job: Job): void {
    this.recorder.metrics.observe('enqueued', job.queue, job.type, job.createdAt);
    this.recorder.events.push(this.enqueuedEvent(job));
  }

  private enqueuedEvent(job: Job, reason?: 'retry' | 'promote'): ConveyorEvent {
    const data: Record<string, unknown> = {
      type: job.type,
      state: job.state,
      priority: job.priority,
      runAt: new Date(job.runAt).toISOString(),
    };
    if (reason !== undefined) data['reason'] = reason;
    return makeEvent(
      'job.enqueued',
      reason === undefined ? job.createdAt : Date.now(),
      job.queue,
      job.id,
      undefined,
      data,
    );
  }

  /** Publish one event now (operator actions are rare; the caller awaits the outcome). Failures are logged. */
  private async publishNow(event: ConveyorEvent): Promise<void> {
    try {
      await this.backend.events.publish([event]);
    } catch (error) {
      this.logger.error(`[conveyor] [queue] publishing ${event.type} failed; the action itself succeeded.`, {
        queue: this.name,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}

/** The context of an inline run: no lease, progress is kept on the job and published. */
class InlineContext extends LazyAbort implements JobContext {
  readonly attempt = 1;
  readonly workerId = null;
  constructor(
    readonly logger: Logger,
    private readonly onProgress: (progress: unknown) => void,
  ) {
    super();
  }

  /** An own property, so handlers may destructure it. */
  readonly updateProgress = async (progress: unknown): Promise<void> => {
    this.onProgress(progress);
  };
}
