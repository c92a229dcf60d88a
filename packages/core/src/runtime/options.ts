import { z } from 'zod';
import type { BackoffOptions, NewJob, RetentionOption } from '../contracts/job';
import { runtimeError } from './errors';

/**
 * The zod schemas for enqueue options. They are JSON-shaped on purpose (no `Date`, no transforms), so the dashboard's
 * `POST /api/jobs` can validate request bodies with them and generate its OpenAPI document from them. The `Queue`
 * accepts a `Date` for `runAt` as well and converts it to epoch milliseconds before validating.
 */

const MAX_DELAY_MS = 10 * 365 * 86_400_000;
const RUN_AT_MESSAGE = 'must be a Date, epoch milliseconds, or an ISO-8601 date-time string';

/** `backoff` option: how long to wait before the next attempt. */
export const backoffOptionsSchema = z.strictObject({
  type: z.enum(['fixed', 'exponential', 'custom'], {
    error: 'must be "fixed", "exponential" or "custom"',
  }),
  delayMs: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be 0 or more')
    .max(MAX_DELAY_MS, 'must be at most ten years'),
  maxDelayMs: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be 0 or more')
    .optional(),
  jitter: z
    .number({ error: 'must be a fraction between 0 and 1' })
    .min(0, 'must be between 0 and 1')
    .max(1, 'must be between 0 and 1')
    .optional(),
});

/** `removeOnComplete` / `removeOnFail`: `true` removes at once, a number keeps that many, or `{count, ageMs}`. */
export const retentionOptionSchema = z.union(
  [
    z.boolean(),
    z.number().int().min(0),
    z.strictObject({
      count: z.number().int().min(0).optional(),
      ageMs: z.number().int().min(0).optional(),
    }),
  ],
  { error: 'must be true, false, a count of jobs to keep, or { count?, ageMs? }' },
);

/**
 * Options of one enqueue, as JSON. Unknown keys are refused (a typo such as `delay` for `delayMs` would otherwise be
 * silently ignored).
 */
export const jobOptionsSchema = z.strictObject({
  /** Higher runs first among ready jobs of a queue. @default 0 */
  priority: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(-1_000_000, 'must be between -1000000 and 1000000')
    .max(1_000_000, 'must be between -1000000 and 1000000')
    .optional(),
  /** Run no earlier than now + delayMs. */
  delayMs: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(0, 'must be 0 or more')
    .max(MAX_DELAY_MS, 'must be at most ten years')
    .optional(),
  /** Run no earlier than this time: epoch milliseconds or an ISO-8601 string (the Queue also takes a Date). */
  runAt: z
    .union(
      [z.number().int(RUN_AT_MESSAGE).min(0, RUN_AT_MESSAGE), z.iso.datetime({ offset: true, error: RUN_AT_MESSAGE })],
      { error: RUN_AT_MESSAGE },
    )
    .optional(),
  /** Total attempts including the first. @default 3 */
  maxAttempts: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1 (it counts the first attempt)')
    .max(10_000, 'must be at most 10000')
    .optional(),
  /** How long to wait between attempts. @default exponential from 1 s with 20 % jitter */
  backoff: backoffOptionsSchema.nullable().optional(),
  /** An attempt running longer than this ends `timeout` and its AbortSignal fires. */
  timeoutMs: z
    .number({ error: 'must be a number of milliseconds' })
    .int('must be a whole number of milliseconds')
    .min(1, 'must be at least 1')
    .nullable()
    .optional(),
  /** While a job with this key is pending or active, another enqueue with it is deduplicated. */
  uniqueKey: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(512, 'must be at most 512 characters')
    .nullable()
    .optional(),
  /** Caller-chosen id; an enqueue with the id of an existing job is deduplicated. */
  jobId: z
    .string({ error: 'must be a string' })
    .min(1, 'must not be empty')
    .max(255, 'must be at most 255 characters')
    .optional(),
  /** Retention of completed jobs. @default false (keep) */
  removeOnComplete: retentionOptionSchema.optional(),
  /** Retention of failed jobs. @default false (keep) */
  removeOnFail: retentionOptionSchema.optional(),
  /** Free-form metadata shown in the dashboard. */
  meta: z.record(z.string(), z.unknown(), { error: 'must be an object' }).nullable().optional(),
});

/** Options of one enqueue, as the schema parses them (JSON form). */
export type JobOptionsInput = z.input<typeof jobOptionsSchema>;

