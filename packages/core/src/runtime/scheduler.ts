import { Cron } from 'croner';
import type { Backend } from '../contracts/backend';
import type { NewJob } from '../contracts/job';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';
import type { ScheduleDefinition } from '../contracts/queue-adapter';
import { ensureBackendReady } from './backend-init';
import type { JobMap } from './context';
import { runtimeError } from './errors';
import { makeEvent } from './events';
import { assertName, type JobOptions, parseJobOptions, toNewJob } from './options';
import { Recorder } from './recorder';

/** Options of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** The store that keeps the schedule definitions (shared by every scheduler instance using it). */
  backend: Backend;
  /** Where the scheduler logs. @default silentLogger */
  logger?: Logger;
  /**
   * Longest sleep between two looks at the schedules. The scheduler also wakes right at the earliest due tick it
   * knows of, so this bounds how late a schedule added by another instance is noticed. @default 1000
   */
  tickMs?: number;
}

/** What {@link Scheduler.schedule} takes besides the name and the cron expression. */
export interface ScheduleOptions<Jobs extends JobMap = JobMap, Type extends keyof Jobs & string = keyof Jobs & string> {
  /** Queue the job goes to. */
  queue: string;
  /** Job type. */
  type: Type;
  /** Payload of every job the schedule enqueues. @default null */
  payload?: Jobs[Type];
  /** Job options; timing and identity (`runAt`, `delayMs`, `jobId`) are decided by the schedule. */
  options?: Omit<JobOptions, 'runAt' | 'delayMs' | 'jobId'>;
  /** IANA time zone the cron expression is read in. @default 'UTC' */
  timezone?: string;
  /** Keep the definition but do not fire. @default false */
  paused?: boolean;
}

const MIN_SLEEP_MS = 10;

/**
 * Recurring jobs from cron expressions (five fields, or six with seconds first), read in an IANA time zone.
 *
 * Definitions live in the store (`upsertSchedule`), so every instance sees the same set. Each tick an instance
 * finds the schedules whose `nextRunAt` has passed and calls `fireSchedule(name, fireAt, next, job)`, which
 * enqueues only if no instance fired that tick yet: across N instances exactly one job is enqueued per tick.
 *
 * Catch-up: ticks missed while every scheduler was down fire **once**, for the earliest missed tick, as soon as an
 * instance runs again; the schedule then continues from the next tick in the future. A schedule re-declared with
 * the same cron and time zone keeps its pending tick, so a restart does not skip it.
 *
 * @example
 * const scheduler = new Scheduler({ backend });
 * await scheduler.schedule('nightly-report', '0 3 * * *', { queue: 'reports', type: 'nightly', timezone: 'Europe/Paris' });
 * await scheduler.start();
 */
export class Scheduler<Jobs extends JobMap = JobMap> {
  readonly logger: Logger;
  private readonly backend: Backend;
  private readonly tickMs: number;
  private readonly recorder: Recorder;
  private readonly crons = new Map<string, Cron>();
  private readonly reportedBad = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private ticking: Promise<number> | null = null;
  private running = false;
  private closed = false;

  constructor(options: SchedulerOptions) {
    if (options === null || typeof options !== 'object' || options.backend === undefined) {
      throw runtimeError(
        'CONFIG_INVALID',
        'scheduler',
        'missing required option `backend`. Pass the store, e.g. `new Scheduler({ backend })`.',
      );
    }
    const tickMs = options.tickMs ?? 1000;
    if (!(Number.isInteger(tickMs) && tickMs >= MIN_SLEEP_MS)) {
      throw runtimeError(
        'CONFIG_INVALID',
        'scheduler',
        `tickMs must be a whole number of at least ${MIN_SLEEP_MS} ms.`,
      );
    }
    this.backend = options.backend;
    this.logger = options.logger ?? silentLogger;
    this.tickMs = tickMs;
    this.recorder = new Recorder(this.backend, this.logger);
  }

