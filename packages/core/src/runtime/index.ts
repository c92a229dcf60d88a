/**
 * The runtime: {@link Queue} (producer), {@link Worker} (consumer), {@link Scheduler} (cron), and the zod schemas
 * of enqueue options that the dashboard reuses.
 */
export type { BackoffStrategy } from './backoff';
export { computeBackoff, DEFAULT_BACKOFF } from './backoff';
export type { HandlerMap, JobContext, JobHandler, JobMap } from './context';
export type { FlusherOptions } from './flusher';
export { Flusher } from './flusher';
export type { JobOptions, JobOptionsInput } from './options';
export {
  backoffOptionsSchema,
  enqueueRequestSchema,
  jobOptionsSchema,
  jobTypeSchema,
  parseJobOptions,
  queueNameSchema,
  retentionOptionSchema,
} from './options';
export type { BulkItem, EnqueueOutcome, QueueOptions, RunNowOptions, RunNowOutcome } from './queue';
export { Queue } from './queue';
export type { ScheduleOptions, SchedulerOptions } from './scheduler';
export { Scheduler } from './scheduler';
export type { CloseOptions, WorkerEvents } from './worker';
export { Worker } from './worker';
export type { WorkerOptions } from './worker-options';
