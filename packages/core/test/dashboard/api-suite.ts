import type { Backend } from '@conveyor/core';
import { closeBackend } from '@conveyor/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Answer, call, type Seeded, seededDashboard } from './support';

type Dashboard = Awaited<ReturnType<typeof seededDashboard>>['dashboard'];

/** Check an answer against the response schema its route declares (the same one the OpenAPI document shows). */
function expectShape(dashboard: Dashboard, method: string, path: string, answer: Answer): void {
  expect(answer.status, answer.text).toBe(200);
  const route = dashboard.routes.find((r) => r.method === method && r.path === path);
  expect(route, `route ${method} ${path}`).toBeDefined();
  const parsed = route!.response!.safeParse(answer.json.data);
  expect(parsed.success ? [] : parsed.error.issues).toEqual([]);
  if (route!.meta) expect(route!.meta.safeParse(answer.json.meta).success).toBe(true);
}

function expectError(answer: Answer, status: number, code: string): void {
  expect(answer.status, answer.text).toBe(status);
  expect(answer.json?.error?.code).toBe(code);
  expect(typeof answer.json.error.message).toBe('string');
  expect(answer.text).not.toMatch(/\n\s+at /);
}

/**
 * The endpoint suite of the dashboard API, run once per backend: `describeDashboardApi('sqlite', clock =>
 * createSqliteBackend({ clock }))`. The factory gets the test's clock and must return a fresh, empty backend.
 */