  /**
   * Create or replace a schedule. The cron expression, time zone and job options are validated here: a bad one
   * throws `VALIDATION_FAILED` saying what to fix.
   */
  async schedule<Type extends keyof Jobs & string>(
    name: string,
    cron: string,
    options: ScheduleOptions<Jobs, Type>,
  ): Promise<ScheduleDefinition> {
    if (typeof name !== 'string' || name.length === 0 || name.length > 255) {
      throw runtimeError(
        'VALIDATION_FAILED',
        'scheduler',
        'the schedule name must be a non-empty string of at most 255 characters.',
      );
    }
    if (options === null || typeof options !== 'object') {
      throw runtimeError(
        'VALIDATION_FAILED',
        'scheduler',
        `schedule "${name}" needs options { queue, type, payload?, options?, timezone? }.`,
      );
    }
    const timezone = options.timezone ?? 'UTC';
    const parsedCron = this.compile(cron, timezone);
    const queue = assertName('scheduler', 'queue name', options.queue);
    const type = assertName('scheduler', 'job type', options.type);
    const jobOptions = (options.options ?? {}) as JobOptions;
    for (const key of ['runAt', 'delayMs', 'jobId'] as const) {
      if (jobOptions[key] !== undefined) {
        throw runtimeError(
          'VALIDATION_FAILED',
          'scheduler',
          `schedule "${name}": options.${key} cannot be set, the schedule decides when each job runs and gives it a fresh id. Remove it.`,
        );
      }
    }
    const job = toNewJob(queue, type, options.payload ?? null, parseJobOptions('scheduler', jobOptions));
    try {
      JSON.stringify(job.payload);
    } catch (error) {
      throw runtimeError(
        'VALIDATION_FAILED',
        'scheduler',
        `schedule "${name}": the payload cannot be stored as JSON. Pass plain data.`,
        {
          cause: error,
        },
      );
    }
    await ensureBackendReady(this.backend);
    const now = await this.backend.queue.now();
    const existing = (await this.backend.queue.listSchedules()).find((s) => s.name === name);
    // Keep the pending tick of an unchanged schedule (a restart re-declares it), else start from the next tick.
    const keepNext =
      existing !== undefined && existing.cron === cron && existing.timezone === timezone && existing.nextRunAt !== null;
    const nextRunAt = keepNext ? (existing?.nextRunAt ?? null) : nextAfter(parsedCron, now);
    const saved = await this.backend.queue.upsertSchedule({
      name,
      cron,
      timezone,
      job,
      nextRunAt,
      paused: options.paused ?? false,
    });
    this.logger.info(`[conveyor] [scheduler] schedule "${name}" (${cron}, ${timezone}) saved.`, {
      schedule: name,
      nextRunAt,
    });
    if (this.running) this.arm(0);
    return saved;
  }

  /** Remove a schedule by name. Returns false when there was none. */
  async unschedule(name: string): Promise<boolean> {
    await ensureBackendReady(this.backend);
    return this.backend.queue.removeSchedule(name);
  }

  /** Every schedule in the store. */
  async list(): Promise<ScheduleDefinition[]> {
    await ensureBackendReady(this.backend);
    return this.backend.queue.listSchedules();
  }

  /** Start ticking. Idempotent. */
  async start(): Promise<void> {
    if (this.closed) {
      throw runtimeError(
        'INVALID_STATE',
        'scheduler',
        'this scheduler is closed; create a new Scheduler to run again.',
      );
    }
    if (this.running) return;
    await ensureBackendReady(this.backend);
    this.running = true;
    this.arm(0);
  }

  /** Stop ticking, wait for a tick in flight, flush events and metrics. Leaves no timer behind. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (this.ticking !== null) await this.ticking.catch(() => 0);
    await this.recorder.close();
  }

  /**
   * Look at every schedule once and fire those that are due. Returns how many jobs this instance enqueued (a tick
   * another instance fired first counts 0 here). `start()` calls it on a timer; tests may call it directly.
   */
  tick(): Promise<number> {
    if (this.ticking === null) {
      this.ticking = this.runTick().finally(() => {
        this.ticking = null;
      });
    }
    return this.ticking;
  }

