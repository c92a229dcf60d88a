import { availableParallelism, freemem, loadavg, totalmem } from 'node:os';
import type { z } from 'zod';
import { isConveyorError } from '../contracts/errors';
import type { StateCounts } from '../contracts/queue-adapter';
import type { WorkerRecord } from '../contracts/storage-adapter';
import { finishedOf, slidingTotals, type WindowTotals } from './aggregate';
import type { ResolvedOptions } from './options';
import type { healthSchema } from './schemas';
import { isLiveWorker } from './serialize';

/** The body of `GET /api/health`. */
export type HealthReport = z.infer<typeof healthSchema>;
type Status = HealthReport['status'];

class CheckTimeout extends Error {
  readonly code = 'TIMEOUT';
}

interface CheckResult<T> {
  status: Status;
  latencyMs: number;
  value: T | null;
  error?: string;
}

/** Run one component check with a deadline; never throws. */
async function timed<T>(options: ResolvedOptions, check: () => Promise<T>): Promise<CheckResult<T>> {
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const value = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new CheckTimeout('health check timed out')), options.healthTimeoutMs);
        timer.unref?.();
      }),
    ]);
    const latencyMs = round(performance.now() - started);
    return { status: latencyMs > options.healthDegradedMs ? 'degraded' : 'healthy', latencyMs, value };
  } catch (error) {
    const latencyMs = round(performance.now() - started);
    const code = error instanceof CheckTimeout ? 'TIMEOUT' : isConveyorError(error) ? error.code : 'INTERNAL';
    if (!(error instanceof CheckTimeout)) {
      options.logger.warn('[conveyor] [dashboard] a health check failed.', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    return { status: 'unhealthy', latencyMs, value: null, error: code };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function worst(statuses: readonly Status[]): Status {
  if (statuses.includes('unhealthy')) return 'unhealthy';
  if (statuses.includes('degraded')) return 'degraded';
  return 'healthy';
}

function component<T>(result: CheckResult<T>) {
  return result.error === undefined
    ? { status: result.status, latencyMs: result.latencyMs }
    : { status: result.status, latencyMs: result.latencyMs, error: result.error };
}

/** Checks under way, per dashboard: a check that starts while another is running shares its answer. */
const running = new WeakMap<ResolvedOptions, Promise<HealthReport>>();

/**
 * Check every component with one cheap call each (counters from the queue adapter, the worker registry from the
 * storage adapter, a five-minute window from the metrics adapter), timed and bounded by `healthTimeoutMs`.
 * Unhealthy when a component fails or times out; degraded when one is slow or when jobs are pending and no live
 * worker is registered to run them.
 *
 * Concurrent callers of one dashboard (probes, `/api/overview` from several open tabs) share the check in flight
 * instead of each sending its own calls to the backend; nothing is cached once it has answered, so every answer
 * reflects the backend during that request.
 */
export function checkHealth(options: ResolvedOptions): Promise<HealthReport> {
  const current = running.get(options);
  if (current !== undefined) return current;
  const check = runChecks(options).finally(() => {
    if (running.get(options) === check) running.delete(options);
  });
  running.set(options, check);
  return check;
}

async function runChecks(options: ResolvedOptions): Promise<HealthReport> {
  const started = performance.now();
  const { queue, storage, metrics } = options.backend;
  const storeNow = queue.now().catch(() => Date.now());
  const [counts, workers, recent] = await Promise.all([
    timed<Record<string, StateCounts>>(options, () => queue.counts()),
    timed<{ workers: WorkerRecord[]; now: number }>(options, async () => {
      const [list, now] = await Promise.all([storage.listWorkers(), storeNow]);
      return { workers: list, now };
    }),
    timed<Map<string, WindowTotals>>(options, async () => slidingTotals(metrics, await storeNow, 5)),
  ]);

  let pending: number | null = null;
  if (counts.value !== null) {
    pending = 0;
    for (const byState of Object.values(counts.value)) {
      pending += (byState.waiting ?? 0) + (byState.scheduled ?? 0) + (byState.retrying ?? 0);
    }
  }
  let activeWorkers: number | null = null;
  if (workers.value !== null) {
    const { now } = workers.value;
    activeWorkers = workers.value.workers.filter((w) => isLiveWorker(w, now, options.staleWorkerMs)).length;
  }
  const recentTotals = recent.value?.get('');
  const recentExecutions = recentTotals ? Math.round(finishedOf(recentTotals)) : 0;
  let schedulerStatus: Status = 'healthy';
  if (pending === null || activeWorkers === null) schedulerStatus = 'unhealthy';
  else if (pending > 0 && activeWorkers === 0) schedulerStatus = 'degraded';

  const memory = process.memoryUsage();
  const total = totalmem();
  const free = freemem();
  const status = worst([counts.status, workers.status, recent.status, schedulerStatus]);
  return {
    status,
    timestamp: new Date().toISOString(),
    uptimeMs: Math.round(process.uptime() * 1000),
    responseTimeMs: round(performance.now() - started),
    components: {
      queue: component(counts),
      storage: component(workers),
      metrics: component(recent),
      scheduler: { status: schedulerStatus, recentExecutions, pendingJobs: pending, activeWorkers },
      system: {
        memory: { totalBytes: total, freeBytes: free, usedRatio: total > 0 ? round((total - free) / total) : 0 },
        cpu: { cores: availableParallelism(), loadAverage: loadavg().map(round) },
      },
      process: {
        pid: process.pid,
        memory: { rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, heapTotalBytes: memory.heapTotal },
      },
    },
  };
}
