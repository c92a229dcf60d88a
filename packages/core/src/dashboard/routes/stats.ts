import { JOB_STATES } from '../../contracts/job';
import type { MetricBucket } from '../../contracts/metrics-adapter';
import type { StateCounts } from '../../contracts/queue-adapter';
import {
  fillBuckets,
  finishedOf,
  meanOf,
  periodRange,
  q,
  round,
  slidingTotals,
  successRateOf,
  sumBuckets,
  unsuccessfulOf,
} from '../aggregate';
import { checkHealth } from '../health';
import { isoRequired } from '../http';
import { defineRoute, type Route } from '../router';
import {
  liveStatsSchema,
  metricsQuery,
  metricsSeriesSchema,
  overviewSchema,
  statsQuery,
  statsSchema,
  workerListSchema,
} from '../schemas';
import { isLiveWorker, toWorkerDto } from '../serialize';

const TAG = 'Stats';

function emptyCounts(): StateCounts {
  return Object.fromEntries(JOB_STATES.map((state) => [state, 0])) as StateCounts;
}

/** Sum per-queue state counts into one record. */
function sumCounts(byQueue: Record<string, StateCounts>): StateCounts {
  const total = emptyCounts();
  for (const counts of Object.values(byQueue)) {
    for (const state of JOB_STATES) total[state] += counts[state] ?? 0;
  }
  return total;
}

function totalOf(counts: StateCounts): number {
  let n = 0;
  for (const state of JOB_STATES) n += counts[state];
  return n;
}

const overview = defineRoute({
  method: 'GET',
  path: '/api/overview',
  tag: TAG,
  summary: 'Totals by state, queues, workers, throughput, 24 h success rate, oldest waiting job, health',
  response: overviewSchema,
  async handler(ctx) {
    const now = await ctx.now();
    const hourAligned = Math.floor(now / 3_600_000) * 3_600_000;
    const [queues, workers, lastMinute, lastHour, day, health] = await Promise.all([
      ctx.backend.queue.listQueues(),
      ctx.backend.storage.listWorkers(),
      slidingTotals(ctx.backend.metrics, now, 1),
      slidingTotals(ctx.backend.metrics, now, 60),
      ctx.backend.metrics.totals({
        granularity: 'hour',
        from: hourAligned - 23 * 3_600_000,
        to: hourAligned + 3_600_000,
      }),
      checkHealth(ctx.options),
    ]);
    const totals = emptyCounts();
    let oldestWaitingAt: number | null = null;
    for (const info of queues) {
      for (const state of JOB_STATES) totals[state] += info.counts[state] ?? 0;
      if (info.oldestWaitingAt !== null && (oldestWaitingAt === null || info.oldestWaitingAt < oldestWaitingAt)) {
        oldestWaitingAt = info.oldestWaitingAt;
      }
    }
    const active = workers.filter((w) => isLiveWorker(w, now, ctx.options.staleWorkerMs)).length;
    const last24h = sumBuckets(day);
    const minute = lastMinute.get('');
    const hour = lastHour.get('');
    return {
      data: {
        totals,
        total: totalOf(totals),
        queues: queues.length,
        workers: { active, total: workers.length },
        throughput: {
          lastMinute: minute ? (round(finishedOf(minute)) ?? 0) : 0,
          lastHour: hour ? (round(finishedOf(hour)) ?? 0) : 0,
        },
        successRate: round(successRateOf(last24h)),
        avgDurationMs: round(meanOf(last24h.duration)),
        executions24h: finishedOf(last24h),
        oldestWaitingAgeMs: oldestWaitingAt === null ? null : Math.max(0, now - oldestWaitingAt),
        health: health.status,
      },
    };
  },
});

function trendOf(buckets: readonly MetricBucket[]) {
  return buckets.map((b) => ({
    bucket: isoRequired(b.start),
    total: finishedOf(b),
    success: b.completed,
    failed: unsuccessfulOf(b),
  }));
}

