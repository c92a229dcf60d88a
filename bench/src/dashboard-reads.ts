/**
 * Latency of the dashboard's read endpoints over a large backend, called through the handler (no HTTP).
 *
 *   npx tsx bench/src/dashboard-reads.ts [memory|sqlite|redis|postgres] [jobs=1000000] [iterations=50]
 *
 * Seeds `jobs` jobs over 8 queues and 12 types: ~5 % completed or failed with an execution record each, ~1 % active,
 * the rest waiting or scheduled; 30 days of metric events (hour-spread, plus a dense last hour) and 20 workers.
 * Prints p50/p95 per endpoint and flags any p95 over the 50 ms target. Results are not pass/fail in any test.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
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

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const PG_SCHEMA = 'bench_dashboard_reads';

/** A backend to measure and how to remove what the run left behind (a file, a key prefix, a schema). */
interface BenchBackend {
  backend: Backend;
  describe: string;
  cleanup: () => Promise<void>;
}

async function dropPgSchema(): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${PG_SCHEMA} CASCADE`);
  } finally {
    await client.end();
  }
}

async function createBackend(name: string): Promise<BenchBackend> {
  // Dynamic imports: a memory run must not need the other adapters (or their servers).
  switch (name) {
    case 'memory':
      return { backend: createMemoryBackend(), describe: 'in-process', cleanup: async () => {} };
    case 'sqlite': {
      const { createSqliteBackend } = await import('@conveyor/sqlite');
      const dir = await mkdtemp(join(tmpdir(), 'conveyor-dashboard-reads-'));
      const file = join(dir, 'queue.db');
      return {
        backend: createSqliteBackend({ connection: file }),
        describe: `file ${file}`,
        cleanup: () => rm(dir, { recursive: true, force: true }),
      };
    }
    case 'redis': {
      const { createRedisBackend } = await import('@conveyor/redis');
      const prefix = `bench-dashboard-${randomBytes(4).toString('hex')}`;
      return {
        backend: createRedisBackend({ connection: REDIS_URL, prefix, connectionName: 'conveyor-bench-dashboard' }),
        describe: `${REDIS_URL} prefix ${prefix}`,
        cleanup: async () => {
          const { Redis } = await import('ioredis');
          const client = new Redis(REDIS_URL);
          try {
            let cursor = '0';
            do {
              const [next, keys] = await client.scan(cursor, 'MATCH', `{${prefix}*`, 'COUNT', 1000);
              cursor = next;
              if (keys.length > 0) await client.unlink(...keys);
            } while (cursor !== '0');
          } finally {
            client.disconnect();
          }
        },
      };
    }
    case 'postgres': {
      const { createPostgresBackend } = await import('@conveyor/postgres');
      await dropPgSchema();
      return {
        backend: createPostgresBackend({ connectionString: DATABASE_URL, schema: PG_SCHEMA, poolSize: 8 }),
        describe: `${DATABASE_URL.replace(/\/\/[^@]*@/, '//')} schema ${PG_SCHEMA}`,
        cleanup: dropPgSchema,
      };
    }
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
    // Runtime-sized batches: the runtime flushes a few hundred events at a time, and @conveyor/redis overflows the
    // call stack spreading the script arguments of a ~20k-event batch.
    if (events.length >= 256) await metrics.record(events.splice(0));
  }
  for (let m = 0; m < 120; m++) {
    for (const q of QUEUES)
      events.push({ kind: 'completed', queue: q, type: 'send', at: now - m * 60_000, durationMs: 30 + m });
  }
  for (let i = 0; i < events.length; i += 256) await metrics.record(events.slice(i, i + 256));
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
  const { backend, describe, cleanup } = await createBackend(backendName);
  try {
    await initBackend(backend);
    await measure(backend, backendName, describe, jobs, iterations);
  } finally {
    await closeBackend(backend).catch(() => {});
    await cleanup();
  }
}

async function measure(
  backend: Backend,
  backendName: string,
  describe: string,
  jobs: number,
  iterations: number,
): Promise<void> {
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
    `dashboard reads — backend=${backendName} (${describe}) jobs=${jobs} iterations=${iterations} seed=${seedSeconds.toFixed(1)}s rss=${rss}MB`,
  );
  console.log(
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'} × ${cpus().length}, node ${process.version}, load average ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}, ${new Date().toISOString()}`,
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
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