/** Options of one enqueue as the `Queue` takes them: the JSON form, plus a `Date` for `runAt`. */
export interface JobOptions extends Omit<JobOptionsInput, 'runAt' | 'backoff' | 'removeOnComplete' | 'removeOnFail'> {
  /** Run no earlier than this time. Takes precedence over `delayMs`. */
  runAt?: Date | number | string;
  /** How long to wait between attempts. */
  backoff?: BackoffOptions | null;
  /** Retention of completed jobs. @default false (keep) */
  removeOnComplete?: RetentionOption;
  /** Retention of failed jobs. @default false (keep) */
  removeOnFail?: RetentionOption;
}

/** A queue name: what `Queue`, `Worker` and the dashboard accept. */
export const queueNameSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters');

/** A job type: the key of the handler that runs it. */
export const jobTypeSchema = z
  .string({ error: 'must be a string' })
  .min(1, 'must not be empty')
  .max(255, 'must be at most 255 characters');

/** `{queue, type, payload, options?}`: the body of the dashboard's `POST /api/jobs`. */
export const enqueueRequestSchema = z.strictObject({
  queue: queueNameSchema,
  type: jobTypeSchema,
  payload: z.unknown(),
  options: jobOptionsSchema.optional(),
});

/** Render zod issues as `options.priority: must be a whole number; …`. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], root: string): string {
  return issues
    .map((issue) => {
      const path = [root, ...issue.path.map(String)].filter((p) => p !== '').join('.');
      return `${path === '' ? 'value' : path}: ${issue.message}`;
    })
    .join('; ');
}

function validationFailed(component: string, what: string, issues: readonly z.core.$ZodIssue[], root: string) {
  return runtimeError(
    'VALIDATION_FAILED',
    component,
    `invalid ${what}: ${describeIssues(issues, root)}. Fix the listed field(s); \`details\` holds every issue.`,
    { details: issues },
  );
}

/** Validate a name (queue or type); throws `VALIDATION_FAILED`. */
export function assertName(component: string, what: 'queue name' | 'job type', value: unknown): string {
  const result = (what === 'queue name' ? queueNameSchema : jobTypeSchema).safeParse(value);
  if (!result.success)
    throw validationFailed(component, what, result.error.issues, what === 'queue name' ? 'queue' : 'type');
  return result.data;
}

/**
 * Validate enqueue options and return them in their parsed, JSON form (a `Date` runAt becomes epoch ms). Throws
 * `ConveyorError('VALIDATION_FAILED')` with a sentence per bad option and the zod issues in `details`.
 */
export function parseJobOptions(
  component: string,
  options: unknown,
  root = 'options',
): z.output<typeof jobOptionsSchema> {
  let input = options;
  if (input !== null && typeof input === 'object' && (input as { runAt?: unknown }).runAt instanceof Date) {
    const date = (input as { runAt: Date }).runAt;
    input = { ...(input as object), runAt: Number.isNaN(date.getTime()) ? 'Invalid Date' : date.getTime() };
  }
  const result = jobOptionsSchema.safeParse(input);
  if (!result.success) throw validationFailed(component, 'job options', result.error.issues, root);
  return result.data;
}

/** Build the adapter's `NewJob` from validated options. */
export function toNewJob(
  queue: string,
  type: string,
  payload: unknown,
  options: z.output<typeof jobOptionsSchema>,
): NewJob {
  const job: NewJob = { queue, type, payload };
  if (options.jobId !== undefined) job.id = options.jobId;
  if (options.priority !== undefined) job.priority = options.priority;
  if (options.delayMs !== undefined) job.delayMs = options.delayMs;
  if (options.runAt !== undefined) {
    job.runAt = typeof options.runAt === 'number' ? options.runAt : Date.parse(options.runAt);
  }
  if (options.maxAttempts !== undefined) job.maxAttempts = options.maxAttempts;
  if (options.backoff !== undefined) job.backoff = options.backoff;
  if (options.timeoutMs !== undefined) job.timeoutMs = options.timeoutMs;
  if (options.uniqueKey !== undefined) job.uniqueKey = options.uniqueKey;
  if (options.removeOnComplete !== undefined) job.removeOnComplete = options.removeOnComplete;
  if (options.removeOnFail !== undefined) job.removeOnFail = options.removeOnFail;
  if (options.meta !== undefined) job.meta = options.meta;
  return job;
}
