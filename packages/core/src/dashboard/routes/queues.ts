import { z } from 'zod';
import { notFound } from '../../contracts/errors';
import type { QueueInfo, StateCounts } from '../../contracts/queue-adapter';
import type { WorkerRecord } from '../../contracts/storage-adapter';
import { finishedOf, meanOf, q, round, slidingTotals, successRateOf, type WindowTotals } from '../aggregate';
import { publishQueueEvent } from '../mutations';
import { defineRoute, type Route, type RouteContext } from '../router';
import { cleanBody, queueDetailSchema, queueParams, queueSummarySchema, retryFailedBody } from '../schemas';
import { isLiveWorker } from '../serialize';

const TAG = 'Queues';

type QueueSummary = z.infer<typeof queueSummarySchema>;

/** Total of a state-count record. */
export function countTotal(counts: StateCounts): number {
  let total = 0;
  for (const n of Object.values(counts)) total += n;
  return total;
}

/** Figures of each queue from counters, the worker registry and two sliding metric windows. */
export async function summariseQueues(ctx: RouteContext, only?: string): Promise<QueueSummary[]> {
  const now = await ctx.now();
  const filter = only === undefined ? {} : { queue: only };
  const [queues, workers, last5, lastHour] = await Promise.all([
    ctx.backend.queue.listQueues(),
    ctx.backend.storage.listWorkers(),
    slidingTotals(ctx.backend.metrics, now, 5, { ...filter, groupBy: 'queue' }),
    slidingTotals(ctx.backend.metrics, now, 60, { ...filter, groupBy: 'queue' }),
  ]);
  const selected = only === undefined ? queues : queues.filter((info) => info.name === only);
  return selected.map((info) => summarise(info, now, workers, last5.get(info.name), lastHour.get(info.name), ctx));
}

function summarise(
  info: QueueInfo,
  now: number,
  workers: readonly WorkerRecord[],
  last5: WindowTotals | undefined,
  lastHour: WindowTotals | undefined,
  ctx: RouteContext,
): QueueSummary {
  let concurrency = 0;
  let serving = 0;
  for (const worker of workers) {
    if (worker.queues.includes(info.name) && isLiveWorker(worker, now, ctx.options.staleWorkerMs)) {
      concurrency += Math.max(0, worker.concurrency);
      serving++;
    }
  }
  const active = info.counts.active ?? 0;
  return {
    name: info.name,
    paused: info.paused,
    counts: info.counts,
    total: countTotal(info.counts),
    throughputPerMinute: last5 ? (round(finishedOf(last5) / 5) ?? 0) : 0,
    avgDurationMs: lastHour ? round(meanOf(lastHour.duration)) : null,
    oldestWaitingAgeMs: info.oldestWaitingAt === null ? null : Math.max(0, now - info.oldestWaitingAt),
    saturation: concurrency > 0 ? round(active / concurrency) : null,
    workers: serving,
  };
}

async function requireQueue(ctx: RouteContext, name: string): Promise<QueueInfo> {
  const queues = await ctx.backend.queue.listQueues();
  const info = queues.find((queue) => queue.name === name);
  if (!info) throw notFound('dashboard', `queue "${name.slice(0, 200)}"`);
  return info;
}

const listQueues = defineRoute({
  method: 'GET',
  path: '/api/queues',
  tag: TAG,
  summary: 'Every queue with its counters, throughput, latency and saturation',
  response: z.array(queueSummarySchema),
  async handler(ctx) {
    return { data: await summariseQueues(ctx) };
  },
});

const getQueue = defineRoute({
  method: 'GET',
  path: '/api/queues/:queue',
  tag: TAG,
  summary: 'One queue, with the job types seen in it (last 30 days)',
  params: queueParams,
  response: queueDetailSchema,
  async handler(ctx) {
    const name = ctx.params.queue;
    const now = await ctx.now();
    const [summaries, byType] = await Promise.all([
      summariseQueues(ctx, name),
      ctx.backend.metrics.totals({
        granularity: 'day',
        from: now - 30 * 86_400_000,
        to: now + 1,
        queue: name,
        groupBy: 'type',
      }),
    ]);
    const summary = summaries[0];
    if (summary === undefined) throw notFound('dashboard', `queue "${name.slice(0, 200)}"`);
    const types = byType
      .filter((row) => row.key !== null)
      .map((row) => ({
        type: row.key as string,
        enqueued: row.enqueued,
        total: finishedOf(row),
        success: row.completed,
        failed: row.failed + row.retried + row.stalled,
        successRate: round(successRateOf(row)),
        avgDurationMs: round(meanOf(row.duration)),
        p95Ms: q(row.duration, 0.95),
      }))
      .sort((a, b) => b.enqueued - a.enqueued || a.type.localeCompare(b.type));
    return { data: { ...summary, types } };
  },
});

function pauseRoute(action: 'pause' | 'resume'): Route {
  return defineRoute({
    method: 'POST',
    path: `/api/queues/:queue/${action}`,
    tag: TAG,
    summary: action === 'pause' ? 'Pause a queue: workers stop claiming from it' : 'Resume a paused queue',
    params: queueParams,
    response: z.object({ queue: z.string(), paused: z.boolean() }),
    async handler(ctx) {
      const name = (await requireQueue(ctx, ctx.params.queue)).name;
      if (action === 'pause') await ctx.backend.queue.pause(name);
      else await ctx.backend.queue.resume(name);
      await publishQueueEvent(
        ctx.backend,
        ctx.options.logger,
        action === 'pause' ? 'queue.paused' : 'queue.resumed',
        name,
        await ctx.now(),
      );
      return { data: { queue: name, paused: action === 'pause' } };
    },
  });
}

const retryFailed = defineRoute({
  method: 'POST',
  path: '/api/queues/:queue/retry-failed',
  tag: TAG,
  summary: 'Move failed jobs of a queue back to waiting',
  params: queueParams,
  body: retryFailedBody,
  response: z.object({ retried: z.number().int().min(0) }),
  async handler(ctx) {
    const name = (await requireQueue(ctx, ctx.params.queue)).name;
    const retried = await ctx.backend.queue.retryFailed(name, ctx.body.limit);
    if (retried > 0) {
      await publishQueueEvent(ctx.backend, ctx.options.logger, 'job.enqueued', name, await ctx.now(), {
        state: 'waiting',
        reason: 'retry-failed',
        count: retried,
      });
    }
    return { data: { retried } };
  },
});

const clean = defineRoute({
  method: 'POST',
  path: '/api/queues/:queue/clean',
  tag: TAG,
  summary: 'Remove finished jobs of one state',
  params: queueParams,
  body: cleanBody,
  response: z.object({ removed: z.number().int().min(0) }),
  async handler(ctx) {
    const name = (await requireQueue(ctx, ctx.params.queue)).name;
    const { state, olderThanMs, limit } = ctx.body;
    const removed = await ctx.backend.queue.clean({ queue: name, state, olderThanMs, limit });
    return { data: { removed } };
  },
});

/** Queue routes. */
export const queueRoutes: Route[] = [
  listQueues,
  getQueue,
  pauseRoute('pause'),
  pauseRoute('resume'),
  retryFailed,
  clean,
];
