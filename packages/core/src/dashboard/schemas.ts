import { z } from 'zod';
import { EVENT_TYPES } from '../contracts/events';
import { EXECUTION_STATUSES, FINISHED_STATES, JOB_STATES } from '../contracts/job';

/**
 * The zod schemas of the dashboard API: every query, path parameter and body is parsed by one of these, and the
 * OpenAPI document is generated from the same objects (and from the response schemas below, which the tests check
 * real answers against).
 */

// ---------------------------------------------------------------------------------------------- inputs

export const PERIODS = ['1h', '6h', '24h', '7d', '30d'] as const;
export type Period = (typeof PERIODS)[number];

const name = (what: string) => z.string().min(1).max(255).describe(what);

export const limitSchema = z.coerce.number().int().min(1).max(100).default(20).describe('Page size, 1–100.');
export const cursorSchema = z.string().min(1).max(2048).describe('The `meta.nextCursor` of the previous page.');

/** A time as ISO-8601 or epoch milliseconds, parsed to epoch milliseconds. */
export const timeParamSchema = z
  .union([z.iso.datetime({ offset: true }), z.string().regex(/^\d{1,15}$/)])
  .transform((value) => (/^\d+$/.test(value) ? Number(value) : Date.parse(value)))
  .describe('ISO-8601 date-time or epoch milliseconds.');

export const periodSchema = z.enum(PERIODS).default('24h').describe('Time window ending now.');

export const jobIdParams = z.object({ id: z.string().min(1).max(512).describe('Job id.') });
export const queueParams = z.object({ queue: name('Queue name.') });