  private async runTick(): Promise<number> {
    const now = await this.backend.queue.now();
    const schedules = await this.backend.queue.listSchedules();
    let fired = 0;
    let earliest = Number.POSITIVE_INFINITY;
    for (const schedule of schedules) {
      if (schedule.paused) continue;
      let cron: Cron;
      try {
        cron = this.cronFor(schedule.cron, schedule.timezone);
      } catch (error) {
        if (!this.reportedBad.has(schedule.name)) {
          this.reportedBad.add(schedule.name);
          this.logger.error(
            `[conveyor] [scheduler] schedule "${schedule.name}" has an invalid cron or time zone and is skipped; save it again with schedule().`,
            { schedule: schedule.name, error: error instanceof Error ? error.message : String(error) },
          );
        }
        continue;
      }
      let due = schedule.nextRunAt;
      if (due === null || (schedule.lastFiredAt !== null && due <= schedule.lastFiredAt)) {
        due = nextAfter(cron, schedule.lastFiredAt ?? now);
      }
      if (due !== null && due <= now) {
        const next = nextAfter(cron, now);
        const job: NewJob = {
          ...schedule.job,
          meta: { ...(schedule.job.meta ?? {}), schedule: schedule.name, scheduledFor: new Date(due).toISOString() },
        };
        delete job.id;
        delete job.runAt;
        delete job.delayMs;
        const result = await this.backend.queue.fireSchedule(schedule.name, due, next, job);
        if (result !== null && !result.deduplicated) {
          fired++;
          const stored = result.job;
          this.recorder.metrics.observe('enqueued', stored.queue, stored.type, stored.createdAt);
          this.recorder.events.push(
            makeEvent('job.enqueued', stored.createdAt, stored.queue, stored.id, undefined, {
              type: stored.type,
              state: stored.state,
              priority: stored.priority,
              runAt: new Date(stored.runAt).toISOString(),
              schedule: schedule.name,
            }),
          );
          this.logger.debug(`[conveyor] [scheduler] fired "${schedule.name}" for ${new Date(due).toISOString()}.`, {
            schedule: schedule.name,
            jobId: stored.id,
          });
        } else if (result?.deduplicated) {
          this.logger.debug(
            `[conveyor] [scheduler] "${schedule.name}" fired but its job was deduplicated (a job with its uniqueKey is still pending).`,
            { schedule: schedule.name },
          );
        }
        due = next;
      }
      if (due !== null && due < earliest) earliest = due;
    }
    return this.finishTick(fired, earliest, now);
  }

  private finishTick(fired: number, earliest: number, now: number): number {
    if (this.running) {
      const untilDue = Number.isFinite(earliest) ? earliest - now : this.tickMs;
      this.arm(Math.min(this.tickMs, Math.max(MIN_SLEEP_MS, untilDue)));
    }
    return fired;
  }

  private arm(delayMs: number): void {
    if (!this.running) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.running) return;
      this.tick().catch((error: unknown) => {
        this.logger.error('[conveyor] [scheduler] a tick failed; will retry.', {
          error: error instanceof Error ? error.message : String(error),
        });
        this.arm(this.tickMs);
      });
    }, delayMs);
  }

  /** Validate a cron expression and time zone; throws VALIDATION_FAILED with what to fix. */
  private compile(cron: string, timezone: string): Cron {
    if (typeof timezone !== 'string' || !isTimeZone(timezone)) {
      throw runtimeError(
        'VALIDATION_FAILED',
        'scheduler',
        `time zone "${String(timezone)}" is not a known IANA time zone. Use a name such as "UTC", "Europe/Paris" or "America/New_York".`,
      );
    }
    if (typeof cron !== 'string' || cron.trim() === '') {
      throw runtimeError(
        'VALIDATION_FAILED',
        'scheduler',
        'the cron expression must be a non-empty string, e.g. "*/5 * * * *".',
      );
    }
    let parsed: Cron;
    try {
      parsed = this.cronFor(cron, timezone);
    } catch (error) {
      throw runtimeError(
        'VALIDATION_FAILED',
        'scheduler',
        `cron expression "${cron}" is not valid (${error instanceof Error ? error.message : String(error)}). Use five fields "minute hour day month weekday", or six with seconds first, e.g. "0 */15 * * * *".`,
        { cause: error },
      );
    }
    if (parsed.nextRun() === null) {
      throw runtimeError(
        'VALIDATION_FAILED',
        'scheduler',
        `cron expression "${cron}" never fires (e.g. the 31st of February). Fix the date fields.`,
      );
    }
    return parsed;
  }

  private cronFor(cron: string, timezone: string): Cron {
    const key = `${timezone}\u0000${cron}`;
    let parsed = this.crons.get(key);
    if (parsed === undefined) {
      // No callback: croner only computes times, it starts no timer of its own.
      parsed = new Cron(cron, { timezone });
      this.crons.set(key, parsed);
    }
    return parsed;
  }
}

/** The first tick strictly after `after` (ms), or null when the expression never fires again. */
function nextAfter(cron: Cron, after: number): number | null {
  const next = cron.nextRun(new Date(after));
  return next === null ? null : next.getTime();
}

function isTimeZone(timezone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}
