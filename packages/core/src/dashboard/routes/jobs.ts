import { z } from 'zod';
import { ConveyorError, conveyorMessage, notFound } from '../../contracts/errors';
import type { Job } from '../../contracts/job';
import { enqueueRequestSchema, toNewJob } from '../../runtime/options';
import { publishJobEvent } from '../mutations';
import { defineRoute, type Route, type RouteContext } from '../router';
import {
  executionSchema,
  executionSummarySchema,
  jobIdParams,
  jobSchema,
  listJobsQuery,
  listMetaSchema,
  logsQuery,
  recentLogsQuery,
} from '../schemas';
import { toExecutionDto, toJobDto, toSummaryDto } from '../serialize';

const TAG = 'Jobs';

function jobDto(ctx: RouteContext, job: Job) {
  return ctx.redactor.apply(toJobDto(job), 'job');
}

async function requireJob(ctx: RouteContext, id: string): Promise<Job> {
  const job = await ctx.backend.queue.getJob(id);
  if (job === null) throw notFound('dashboard', `job "${id.slice(0, 200)}"`);
  return job;
}

const listJobs = defineRoute({
  method: 'GET',
  path: '/api/jobs',
  tag: TAG,
  summary: 'List jobs, newest first',
  description:
    'Filters combine. `meta.total` is given when it comes from state counters (no `type` or `q` filter), else null.',
  query: listJobsQuery,
  response: z.array(jobSchema),
  meta: listMetaSchema,
  async handler(ctx) {
    const { queue, state, type, q, limit, cursor } = ctx.query;
    const { queue: adapter } = ctx.backend;
    if (q !== undefined && !adapter.capabilities.search) {
      throw new ConveyorError(
        'SEARCH_UNSUPPORTED',
        conveyorMessage(
          'dashboard',
          'this backend cannot search job payloads cheaply, so `q` is refused. Filter by queue, state and type instead.',
        ),
      );
    }
    const [page, counts] = await Promise.all([
      adapter.listJobs({
        limit,
        ...(queue === undefined ? {} : { queue }),
        ...(state === undefined ? {} : { state }),
        ...(type === undefined ? {} : { type }),
        ...(q === undefined ? {} : { search: q }),
        ...(cursor === undefined ? {} : { cursor }),
      }),
      type === undefined && q === undefined ? adapter.counts(queue) : Promise.resolve(null),
    ]);
    let total: number | null = null;
    if (counts !== null) {
      total = 0;
      for (const byState of Object.values(counts)) {
        if (state !== undefined) total += byState[state] ?? 0;
        else for (const n of Object.values(byState)) total += n;
      }
    }
    return {
      data: page.items.map((job) => jobDto(ctx, job)),
      meta: { limit, nextCursor: page.nextCursor, total },
    };
  },
});

const enqueueJob = defineRoute({
  method: 'POST',
  path: '/api/jobs',
  tag: TAG,
  summary: 'Enqueue a job',
  description:
    'Same validation as `Queue#enqueue` (the options schema is shared). `meta.deduplicated` is true when an existing job with the same id or live unique key was returned instead.',
  body: enqueueRequestSchema,
  response: jobSchema,
  meta: z.object({ deduplicated: z.boolean() }),
  async handler(ctx) {
    const body = ctx.body;
    const options = body.options ?? {};
    const result = await ctx.backend.queue.enqueue(toNewJob(body.queue, body.type, body.payload, options));
    if (!result.deduplicated) {
      const job = result.job;
      try {
        await ctx.backend.metrics.record([{ kind: 'enqueued', queue: job.queue, type: job.type, at: job.createdAt }]);
      } catch (error) {
        ctx.options.logger.warn('[conveyor] [dashboard] could not record the enqueue metric; the job was stored.', {
          error: error instanceof Error ? error.message : String(error),
        });
      }
      await publishJobEvent(ctx.backend, ctx.options.logger, 'job.enqueued', job, job.createdAt, {
        priority: job.priority,
        runAt: new Date(job.runAt).toISOString(),
      });
    }
    return { data: jobDto(ctx, result.job), meta: { deduplicated: result.deduplicated } };
  },
});

const getJob = defineRoute({
  method: 'GET',
  path: '/api/jobs/:id',
  tag: TAG,
  summary: 'One job',
  params: jobIdParams,
  response: jobSchema,
  async handler(ctx) {
    return { data: jobDto(ctx, await requireJob(ctx, ctx.params.id)) };
  },
});