export function describeDashboardApi(
  name: string,
  createBackend: (clock: () => number) => Backend | Promise<Backend>,
): void {
  describe(`dashboard API over the ${name} backend`, () => {
    let backend: Backend;
    let dashboard: Dashboard;
    let seeded: Seeded;
    let clock: ReturnType<typeof import('./support').manualClock>;

    beforeEach(async () => {
      ({ backend, dashboard, seeded, clock } = await seededDashboard(createBackend));
    });
    afterEach(async () => {
      await closeBackend(backend);
    });

    describe('GET /api/overview', () => {
      it('gives totals by state, queues, workers, throughput and health from counters', async () => {
        const res = await call(dashboard, 'GET', '/api/overview');
        expectShape(dashboard, 'GET', '/api/overview', res);
        const data = res.json.data;
        expect(data.totals).toMatchObject({
          waiting: 3,
          scheduled: 1,
          active: 1,
          completed: 1,
          failed: 1,
          cancelled: 1,
        });
        expect(data.total).toBe(8);
        expect(data.queues).toBe(2);
        expect(data.workers).toEqual({ active: 1, total: 1 });
        expect(data.successRate).toBe(0.5);
        expect(data.avgDurationMs).toBe(150);
        expect(data.executions24h).toBe(2);
        expect(data.throughput.lastHour).toBe(2);
        expect(data.oldestWaitingAgeMs).toBe(0);
        expect(['healthy', 'degraded']).toContain(data.health);
      });
    });

    describe('GET /api/stats', () => {
      it('answers every period with the documented granularity and a full trend', async () => {
        const expected = {
          '1h': [60, 60_000],
          '6h': [72, 300_000],
          '24h': [24, 3_600_000],
          '7d': [168, 3_600_000],
          '30d': [30, 86_400_000],
        } as const;
        for (const [period, [buckets, width]] of Object.entries(expected)) {
          const res = await call(dashboard, 'GET', `/api/stats?period=${period}`);
          expectShape(dashboard, 'GET', '/api/stats', res);
          const data = res.json.data;
          expect(data.trend).toHaveLength(buckets);
          expect(data.granularityMs).toBe(width);
          expect(Date.parse(data.trend[1].bucket) - Date.parse(data.trend[0].bucket)).toBe(width);
          expect(data.executions).toMatchObject({
            total: 2,
            success: 1,
            failed: 1,
            stalled: 0,
            successRate: 0.5,
            maxDurationMs: 200,
          });
          expect(data.executions.p50Ms).toBeGreaterThan(0);
          expect(data.executions.p99Ms).toBeLessThanOrEqual(200);
          expect(data.jobs.byType).toEqual({ send: 3, build: 3 });
          expect(data.jobs.byState.waiting).toBe(3);
          const trendTotal = data.trend.reduce((n: number, p: { total: number }) => n + p.total, 0);
          expect(trendTotal).toBe(2);
        }
      });

      it('breaks timeouts out of failures: total = success + failed + timeout + stalled', async () => {
        const at = clock.now() - 1_000;
        // What a Worker records for a timed-out attempt that will retry, and for one that failed for good.
        await backend.metrics.record([
          { kind: 'retried', queue: 'reports', type: 'build', at, durationMs: 5_000 },
          { kind: 'timeout', queue: 'reports', type: 'build', at },
          { kind: 'failed', queue: 'reports', type: 'build', at, durationMs: 5_000 },
          { kind: 'timeout', queue: 'reports', type: 'build', at },
        ]);
        const res = await call(dashboard, 'GET', '/api/stats?period=1h');
        expectShape(dashboard, 'GET', '/api/stats', res);
        const e = res.json.data.executions;
        expect(e).toMatchObject({ total: 4, success: 1, failed: 1, timeout: 2, stalled: 0, retries: 1 });
        expect(e.success + e.failed + e.timeout + e.stalled).toBe(e.total);
        const series = await call(dashboard, 'GET', '/api/metrics?period=1h&queue=reports');
        const timeouts = series.json.data.buckets.reduce((n: number, b: { timeout: number }) => n + b.timeout, 0);
        expect(timeouts).toBe(2);
      });

      it('defaults to 24h, filters by queue and refuses an unknown period', async () => {
        const res = await call(dashboard, 'GET', '/api/stats?queue=emails');
        expect(res.json.data.period).toBe('24h');
        expect(res.json.data.executions.total).toBe(0);
        expect(res.json.data.jobs.byState.waiting).toBe(3);
        expectError(await call(dashboard, 'GET', '/api/stats?period=2h'), 400, 'VALIDATION_FAILED');
      });
    });

    describe('GET /api/stats/live', () => {
      it('gives active, waiting, scheduled and the last five minutes', async () => {
        const res = await call(dashboard, 'GET', '/api/stats/live');
        expectShape(dashboard, 'GET', '/api/stats/live', res);
        expect(res.json.data).toMatchObject({
          active: 1,
          waiting: 3,
          scheduled: 1,
          executions: { last5min: 2, failedLast5min: 1 },
        });
        clock.advance(10 * 60_000);
        const later = await call(dashboard, 'GET', '/api/stats/live');
        expect(later.json.data.executions).toEqual({ last5min: 0, failedLast5min: 0 });
      });
    });

    describe('queues', () => {
      it('lists queues with counters, throughput, latency and saturation', async () => {
        const res = await call(dashboard, 'GET', '/api/queues');
        expectShape(dashboard, 'GET', '/api/queues', res);
        const reports = res.json.data.find((q: { name: string }) => q.name === 'reports');
        expect(reports).toMatchObject({ paused: false, saturation: 0.25, workers: 1, avgDurationMs: 150 });
        expect(reports.counts).toMatchObject({ active: 1, completed: 1, failed: 1, cancelled: 1 });
        expect(reports.throughputPerMinute).toBeCloseTo(0.4, 5);
      });

      it('shows one queue with its job types, and 404 for an unknown one', async () => {
        const res = await call(dashboard, 'GET', '/api/queues/reports');
        expectShape(dashboard, 'GET', '/api/queues/:queue', res);
        expect(res.json.data.types).toEqual([
          expect.objectContaining({ type: 'build', enqueued: 3, total: 2, success: 1, failed: 1, successRate: 0.5 }),
        ]);
        expectError(await call(dashboard, 'GET', '/api/queues/nope'), 404, 'NOT_FOUND');
      });

      it('pauses and resumes, publishing the events', async () => {
        const seen: string[] = [];
        const off = backend.events.subscribe((e) => seen.push(e.type));
        const paused = await call(dashboard, 'POST', '/api/queues/emails/pause');
        expectShape(dashboard, 'POST', '/api/queues/:queue/pause', paused);
        expect(await backend.queue.isPaused('emails')).toBe(true);
        expect((await call(dashboard, 'GET', '/api/queues/emails')).json.data.paused).toBe(true);
        await call(dashboard, 'POST', '/api/queues/emails/resume');
        expect(await backend.queue.isPaused('emails')).toBe(false);
        await expect.poll(() => seen).toEqual(expect.arrayContaining(['queue.paused', 'queue.resumed']));
        off();
        expectError(await call(dashboard, 'POST', '/api/queues/ghost/pause'), 404, 'NOT_FOUND');
      });

      it('retries failed jobs with a limit and validates the body', async () => {
        const res = await call(dashboard, 'POST', '/api/queues/reports/retry-failed', { body: { limit: 10 } });
        expectShape(dashboard, 'POST', '/api/queues/:queue/retry-failed', res);
        expect(res.json.data).toEqual({ retried: 1 });
        expect((await backend.queue.getJob(seeded.failed.id))?.state).toBe('waiting');
        expect((await call(dashboard, 'POST', '/api/queues/reports/retry-failed')).json.data).toEqual({ retried: 0 });
        expectError(
          await call(dashboard, 'POST', '/api/queues/reports/retry-failed', { body: { limit: 1001 } }),
          400,
          'VALIDATION_FAILED',
        );
        expectError(
          await call(dashboard, 'POST', '/api/queues/reports/retry-failed', { body: { limt: 1 } }),
          400,
          'VALIDATION_FAILED',
        );
      });

      it('cleans finished jobs of one state', async () => {
        expectError(await call(dashboard, 'POST', '/api/queues/reports/clean', { body: {} }), 400, 'VALIDATION_FAILED');
        expectError(
          await call(dashboard, 'POST', '/api/queues/reports/clean', { body: { state: 'active' } }),
          400,
          'VALIDATION_FAILED',
        );
        const res = await call(dashboard, 'POST', '/api/queues/reports/clean', { body: { state: 'completed' } });
        expectShape(dashboard, 'POST', '/api/queues/:queue/clean', res);
        expect(res.json.data).toEqual({ removed: 1 });
        expect(await backend.queue.getJob(seeded.completed.id)).toBeNull();
      });
    });

    describe('jobs', () => {
      it('lists newest first within a state with cheap totals and a working cursor', async () => {
        const first = await call(dashboard, 'GET', '/api/jobs?state=waiting&queue=emails&limit=2');
        expectShape(dashboard, 'GET', '/api/jobs', first);
        expect(first.json.data).toHaveLength(2);
        expect(first.json.meta.total).toBe(3);
        expect(first.json.meta.nextCursor).toEqual(expect.any(String));
        const second = await call(
          dashboard,
          'GET',
          `/api/jobs?state=waiting&queue=emails&limit=2&cursor=${encodeURIComponent(first.json.meta.nextCursor)}`,
        );
        expect(second.json.data).toHaveLength(1);
        expect(second.json.meta.nextCursor).toBeNull();
        const ids = [...first.json.data, ...second.json.data].map((j: { id: string }) => j.id).sort();
        expect(ids).toEqual(seeded.waiting.map((j) => j.id).sort());
        const byType = await call(dashboard, 'GET', '/api/jobs?type=build');
        expect(byType.json.data).toHaveLength(3);
        expect(byType.json.meta.total).toBeNull();
      });

      it('refuses bad list parameters with 400', async () => {
        for (const query of [
          'limit=0',
          'limit=101',
          'limit=abc',
          'state=sleeping',
          'cursor=%%%',
          'cursor=bm90LWEtY3Vyc29y',
        ]) {
          expectError(await call(dashboard, 'GET', `/api/jobs?${query}`), 400, 'VALIDATION_FAILED');
        }
      });

      it('searches when the backend can, else answers SEARCH_UNSUPPORTED', async () => {
        const res = await call(dashboard, 'GET', '/api/jobs?q=u1%40example');
        if (backend.queue.capabilities.search) {
          expect(res.status).toBe(200);
          expect(res.json.data.map((j: { id: string }) => j.id)).toEqual([seeded.waiting[1]!.id]);
        } else {
          expectError(res, 400, 'SEARCH_UNSUPPORTED');
        }
      });

      it('shows one job in the documented shape, and 404 for an unknown id', async () => {
        const res = await call(dashboard, 'GET', `/api/jobs/${encodeURIComponent(seeded.failed.id)}`);
        expectShape(dashboard, 'GET', '/api/jobs/:id', res);
        expect(res.json.data).toMatchObject({
          id: seeded.failed.id,
          queue: 'reports',
          type: 'build',
          state: 'failed',
          attempt: 1,
          maxAttempts: 1,
          lastError: { message: 'boom <img src=x onerror=alert(1)>', code: 'E_BOOM', stack: 'Error: boom\n    at x' },
          workerId: 'worker-1',
        });
        expect(res.json.data.durationMs).toBeGreaterThanOrEqual(0);
        expectError(await call(dashboard, 'GET', '/api/jobs/does-not-exist'), 404, 'NOT_FOUND');
        expectError(await call(dashboard, 'GET', `/api/jobs/${'x'.repeat(600)}`), 400, 'VALIDATION_FAILED');
      });

      it('enqueues with the Queue option rules', async () => {
        const res = await call(dashboard, 'POST', '/api/jobs', {
          body: {
            queue: 'emails',
            type: 'welcome',
            payload: { user: 1 },
            options: { priority: 5, delayMs: 60_000, jobId: 'custom-1' },
          },
        });
        expectShape(dashboard, 'POST', '/api/jobs', res);
        expect(res.json.data).toMatchObject({ id: 'custom-1', state: 'scheduled', priority: 5, payload: { user: 1 } });
        expect(res.json.meta).toEqual({ deduplicated: false });
        const again = await call(dashboard, 'POST', '/api/jobs', {
          body: { queue: 'emails', type: 'welcome', payload: {}, options: { jobId: 'custom-1' } },
        });
        expect(again.json.meta).toEqual({ deduplicated: true });
        const live = await call(dashboard, 'GET', '/api/stats?period=1h');
        expect(live.json.data.jobs.enqueued).toBe(7);
        for (const body of [
          {},
          { queue: '', type: 't', payload: 1 },
          { queue: 'q', type: 't', payload: 1, options: { delay: 5 } },
          { queue: 'q', type: 't', payload: 1, options: { maxAttempts: 0 } },
          { queue: 'q', type: 't', payload: 1, extra: true },
          [1, 2],
          'text',
        ]) {
          expectError(await call(dashboard, 'POST', '/api/jobs', { body }), 400, 'VALIDATION_FAILED');
        }
      });

      it('retries, promotes and cancels, with 409 when the state does not allow it', async () => {
        const retried = await call(dashboard, 'POST', `/api/jobs/${seeded.failed.id}/retry`);
        expectShape(dashboard, 'POST', '/api/jobs/:id/retry', retried);
        expect(retried.json.data.state).toBe('waiting');
        expectError(await call(dashboard, 'POST', `/api/jobs/${seeded.failed.id}/retry`), 409, 'INVALID_STATE');

        const promoted = await call(dashboard, 'POST', `/api/jobs/${seeded.scheduled.id}/promote`);
        expect(promoted.json.data.state).toBe('waiting');
        expectError(await call(dashboard, 'POST', `/api/jobs/${seeded.completed.id}/promote`), 409, 'INVALID_STATE');

        const cancelled: string[] = [];
        const off = backend.events.subscribe((e) => e.type === 'job.cancelled' && cancelled.push(e.jobId ?? ''));
        const res = await call(dashboard, 'POST', `/api/jobs/${seeded.active.id}/cancel`);
        expect(res.json.data.state).toBe('cancelled');
        await expect.poll(() => cancelled).toContain(seeded.active.id);
        off();
        expectError(await call(dashboard, 'POST', `/api/jobs/${seeded.completed.id}/cancel`), 409, 'INVALID_STATE');
        expectError(await call(dashboard, 'POST', '/api/jobs/ghost/cancel'), 404, 'NOT_FOUND');
      });

      it('deletes a job that is not active and refuses an active one', async () => {
        expectError(await call(dashboard, 'DELETE', `/api/jobs/${seeded.active.id}`), 409, 'INVALID_STATE');
        const res = await call(dashboard, 'DELETE', `/api/jobs/${seeded.completed.id}`);
        expectShape(dashboard, 'DELETE', '/api/jobs/:id', res);
        expect(await backend.queue.getJob(seeded.completed.id)).toBeNull();
        expectError(await call(dashboard, 'DELETE', `/api/jobs/${seeded.completed.id}`), 404, 'NOT_FOUND');
      });
    });

    describe('execution logs', () => {
      it("lists a job's executions and summarises them", async () => {
        const res = await call(dashboard, 'GET', `/api/jobs/${seeded.failed.id}/logs`);
        expectShape(dashboard, 'GET', '/api/jobs/:id/logs', res);
        expect(res.json.data).toEqual([
          expect.objectContaining({
            id: 'exec-2',
            attempt: 1,
            status: 'failed',
            durationMs: 200,
            isRetry: false,
            workerId: 'worker-1',
          }),
        ]);
        expect((await call(dashboard, 'GET', `/api/jobs/${seeded.failed.id}/logs?status=success`)).json.data).toEqual(
          [],
        );
        const summary = await call(dashboard, 'GET', `/api/jobs/${seeded.completed.id}/logs/summary`);
        expectShape(dashboard, 'GET', '/api/jobs/:id/logs/summary', summary);
        expect(summary.json.data).toMatchObject({
          totalExecutions: 1,
          successCount: 1,
          successRate: 1,
          minDurationMs: 100,
        });
        expectError(await call(dashboard, 'GET', '/api/jobs/ghost/logs'), 404, 'NOT_FOUND');
        expectError(await call(dashboard, 'GET', '/api/jobs/ghost/logs/summary'), 404, 'NOT_FOUND');
        expectError(
          await call(dashboard, 'GET', `/api/jobs/${seeded.failed.id}/logs?from=yesterday`),
          400,
          'VALIDATION_FAILED',
        );
      });

      it('keeps the history of a removed job reachable', async () => {
        await backend.queue.remove(seeded.completed.id);
        const res = await call(dashboard, 'GET', `/api/jobs/${seeded.completed.id}/logs`);
        expect(res.status).toBe(200);
        expect(res.json.data).toHaveLength(1);
      });

      it('lists recent executions across jobs with filters', async () => {
        const res = await call(dashboard, 'GET', '/api/logs/recent?limit=10');
        expectShape(dashboard, 'GET', '/api/logs/recent', res);
        expect(res.json.data.map((e: { id: string }) => e.id)).toEqual(['exec-2', 'exec-1']);
        expect((await call(dashboard, 'GET', '/api/logs/recent?status=success')).json.data).toHaveLength(1);
        expectError(await call(dashboard, 'GET', '/api/logs/recent?limit=1000'), 400, 'VALIDATION_FAILED');
      });
    });

    describe('GET /api/workers', () => {
      it('reports workers active, then stale once not seen within staleWorkerMs', async () => {
        const res = await call(dashboard, 'GET', '/api/workers');
        expectShape(dashboard, 'GET', '/api/workers', res);
        expect(res.json.data).toMatchObject({ total: 1, active: 1 });
        expect(res.json.data.workers[0]).toMatchObject({
          id: 'worker-1',
          host: 'host-a',
          pid: 4242,
          concurrency: 4,
          activeJobs: 1,
          executions: 2,
          successRate: 0.5,
          avgDurationMs: 150,
          status: 'active',
        });
        clock.advance(31_000);
        const later = await call(dashboard, 'GET', '/api/workers');
        expect(later.json.data).toMatchObject({ total: 1, active: 0 });
        expect(later.json.data.workers[0].status).toBe('stale');
        expect((await call(dashboard, 'GET', '/api/queues')).json.data[0].saturation).toBeNull();
      });
    });

    describe('GET /api/metrics', () => {
      it('gives every bucket with counts and duration/wait quantiles', async () => {
        const res = await call(dashboard, 'GET', '/api/metrics?period=1h&queue=reports');
        expectShape(dashboard, 'GET', '/api/metrics', res);
        const buckets = res.json.data.buckets;
        expect(buckets).toHaveLength(60);
        const last = buckets.at(-1);
        expect(last).toMatchObject({ completed: 1, failed: 1, started: 1 });
        expect(last.duration.p50Ms).toBeGreaterThan(0);
        expect(last.wait.p95Ms).toBeLessThanOrEqual(40);
        const sixHours = await call(dashboard, 'GET', '/api/metrics?period=6h&type=build');
        expect(sixHours.json.data.buckets).toHaveLength(72);
        expect(sixHours.json.data.buckets.reduce((n: number, b: { enqueued: number }) => n + b.enqueued, 0)).toBe(3);
        expect(
          (await call(dashboard, 'GET', '/api/metrics?queue=emails&period=7d')).json.data.buckets.every(
            (b: { completed: number }) => b.completed === 0,
          ),
        ).toBe(true);
      });
    });

    describe('GET /api/health', () => {
      it('answers a bare body with component latencies', async () => {
        const res = await call(dashboard, 'GET', '/api/health');
        expect(res.status).toBe(200);
        expect(res.json.data).toBeUndefined();
        const route = dashboard.routes.find((r) => r.path === '/api/health')!;
        expect(route.raw!['200']!.schema!.safeParse(res.json).success).toBe(true);
        expect(res.json.components.queue.latencyMs).toBeGreaterThanOrEqual(0);
        expect(res.json.components.scheduler).toMatchObject({ pendingJobs: 4, activeWorkers: 1, recentExecutions: 2 });
      });

      it('answers 503 unhealthy when a component fails', async () => {
        const broken = {
          ...backend,
          queue: Object.create(backend.queue, { counts: { value: () => Promise.reject(new Error('down')) } }),
        };
        const { createDashboard } = await import('@conveyor/core');
        const res = await call(createDashboard({ ...broken }), 'GET', '/api/health');
        expect(res.status).toBe(503);
        expect(res.json.status).toBe('unhealthy');
        expect(res.json.components.queue).toMatchObject({ status: 'unhealthy', error: 'INTERNAL' });
      });
    });

    it('answers an unknown route with the 404 envelope', async () => {
      for (const [method, path] of [
        ['GET', '/api/nope'],
        ['POST', '/api/overview'],
        ['PUT', '/api/jobs'],
        ['GET', '/api'],
        ['GET', '/favicon.ico'],
      ] as const) {
        expectError(await call(dashboard, method, path), 404, 'NOT_FOUND');
      }
    });

    it('strips the mount path given as an option or per call', async () => {
      const { createDashboard } = await import('@conveyor/core');
      const mounted = createDashboard({ ...backend, basePath: '/admin/queues/' });
      expect((await call(mounted, 'GET', '/admin/queues/api/queues')).status).toBe(200);
      expect((await call(dashboard, 'GET', '/x/y/api/workers', { basePath: '/x/y' })).status).toBe(200);
      expect((await call(mounted, 'GET', '/api/queues')).status).toBe(200);
    });
  });
}
