import type { Backend, ExecutionRecord, Job } from '@conveyor/core';
import { createDashboard, type DashboardOptions, initBackend } from '@conveyor/core';

/** What a test sees of one answer. */
export interface Answer {
  status: number;
  headers: Headers;
  text: string;
  /** The parsed JSON body, or undefined when the body is not JSON. */
  // biome-ignore lint/suspicious/noExplicitAny: tests read answers field by field; expectShape checks them against the route's zod schema.
  json: any;
}

/** Options of {@link call}. */
export interface CallInit {
  body?: unknown;
  /** Send this exact text as the body (no JSON encoding). */
  rawBody?: string | Uint8Array;
  headers?: Record<string, string>;
  basePath?: string;
}

export const ORIGIN = 'http://dash.test';

/** Call a dashboard in-process (no HTTP), as an integration would. */
export async function call(
  dashboard: (request: Request, context?: { basePath?: string }) => Promise<Response>,
  method: string,
  path: string,
  init: CallInit = {},
): Promise<Answer> {
  const headers = new Headers(init.headers ?? {});
  let body: BodyInit | undefined;
  if (init.rawBody !== undefined) body = init.rawBody as BodyInit;
  else if (init.body !== undefined) {
    body = JSON.stringify(init.body);
    if (!headers.has('content-type')) headers.set('content-type', 'application/json');
  }
  const request = new Request(`${ORIGIN}${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const response = await dashboard(request, init.basePath === undefined ? undefined : { basePath: init.basePath });
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A clock tests move by hand; starts 30 s into a minute so sliding windows have a partial bucket. */
export function manualClock(start = Date.UTC(2030, 0, 15, 12, 0, 30)): {
  now: () => number;
  advance(ms: number): void;
  set(ms: number): void;
} {
  let t = start;
  return {
    now: () => t,
    advance(ms) {
      t += ms;
    },
    set(ms) {
      t = ms;
    },
  };
}

/** What {@link seed} created, for assertions. */
export interface Seeded {
  waiting: Job[];
  scheduled: Job;
  completed: Job;
  failed: Job;
  active: Job;
  cancelled: Job;
  executions: ExecutionRecord[];
  workerId: string;
}

/**
 * Put a small but complete history into a backend through its adapters: jobs in every state, execution records,
 * metric events and a registered worker. `now` is the backend's clock.
 */
export async function seed(backend: Backend, now: number): Promise<Seeded> {
  const { queue, storage, metrics } = backend;
  const waiting: Job[] = [];
  for (let i = 0; i < 3; i++) {
    waiting.push(
      (
        await queue.enqueue({
          queue: 'emails',
          type: 'send',
          payload: { to: `u${i}@example.com`, password: 'hunter2' },
        })
      ).job,
    );
  }
  const scheduled = (await queue.enqueue({ queue: 'emails', type: 'digest', payload: {}, delayMs: 3_600_000 })).job;
  const toComplete = (await queue.enqueue({ queue: 'reports', type: 'build', payload: { n: 1 }, priority: 100 })).job;
  const toFail = (
    await queue.enqueue({ queue: 'reports', type: 'build', payload: { n: 2 }, maxAttempts: 1, priority: 90 })
  ).job;
  const toHold = (await queue.enqueue({ queue: 'reports', type: 'build', payload: { n: 3 }, priority: 80 })).job;
  const cancelled = await queue.cancel((await queue.enqueue({ queue: 'reports', type: 'noop', payload: null })).job.id);

  const workerId = 'worker-1';
  await storage.registerWorker({
    id: workerId,
    host: 'host-a',
    pid: 4242,
    queues: ['reports', 'emails'],
    concurrency: 4,
    startedAt: now - 60_000,
  });
  const claimed = await queue.claim({ queues: ['reports'], workerId, limit: 3, leaseMs: 60_000 });
  const byId = new Map(claimed.map((job) => [job.id, job]));
  const c = byId.get(toComplete.id)!;
  const f = byId.get(toFail.id)!;
  await queue.complete([{ jobId: c.id, token: c.token, result: { ok: true, secret: 's3' } }]);
  await queue.fail([
    {
      jobId: f.id,
      token: f.token,
      error: { message: 'boom <img src=x onerror=alert(1)>', code: 'E_BOOM', stack: 'Error: boom\n    at x' },
      retryDelayMs: null,
    },
  ]);
  await storage.heartbeatWorker(workerId, {
    activeJobs: 1,
    executions: 2,
    succeeded: 1,
    failed: 1,
    totalDurationMs: 300,
  });

  const executions: ExecutionRecord[] = [
    {
      id: 'exec-1',
      jobId: c.id,
      queue: 'reports',
      type: 'build',
      attempt: 1,
      status: 'success',
      startedAt: now - 2_000,
      finishedAt: now - 1_900,
      durationMs: 100,
      workerId,
      result: { ok: true, secret: 's3' },
      error: null,
    },
    {
      id: 'exec-2',
      jobId: f.id,
      queue: 'reports',
      type: 'build',
      attempt: 1,
      status: 'failed',
      startedAt: now - 1_500,
      finishedAt: now - 1_300,
      durationMs: 200,
      workerId,
      result: null,
      error: { message: 'boom', code: 'E_BOOM', stack: 'Error: boom' },
    },
  ];
  await storage.recordExecutions(executions);
  await metrics.record([
    { kind: 'enqueued', queue: 'emails', type: 'send', at: now - 90_000, count: 3 },
    { kind: 'enqueued', queue: 'reports', type: 'build', at: now - 90_000, count: 3 },
    { kind: 'started', queue: 'reports', type: 'build', at: now - 2_000, waitMs: 40 },
    { kind: 'completed', queue: 'reports', type: 'build', at: now - 1_900, durationMs: 100 },
    { kind: 'failed', queue: 'reports', type: 'build', at: now - 1_300, durationMs: 200 },
  ]);
  const active = (await queue.getJob(toHold.id))!;
  return {
    waiting,
    scheduled,
    completed: (await queue.getJob(c.id))!,
    failed: (await queue.getJob(f.id))!,
    active,
    cancelled,
    executions,
    workerId,
  };
}

/** A dashboard over a fresh, initialised, seeded backend. */
export async function seededDashboard(
  createBackend: (clock: () => number) => Backend | Promise<Backend>,
  extra: Partial<DashboardOptions> = {},
) {
  const clock = manualClock();
  const backend = await createBackend(clock.now);
  await initBackend(backend);
  const seeded = await seed(backend, clock.now());
  const dashboard = createDashboard({ ...backend, readOnly: false, ...extra });
  return { backend, clock, seeded, dashboard };
}
