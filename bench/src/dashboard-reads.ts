/**
 * Latency of the dashboard's read endpoints over a large backend, called through the handler (no HTTP).
 *
 *   npx tsx bench/src/dashboard-reads.ts [memory|sqlite|redis|postgres] [jobs=1000000] [iterations=50]
 *
 * Seeds `jobs` jobs over 8 queues and 12 types: ~5 % completed or failed with an execution record each, ~1 % active,
 * the rest waiting or scheduled; 30 days of metric events (hour-spread, plus a dense last hour) and 20 workers.
 * Prints p50/p95 per endpoint and flags any p95 over the 50 ms target. Results are not pass/fail in any test.
 */
import { performance } from 'node:perf_hooks';
import {
  type Backend,
  closeBackend,
  createDashboard,
  createMemoryBackend,
  type ExecutionRecord,
  initBackend,
  type MetricEvent,
  type NewJob,
} from '@conveyor/core';

const TARGET_P95_MS = 50;
const QUEUES = ['emails', 'reports', 'billing', 'images', 'webhooks', 'search', 'exports', 'sync'];
const TYPES = [
  'send',
  'digest',
  'build',
  'charge',
  'refund',
  'resize',
  'deliver',
  'index',
  'export',
  'pull',
  'push',
  'noop',
];

async function createBackend(name: string): Promise<Backend> {
  // Dynamic imports: the other adapter packages are optional here and may not exist yet in every checkout.
  const load = async (pkg: string, factory: string): Promise<Backend> => {
    const mod = (await import(pkg)) as Record<string, unknown>;
    const create = mod[factory];
    if (typeof create !== 'function') throw new Error(`${pkg} has no ${factory}()`);
    return (await (create as (o?: unknown) => Backend | Promise<Backend>)()) as Backend;
  };
  switch (name) {
    case 'memory':
      return createMemoryBackend();
    case 'sqlite':
      return load('@conveyor/sqlite', 'createSqliteBackend');
    case 'redis':
      return load('@conveyor/redis', 'createRedisBackend');
    case 'postgres':
      return load('@conveyor/postgres', 'createPostgresBackend');
    default:
      throw new Error(`unknown backend "${name}": use memory, sqlite, redis or postgres`);
  }
}

function pick<T>(items: readonly T[], i: number): T {
  return items[i % items.length] as T;
}

async function seed(backend: Backend, jobs: number): Promise<{ sampleJobId: string }> {
  const { queue, storage, metrics } = backend;
  const now = await queue.now();
  const batch = 5_000;
  let sampleJobId = '';
  for (let start = 0; start < jobs; start += batch) {
    const items: NewJob[] = [];
    for (let i = start; i < Math.min(jobs, start + batch); i++) {
      items.push({
        queue: pick(QUEUES, i),
        type: pick(TYPES, i * 7),
        payload: { n: i, user: `user-${i % 10_000}@example.com`, tags: ['a', 'b'] },
        ...(i % 20 === 19 ? { delayMs: 3_600_000 } : {}),
      });
    }
    await queue.enqueueMany(items);
    if (start % 200_000 === 0) process.stderr.write(`  seeded ${start} jobs\n`);
  }
  // Finish ~5 % (completed / failed) with an execution record each, leave ~1 % active.
  const finish = Math.floor(jobs * 0.05);
  const hold = Math.floor(jobs * 0.01);
  const records: ExecutionRecord[] = [];
  for (const q of QUEUES) {
    const workerId = `worker-${q}`;
    let done = 0;
    while (done < finish / QUEUES.length) {
      const claimed = await queue.claim({ queues: [q], workerId, limit: 500, leaseMs: 3_600_000 });
      if (claimed.length === 0) break;
      const ok = claimed.filter((_, i) => i % 10 !== 0);
      const bad = claimed.filter((_, i) => i % 10 === 0);
      await queue.complete(ok.map((j) => ({ jobId: j.id, token: j.token, result: { ok: true } })));
      await queue.fail(
        bad.map((j) => ({
          jobId: j.id,
          token: j.token,
          error: { message: 'boom', code: 'E', stack: null },
          retryDelayMs: null,
        })),
      );
      for (const j of claimed) {
        records.push({
          id: `x-${j.id}`,
          jobId: j.id,
          queue: j.queue,
          type: j.type,
          attempt: 1,
          status: bad.includes(j) ? 'failed' : 'success',
          startedAt: now - 1000,
          finishedAt: now - 900,
          durationMs: 100,
          workerId,
          result: null,
          error: null,
        });
        sampleJobId = j.id;
      }
      done += claimed.length;
      if (records.length >= 10_000) await storage.recordExecutions(records.splice(0));
    }
    await queue.claim({ queues: [q], workerId, limit: Math.ceil(hold / QUEUES.length), leaseMs: 3_600_000 });
  }
  await storage.recordExecutions(records);
  for (let w = 0; w < 20; w++) {
    await storage.registerWorker({
      id: `w${w}`,
      host: `host-${w % 4}`,
      pid: 1000 + w,
      queues: [pick(QUEUES, w), pick(QUEUES, w + 3)],
      concurrency: 10,
      startedAt: now - 86_400_000,
    });
    await storage.heartbeatWorker(`w${w}`, {
      activeJobs: 5,
      executions: 1000,
      succeeded: 950,
      failed: 50,
      totalDurationMs: 100_000,
    });
  }
  // 30 days of metrics: one event per (queue, type pair, hour) over 30 days, plus one per minute in the last 2 hours.
  const events: MetricEvent[] = [];
  for (let h = 0; h < 30 * 24; h++) {
    const at = now - h * 3_600_000;
    for (let p = 0; p < QUEUES.length; p++) {
      const q = pick(QUEUES, p);
      const type = pick(TYPES, p * 7);
      events.push({ kind: 'enqueued', queue: q, type, at, count: 100 });
      events.push({ kind: 'started', queue: q, type, at, waitMs: 20 + (h % 50), count: 100 });
      events.push({ kind: 'completed', queue: q, type, at, durationMs: 50 + (h % 300), count: 95 });
      events.push({ kind: 'failed', queue: q, type, at, durationMs: 400, count: 5 });
    }
    if (events.length > 20_000) await metrics.record(events.splice(0));
  }
  for (let m = 0; m < 120; m++) {
    for (const q of QUEUES)
      events.push({ kind: 'completed', queue: q, type: 'send', at: now - m * 60_000, durationMs: 30 + m });
  }
  await metrics.record(events);
  return { sampleJobId };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] as number;
}