const stats = defineRoute({
  method: 'GET',
  path: '/api/stats',
  tag: TAG,
  summary: 'Job and execution statistics over a period, with a trend',
  description:
    'Trend buckets: minute for 1h, 5 minutes for 6h, hour for 24h and 7d, day for 30d; every bucket is present. `jobs.total`/`byState` are the counts now; `enqueued`/`byType` count enqueues during the period.',
  query: statsQuery,
  response: statsSchema,
  async handler(ctx) {
    const { period, queue } = ctx.query;
    const now = await ctx.now();
    const { from, to, plan } = periodRange(period, now);
    const filter = queue === undefined ? {} : { queue };
    const [counts, series, byType] = await Promise.all([
      ctx.backend.queue.counts(queue),
      ctx.backend.metrics.series({ granularity: plan.source, from, to, ...filter }),
      ctx.backend.metrics.totals({ granularity: plan.source, from, to, ...filter, groupBy: 'type' }),
    ]);
    const buckets = fillBuckets(series, from, to, plan.bucketMs);
    const all = sumBuckets(buckets);
    const byState = sumCounts(counts);
    const enqueuedByType: Record<string, number> = {};
    for (const row of byType) if (row.key !== null) enqueuedByType[row.key] = row.enqueued;
    return {
      data: {
        period,
        periodStart: isoRequired(from),
        granularityMs: plan.bucketMs,
        jobs: { total: totalOf(byState), byState, enqueued: all.enqueued, byType: enqueuedByType },
        executions: {
          total: finishedOf(all),
          success: all.completed,
          failed: Math.max(0, all.failed + all.retried - all.timeout),
          timeout: all.timeout,
          stalled: all.stalled,
          retries: all.retried,
          successRate: round(successRateOf(all)),
          avgDurationMs: round(meanOf(all.duration)),
          maxDurationMs: all.duration.count === 0 ? null : all.duration.max,
          p50Ms: q(all.duration, 0.5),
          p95Ms: q(all.duration, 0.95),
          p99Ms: q(all.duration, 0.99),
        },
        executionsByType: byType
          .filter((row) => row.key !== null)
          .map((row) => ({
            type: row.key as string,
            enqueued: row.enqueued,
            total: finishedOf(row),
            success: row.completed,
            failed: unsuccessfulOf(row),
            successRate: round(successRateOf(row)),
            avgDurationMs: round(meanOf(row.duration)),
            p95Ms: q(row.duration, 0.95),
          }))
          .sort((a, b) => b.total - a.total || a.type.localeCompare(b.type)),
        trend: trendOf(buckets),
      },
    };
  },
});

const live = defineRoute({
  method: 'GET',
  path: '/api/stats/live',
  tag: TAG,
  summary: 'Cheap figures for 2–5 s polling',
  response: liveStatsSchema,
  async handler(ctx) {
    const now = await ctx.now();
    const [counts, window] = await Promise.all([
      ctx.backend.queue.counts(),
      slidingTotals(ctx.backend.metrics, now, 5),
    ]);
    const total = sumCounts(counts);
    const last5 = window.get('');
    return {
      data: {
        timestamp: isoRequired(now),
        active: total.active,
        waiting: total.waiting,
        scheduled: total.scheduled,
        executions: {
          last5min: last5 ? (round(finishedOf(last5)) ?? 0) : 0,
          failedLast5min: last5 ? (round(unsuccessfulOf(last5)) ?? 0) : 0,
        },
      },
    };
  },
});

const metricsSeries = defineRoute({
  method: 'GET',
  path: '/api/metrics',
  tag: TAG,
  summary: 'The time series behind the charts',
  description: 'Every bucket of the period is present (zeros where nothing happened); durations and waits in ms.',
  query: metricsQuery,
  response: metricsSeriesSchema,
  async handler(ctx) {
    const { period, queue, type } = ctx.query;
    const now = await ctx.now();
    const { from, to, plan } = periodRange(period, now);
    const series = await ctx.backend.metrics.series({
      granularity: plan.source,
      from,
      to,
      ...(queue === undefined ? {} : { queue }),
      ...(type === undefined ? {} : { type }),
    });
    const buckets = fillBuckets(series, from, to, plan.bucketMs).map((b) => ({
      bucket: isoRequired(b.start),
      enqueued: b.enqueued,
      started: b.started,
      completed: b.completed,
      failed: b.failed,
      retried: b.retried,
      stalled: b.stalled,
      timeout: b.timeout,
      duration: {
        avgMs: round(meanOf(b.duration)),
        p50Ms: q(b.duration, 0.5),
        p95Ms: q(b.duration, 0.95),
        p99Ms: q(b.duration, 0.99),
      },
      wait: { avgMs: round(meanOf(b.wait)), p50Ms: q(b.wait, 0.5), p95Ms: q(b.wait, 0.95), p99Ms: q(b.wait, 0.99) },
    }));
    return {
      data: { period, from: isoRequired(from), to: isoRequired(to), granularityMs: plan.bucketMs, buckets },
    };
  },
});

const workers = defineRoute({
  method: 'GET',
  path: '/api/workers',
  tag: 'Workers',
  summary: 'Registered workers; `stale` when not seen within `staleWorkerMs`',
  response: workerListSchema,
  async handler(ctx) {
    const now = await ctx.now();
    const list = (await ctx.backend.storage.listWorkers())
      .map((worker) => toWorkerDto(worker, now, ctx.options.staleWorkerMs))
      .sort((a, b) => (a.status === b.status ? a.id.localeCompare(b.id) : a.status === 'active' ? -1 : 1));
    return {
      data: { workers: list, total: list.length, active: list.filter((w) => w.status === 'active').length },
    };
  },
});

/** Overview, statistics, live figures, chart series and workers. */
export const statsRoutes: Route[] = [overview, stats, live, metricsSeries, workers];