function jobAction(
  action: 'retry' | 'promote' | 'cancel',
  summary: string,
  description: string,
  event: 'job.enqueued' | 'job.cancelled',
): Route {
  return defineRoute({
    method: 'POST',
    path: `/api/jobs/:id/${action}`,
    tag: TAG,
    summary,
    description: `${description} 409 INVALID_STATE when the job's state does not allow it.`,
    params: jobIdParams,
    response: jobSchema,
    async handler(ctx) {
      const job = await ctx.backend.queue[action](ctx.params.id);
      await publishJobEvent(ctx.backend, ctx.options.logger, event, job, await ctx.now(), { reason: action });
      return { data: jobDto(ctx, job) };
    },
  });
}

const removeJob = defineRoute({
  method: 'DELETE',
  path: '/api/jobs/:id',
  tag: TAG,
  summary: 'Remove a job that is not active',
  description: '409 INVALID_STATE for an active job: cancel it first.',
  params: jobIdParams,
  response: z.object({ id: z.string(), removed: z.literal(true) }),
  async handler(ctx) {
    const job = await requireJob(ctx, ctx.params.id);
    await ctx.backend.queue.remove(job.id);
    await publishJobEvent(ctx.backend, ctx.options.logger, 'job.deleted', job, await ctx.now());
    return { data: { id: job.id, removed: true as const } };
  },
});

const jobLogs = defineRoute({
  method: 'GET',
  path: '/api/jobs/:id/logs',
  tag: TAG,
  summary: "A job's executions, newest first",
  description:
    'Kept after the job itself was removed (e.g. `removeOnComplete`); 404 only when neither the job nor any execution exists.',
  params: jobIdParams,
  query: logsQuery,
  response: z.array(executionSchema),
  meta: listMetaSchema,
  async handler(ctx) {
    const { status, from, to, limit, cursor } = ctx.query;
    const page = await ctx.backend.storage.listExecutions(ctx.params.id, {
      limit,
      ...(status === undefined ? {} : { status }),
      ...(from === undefined ? {} : { from }),
      ...(to === undefined ? {} : { to }),
      ...(cursor === undefined ? {} : { cursor }),
    });
    if (page.items.length === 0 && cursor === undefined) await requireJob(ctx, ctx.params.id);
    return {
      data: page.items.map((record) => ctx.redactor.apply(toExecutionDto(record), 'execution')),
      meta: { limit, nextCursor: page.nextCursor },
    };
  },
});

const jobLogSummary = defineRoute({
  method: 'GET',
  path: '/api/jobs/:id/logs/summary',
  tag: TAG,
  summary: "Aggregate over a job's executions",
  params: jobIdParams,
  response: executionSummarySchema,
  async handler(ctx) {
    const summary = await ctx.backend.storage.summarizeExecutions(ctx.params.id);
    if (summary.totalExecutions === 0) await requireJob(ctx, ctx.params.id);
    return { data: toSummaryDto(summary) };
  },
});

const recentLogs = defineRoute({
  method: 'GET',
  path: '/api/logs/recent',
  tag: 'Logs',
  summary: 'Latest executions across all jobs',
  query: recentLogsQuery,
  response: z.array(executionSchema),
  meta: z.object({ limit: z.number().int() }),
  async handler(ctx) {
    const { queue, type, status, limit } = ctx.query;
    const records = await ctx.backend.storage.recentExecutions({
      limit,
      ...(queue === undefined ? {} : { queue }),
      ...(type === undefined ? {} : { type }),
      ...(status === undefined ? {} : { status }),
    });
    return {
      data: records.map((record) => ctx.redactor.apply(toExecutionDto(record), 'execution')),
      meta: { limit },
    };
  },
});

/** Job and execution-log routes. */
export const jobRoutes: Route[] = [
  listJobs,
  enqueueJob,
  getJob,
  jobAction(
    'retry',
    'Retry a failed or cancelled job',
    'Back to `waiting` with one more attempt allowed.',
    'job.enqueued',
  ),
  jobAction('promote', 'Run a scheduled or retrying job now', 'Makes it ready at once.', 'job.enqueued'),
  jobAction(
    'cancel',
    'Cancel a job',
    'A waiting, scheduled or retrying job is cancelled at once; an active one has its lease revoked and its handler is signalled through its AbortSignal.',
    'job.cancelled',
  ),
  removeJob,
  jobLogs,
  jobLogSummary,
  recentLogs,
];
