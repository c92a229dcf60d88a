import type { NewJob, ScheduleDefinition } from '@conveyor/core';
import { validationError } from './options';
import { validateNewJob } from './rows';

/** A schedule row as `pg` returns it. */
export interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  job: NewJob;
  last_fired_at: number | null;
  next_run_at: number | null;
  paused: boolean;
}

const COLUMNS = 'name, cron, timezone, job, last_fired_at, next_run_at, paused';

export const scheduleSql = {
  /** Create or replace by name; `last_fired_at` survives a replace. */
  upsert: (S: string) => `INSERT INTO ${S}.schedules (name, cron, timezone, job, next_run_at, paused)
VALUES ($1, $2, $3, $4::jsonb, $5, $6)
ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, job = excluded.job,
  next_run_at = excluded.next_run_at, paused = excluded.paused
RETURNING ${COLUMNS}`,
  list: (S: string) => `SELECT ${COLUMNS} FROM ${S}.schedules ORDER BY name`,
};

export function toSchedule(r: ScheduleRow): ScheduleDefinition {
  return {
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    job: r.job,
    lastFiredAt: r.last_fired_at,
    nextRunAt: r.next_run_at,
    paused: r.paused,
  };
}

export function validateSchedule(schedule: Omit<ScheduleDefinition, 'lastFiredAt'>): void {
  if (typeof schedule !== 'object' || schedule === null) throw validationError('a schedule must be an object.');
  if (typeof schedule.name !== 'string' || schedule.name.length === 0) {
    throw validationError('a schedule needs a non-empty name.');
  }
  if (typeof schedule.cron !== 'string' || schedule.cron.trim().length === 0) {
    throw validationError(`schedule ${schedule.name} needs a cron expression.`);
  }
  validateNewJob(schedule.job);
}
