import { notFound } from '../contracts/errors';
import type { NewJob } from '../contracts/job';
import type { ScheduleDefinition } from '../contracts/queue-adapter';
import { validateNewJob } from './job-record';
import { COMPONENT, validationError } from './options';

function copyNewJob(job: NewJob): NewJob {
  const copy: NewJob = { ...job };
  if (job.backoff) copy.backoff = { ...job.backoff };
  if (job.meta) copy.meta = { ...job.meta };
  return copy;
}

function copySchedule(s: ScheduleDefinition): ScheduleDefinition {
  return { ...s, job: copyNewJob(s.job) };
}

/** The recurring job definitions of the memory queue, by name. Hands out copies only. */
export class ScheduleStore {
  private readonly schedules = new Map<string, ScheduleDefinition>();

  /** Create or replace by name, keeping `lastFiredAt` of the one replaced. */
  upsert(schedule: Omit<ScheduleDefinition, 'lastFiredAt'>): ScheduleDefinition {
    if (typeof schedule.name !== 'string' || schedule.name.length === 0) {
      throw validationError('a schedule needs a non-empty name.');
    }
    if (typeof schedule.cron !== 'string' || schedule.cron.trim().length === 0) {
      throw validationError(`schedule ${schedule.name} needs a cron expression.`);
    }
    validateNewJob(schedule.job);
    const previous = this.schedules.get(schedule.name);
    const stored: ScheduleDefinition = {
      name: schedule.name,
      cron: schedule.cron,
      timezone: schedule.timezone ?? 'UTC',
      job: copyNewJob(schedule.job),
      lastFiredAt: previous?.lastFiredAt ?? null,
      nextRunAt: schedule.nextRunAt ?? null,
      paused: schedule.paused ?? false,
    };
    this.schedules.set(stored.name, stored);
    return copySchedule(stored);
  }

  /** Every schedule, by name. */
  list(): ScheduleDefinition[] {
    return [...this.schedules.values()]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map(copySchedule);
  }

  remove(name: string): boolean {
    return this.schedules.delete(name);
  }

  /**
   * Record that the tick `fireAt` fired, unless it (or a later one) already did. Returns whether the caller won the
   * tick and must enqueue its job. Throws `NOT_FOUND` for an unknown schedule.
   */
  claimTick(name: string, fireAt: number, nextRunAt: number | null): boolean {
    const schedule = this.schedules.get(name);
    if (schedule === undefined) throw notFound(COMPONENT, `schedule ${name}`);
    if (schedule.lastFiredAt !== null && schedule.lastFiredAt >= fireAt) return false;
    schedule.lastFiredAt = fireAt;
    schedule.nextRunAt = nextRunAt;
    return true;
  }

  clear(): void {
    this.schedules.clear();
  }
}