export const listJobsQuery = z.object({
  queue: name('Only jobs of this queue.').optional(),
  state: z.enum(JOB_STATES).optional().describe('Only jobs in this state.'),
  type: name('Only jobs of this type.').optional(),
  q: z
    .string()
    .min(1)
    .max(200)
    .optional()
    .describe('Search id, type and payload text; 400 SEARCH_UNSUPPORTED when the backend cannot do it cheaply.'),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export const statsQuery = z.object({
  period: periodSchema,
  queue: name('Only this queue.').optional(),
});

export const metricsQuery = z.object({
  period: periodSchema,
  queue: name('Only this queue.').optional(),
  type: name('Only this job type.').optional(),
});

export const logsQuery = z.object({
  status: z.enum(EXECUTION_STATUSES).optional().describe('Only executions with this status.'),
  from: timeParamSchema.optional().describe('Executions started at or after this time.'),
  to: timeParamSchema.optional().describe('Executions started before this time.'),
  limit: limitSchema,
  cursor: cursorSchema.optional(),
});

export const recentLogsQuery = z.object({
  queue: name('Only this queue.').optional(),
  type: name('Only this job type.').optional(),
  status: z.enum(EXECUTION_STATUSES).optional().describe('Only executions with this status.'),
  limit: limitSchema,
});

const eventTypeList = z
  .string()
  .max(1000)
  .transform((value, ctx) => {
    const types = value
      .split(',')
      .map((t) => t.trim())
      .filter((t) => t !== '');
    const known = new Set<string>(EVENT_TYPES);
    for (const t of types) {
      if (!known.has(t)) {
        ctx.addIssue({
          code: 'custom',
          message: `unknown event type "${t.slice(0, 50)}"; use ${EVENT_TYPES.join(', ')}`,
        });
        return z.NEVER;
      }
    }
    return types as (typeof EVENT_TYPES)[number][];
  })
  .describe(`Comma-separated event types to receive (${EVENT_TYPES.join(', ')}); all when absent.`);

export const eventsQuery = z.object({
  types: eventTypeList.optional(),
  queue: name('Only events about this queue.').optional(),
});

export const retryFailedBody = z
  .strictObject({
    limit: z.number().int().min(1).max(1000).default(1000).describe('Move at most this many failed jobs.'),
  })
  .default({ limit: 1000 });

export const cleanBody = z.strictObject({
  state: z.enum(FINISHED_STATES).describe('Which finished jobs to remove.'),
  olderThanMs: z.number().int().min(0).default(0).describe('Only jobs finished at least this long ago.'),
  limit: z.number().int().min(1).max(10_000).default(1000).describe('Remove at most this many.'),
});

export const wsClientMessage = z.discriminatedUnion('action', [
  z.strictObject({
    action: z.literal('subscribe'),
    types: z
      .array(z.enum(EVENT_TYPES))
      .max(EVENT_TYPES.length * 2)
      .optional(),
    queue: z.string().min(1).max(255).nullable().optional(),
  }),
  z.strictObject({ action: z.literal('ping') }),
]);

// ---------------------------------------------------------------------------------------------- outputs

const isoTime = z.iso.datetime().describe('ISO-8601, UTC.');
const nullableIso = isoTime.nullable();
const ms = z.number().min(0);
const nullableMs = ms.nullable();
const rate = z.number().min(0).max(1).nullable().describe('0–1; null when there was nothing to rate.');

export const stateCountsSchema = z.object(
  Object.fromEntries(JOB_STATES.map((s) => [s, z.number().int().min(0)])) as Record<
    (typeof JOB_STATES)[number],
    z.ZodNumber
  >,
);

export const jobErrorSchema = z.object({
  message: z.string(),
  code: z.string().nullable(),
  stack: z.string().nullable(),
});

const retentionSchema = z.union([
  z.boolean(),
  z.number(),
  z.object({ count: z.number().optional(), ageMs: z.number().optional() }),
]);

export const jobSchema = z
  .object({
    id: z.string(),
    queue: z.string(),
    type: z.string(),
    state: z.enum(JOB_STATES),
    payload: z.unknown(),
    options: z.object({
      priority: z.number(),
      maxAttempts: z.number(),
      backoff: z
        .object({
          type: z.enum(['fixed', 'exponential', 'custom']),
          delayMs: z.number(),
          maxDelayMs: z.number().optional(),
          jitter: z.number().optional(),
        })
        .nullable(),
      timeoutMs: z.number().nullable(),
      uniqueKey: z.string().nullable(),
      removeOnComplete: retentionSchema,
      removeOnFail: retentionSchema,
      meta: z.record(z.string(), z.unknown()).nullable(),
    }),
    priority: z.number(),
    attempt: z.number().int().min(0),
    maxAttempts: z.number().int(),
    createdAt: isoTime,
    runAt: isoTime,
    startedAt: nullableIso,
    finishedAt: nullableIso,
    durationMs: nullableMs.describe('finishedAt − startedAt of the last attempt; null until it finished.'),
    result: z.unknown(),
    lastError: jobErrorSchema.nullable(),
    workerId: z.string().nullable(),
    progress: z.unknown(),
  })
  .describe('Job');

export const executionSchema = z
  .object({
    id: z.string(),
    jobId: z.string(),
    queue: z.string(),
    type: z.string(),
    attempt: z.number().int().min(1),
    status: z.enum(EXECUTION_STATUSES),
    startedAt: isoTime,
    finishedAt: isoTime,
    durationMs: ms,
    workerId: z.string().nullable(),
    result: z.unknown(),
    error: jobErrorSchema.nullable(),
    isRetry: z.boolean().describe('attempt > 1'),
  })
  .describe('Execution');

export const executionSummarySchema = z.object({
  totalExecutions: z.number().int().min(0),
  successCount: z.number().int().min(0),
  failedCount: z.number().int().min(0),
  timeoutCount: z.number().int().min(0),
  stalledCount: z.number().int().min(0),
  cancelledCount: z.number().int().min(0),
  retryCount: z.number().int().min(0),
  successRate: rate,
  avgDurationMs: nullableMs,
  minDurationMs: nullableMs,
  maxDurationMs: nullableMs,
  firstExecution: nullableIso,
  lastExecution: nullableIso,
});

export const healthStatusSchema = z.enum(['healthy', 'degraded', 'unhealthy']);

export const overviewSchema = z.object({
  totals: stateCountsSchema.describe('Jobs by state over all queues, now.'),
  total: z.number().int().min(0),
  queues: z.number().int().min(0).describe('Number of queues.'),
  workers: z.object({ active: z.number().int().min(0), total: z.number().int().min(0) }),
  throughput: z
    .object({ lastMinute: ms, lastHour: ms })
    .describe('Finished executions in the sliding last minute / hour (estimated from minute buckets).'),
  successRate: rate.describe('Successful ÷ finished executions over 24 h.'),
  avgDurationMs: nullableMs.describe('Mean execution duration over 24 h.'),
  executions24h: z.number().int().min(0),
  oldestWaitingAgeMs: nullableMs,
  health: healthStatusSchema,
});

export const typeStatsSchema = z.object({
  type: z.string(),
  enqueued: z.number().int().min(0),
  total: z.number().int().min(0).describe('Finished executions.'),
  success: z.number().int().min(0),
  failed: z.number().int().min(0),
  successRate: rate,
  avgDurationMs: nullableMs,
  p95Ms: nullableMs,
});

export const executionStatsSchema = z.object({
  total: z.number().int().min(0),
  success: z.number().int().min(0),
  failed: z
    .number()
    .int()
    .min(0)
    .describe(
      'Attempts that failed other than by timeout, whether or not retried. total = success + failed + timeout + stalled.',
    ),
  timeout: z.number().int().min(0).describe('Attempts that ended by timeout, whether or not retried.'),
  stalled: z.number().int().min(0),
  retries: z.number().int().min(0).describe('Failed attempts that were scheduled to run again.'),
  successRate: rate,
  avgDurationMs: nullableMs,
  maxDurationMs: nullableMs,
  p50Ms: nullableMs,
  p95Ms: nullableMs,
  p99Ms: nullableMs,
});

export const trendPointSchema = z.object({
  bucket: isoTime,
  total: z.number().int().min(0),
  success: z.number().int().min(0),
  failed: z.number().int().min(0).describe('Every finished execution that did not succeed.'),
});

export const statsSchema = z.object({
  period: z.enum(PERIODS),
  periodStart: isoTime,
  granularityMs: z.number().int(),
  jobs: z.object({
    total: z.number().int().min(0).describe('Jobs stored now.'),
    byState: stateCountsSchema,
    enqueued: z.number().int().min(0).describe('Jobs enqueued during the period.'),
    byType: z.record(z.string(), z.number().int().min(0)).describe('Jobs enqueued during the period, by type.'),
  }),
  executions: executionStatsSchema,
  executionsByType: z.array(typeStatsSchema),
  trend: z.array(trendPointSchema),
});

export const liveStatsSchema = z.object({
  timestamp: isoTime,
  active: z.number().int().min(0),
  waiting: z.number().int().min(0),
  scheduled: z.number().int().min(0),
  executions: z.object({ last5min: ms, failedLast5min: ms }),
});

export const queueSummarySchema = z.object({
  name: z.string(),
  paused: z.boolean(),
  counts: stateCountsSchema,
  total: z.number().int().min(0),
  throughputPerMinute: ms.describe('Finished executions per minute over the last 5 minutes.'),
  avgDurationMs: nullableMs.describe('Mean execution duration over the last hour.'),
  oldestWaitingAgeMs: nullableMs,
  saturation: z
    .number()
    .min(0)
    .nullable()
    .describe('Active jobs ÷ total concurrency of live workers serving the queue; null when none serves it.'),
  workers: z.number().int().min(0).describe('Live workers serving the queue.'),
});

export const queueDetailSchema = queueSummarySchema.extend({
  types: z.array(typeStatsSchema).describe('Job types seen in the queue over the last 30 days.'),
});

export const workerSchema = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  queues: z.array(z.string()),
  concurrency: z.number().int().min(0),
  activeJobs: z.number().int().min(0),
  executions: z.number().int().min(0),
  successRate: rate,
  avgDurationMs: nullableMs,
  startedAt: isoTime,
  lastSeenAt: isoTime,
  status: z.enum(['active', 'stale']),
});