async function main(): Promise<void> {
  const backendName = process.argv[2] ?? 'memory';
  const jobs = Number(process.argv[3] ?? 1_000_000);
  const iterations = Number(process.argv[4] ?? 50);
  const backend = await createBackend(backendName);
  await initBackend(backend);
  const seedStart = performance.now();
  const { sampleJobId } = await seed(backend, jobs);
  const seedSeconds = (performance.now() - seedStart) / 1000;
  const dashboard = createDashboard({ ...backend });
  const id = encodeURIComponent(sampleJobId);
  const endpoints = [
    '/api/overview',
    '/api/stats?period=1h',
    '/api/stats?period=6h',
    '/api/stats?period=24h',
    '/api/stats?period=7d',
    '/api/stats?period=30d',
    '/api/stats/live',
    '/api/queues',
    '/api/queues/emails',
    '/api/jobs?state=waiting&limit=20',
    '/api/jobs?queue=reports&state=completed&limit=100',
    '/api/jobs?type=send&limit=20',
    `/api/jobs/${id}`,
    `/api/jobs/${id}/logs`,
    `/api/jobs/${id}/logs/summary`,
    '/api/logs/recent?limit=100',
    '/api/workers',
    '/api/metrics?period=24h',
    '/api/metrics?period=7d&queue=emails',
    '/api/health',
    '/metrics',
  ];
  const rows: Array<{ endpoint: string; p50: number; p95: number; max: number }> = [];
  for (const path of endpoints) {
    const url = `http://bench.local${path}`;
    for (let i = 0; i < 3; i++) await (await dashboard(new Request(url))).arrayBuffer();
    const times: number[] = [];
    for (let i = 0; i < iterations; i++) {
      const t0 = performance.now();
      const res = await dashboard(new Request(url));
      await res.arrayBuffer();
      times.push(performance.now() - t0);
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    }
    times.sort((a, b) => a - b);
    rows.push({ endpoint: path, p50: quantile(times, 0.5), p95: quantile(times, 0.95), max: times.at(-1) ?? 0 });
  }
  const rss = Math.round(process.memoryUsage().rss / 1_048_576);
  console.log(
    `dashboard reads — backend=${backendName} jobs=${jobs} iterations=${iterations} seed=${seedSeconds.toFixed(1)}s rss=${rss}MB`,
  );
  console.log('endpoint'.padEnd(56), 'p50 ms'.padStart(9), 'p95 ms'.padStart(9), 'max ms'.padStart(9));
  for (const r of rows) {
    const flag = r.p95 > TARGET_P95_MS ? '  <-- over target' : '';
    console.log(
      r.endpoint.slice(0, 55).padEnd(56),
      r.p50.toFixed(2).padStart(9),
      r.p95.toFixed(2).padStart(9),
      r.max.toFixed(2).padStart(9) + flag,
    );
  }
  await closeBackend(backend);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