export const workerListSchema = z.object({
  workers: z.array(workerSchema),
  total: z.number().int().min(0),
  active: z.number().int().min(0),
});

const quantiles = z.object({ avgMs: nullableMs, p50Ms: nullableMs, p95Ms: nullableMs, p99Ms: nullableMs });

export const metricsSeriesSchema = z.object({
  period: z.enum(PERIODS),
  from: isoTime,
  to: isoTime,
  granularityMs: z.number().int(),
  buckets: z.array(
    z.object({
      bucket: isoTime,
      enqueued: z.number().int().min(0),
      started: z.number().int().min(0),
      completed: z.number().int().min(0),
      failed: z.number().int().min(0).describe('Attempts that failed for good.'),
      retried: z.number().int().min(0).describe('Attempts that failed and were scheduled again.'),
      stalled: z.number().int().min(0),
      timeout: z
        .number()
        .int()
        .min(0)
        .describe('Attempts that ended by timeout; each is also counted in `failed` or `retried`.'),
      duration: quantiles,
      wait: quantiles.describe('Time from runAt to the claim.'),
    }),
  ),
});

const componentCheck = z.object({
  status: healthStatusSchema,
  latencyMs: ms,
  error: z.string().optional().describe('The stable error code of a failed check.'),
});

export const healthSchema = z
  .object({
    status: healthStatusSchema,
    timestamp: isoTime,
    uptimeMs: ms,
    responseTimeMs: ms,
    components: z.object({
      queue: componentCheck,
      storage: componentCheck,
      metrics: componentCheck,
      scheduler: z.object({
        status: healthStatusSchema,
        recentExecutions: z.number().int().min(0).describe('Finished executions in the last 5 minutes.'),
        pendingJobs: z.number().int().min(0).nullable().describe('waiting + scheduled + retrying.'),
        activeWorkers: z.number().int().min(0).nullable(),
      }),
      system: z.object({
        memory: z.object({ totalBytes: z.number(), freeBytes: z.number(), usedRatio: z.number() }),
        cpu: z.object({ cores: z.number().int(), loadAverage: z.array(z.number()) }),
      }),
      process: z.object({
        pid: z.number().int(),
        memory: z.object({ rssBytes: z.number(), heapUsedBytes: z.number(), heapTotalBytes: z.number() }),
      }),
    }),
  })
  .describe('Health');

export const eventSchema = z
  .object({
    id: z.string(),
    type: z.enum(EVENT_TYPES),
    timestamp: isoTime,
    queue: z.string().optional(),
    jobId: z.string().optional(),
    workerId: z.string().optional(),
    data: z.record(z.string(), z.unknown()),
  })
  .describe('Event');

export const errorSchema = z
  .object({
    error: z.object({
      code: z.string().describe('Stable, uppercase; never changes meaning across versions.'),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .describe('Error');

export const listMetaSchema = z.object({
  limit: z.number().int(),
  nextCursor: z.string().nullable(),
  total: z.number().int().min(0).nullable().optional().describe('Given where counters make it cheap.'),
});
