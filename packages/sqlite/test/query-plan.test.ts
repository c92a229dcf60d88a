import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteBackend, type SqliteBackend } from '../src/index';
import { tempDir } from './helpers';

/**
 * Proves with `EXPLAIN QUERY PLAN` that no statement the adapter prepares reads the whole jobs table. The test wraps
 * `prepare` on the connection, drives every method once over a populated store, then asks SQLite for the plan of
 * each statement it saw that touches `conveyor_jobs`.
 */

let tmp: ReturnType<typeof tempDir>;
let db: Database.Database;
let backend: SqliteBackend;
const prepared = new Set<string>();

beforeEach(() => {
  tmp = tempDir();
  db = new Database(tmp.file());
  const prepare = db.prepare.bind(db);
  prepared.clear();
  db.prepare = ((sql: string) => {
    prepared.add(sql);
    return prepare(sql);
  }) as typeof db.prepare;
  backend = createSqliteBackend({ connection: db });
});

afterEach(async () => {
  await backend.queue.close();
  await backend.storage.close();
  await backend.metrics.close();
  await backend.events.close();
  db.close();
  tmp.cleanup();
});

function planOf(sql: string): string[] {
  const params = (sql.match(/\?/g) ?? []).map(() => 1);
  const rows = db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as Array<{ detail: string }>;
  return rows.map((r) => r.detail);
}

/** A plan line that reads every row of the jobs table, or sorts every match of a filter. */
function fullReads(plan: string[]): string[] {
  return plan.filter((line) => /^SCAN conveyor_jobs\b/.test(line) || /USE TEMP B-TREE/.test(line));
}

async function driveEveryMethod(): Promise<void> {
  const q = backend.queue;
  await q.init();
  const jobs = Array.from({ length: 200 }, (_, i) => ({
    queue: i % 2 === 0 ? 'a' : 'b',
    type: i % 3 === 0 ? 'x' : 'y',
    payload: { i },
    priority: i % 5,
    uniqueKey: i % 7 === 0 ? `k${i}` : null,
    removeOnComplete: i % 4 === 0 ? { count: 10, ageMs: 1000 } : false,
    removeOnFail: i % 4 === 1,
  }));
  await q.enqueueMany(jobs);
  await q.enqueue({ queue: 'a', type: 'x', payload: null, delayMs: 60_000 });
  await q.enqueue({ queue: 'a', type: 'x', payload: null, id: 'fixed' });
  await q.enqueue({ queue: 'a', type: 'x', payload: null, id: 'fixed' });
  await q.enqueue({ queue: 'a', type: 'x', payload: null, uniqueKey: 'k0' });
  const claimed = await q.claim({ queues: ['a', 'b'], workerId: 'w', limit: 20, leaseMs: 1 });
  await q.claim({ queues: ['a'], workerId: 'w', limit: 5, leaseMs: 60_000, types: ['x'] });
  await q.extendLeases([{ jobId: claimed[0]!.id, token: claimed[0]!.token }], 1);
  await q.updateProgress({ jobId: claimed[0]!.id, token: claimed[0]!.token }, 50);
  await q.complete(claimed.slice(0, 8).map((c) => ({ jobId: c.id, token: c.token, result: 1 })));
  await q.fail(
    claimed.slice(8, 12).map((c, i) => ({
      jobId: c.id,
      token: c.token,
      error: { message: 'x', code: null, stack: null },
      retryDelayMs: i % 2 === 0 ? null : 1000,
    })),
  );
  await q.release(claimed.slice(12, 14).map((c) => ({ jobId: c.id, token: c.token })));
  await new Promise((r) => setTimeout(r, 5));
  await q.recoverStalled();
  await q.getJob(claimed[0]!.id);
  for (const filter of [
    {},
    { queue: 'a' },
    { state: 'waiting' as const },
    { type: 'x' },
    { queue: 'a', state: 'completed' as const },
    { queue: 'a', type: 'x' },
  ]) {
    const page = await q.listJobs({ ...filter, limit: 5 });
    if (page.nextCursor !== null) await q.listJobs({ ...filter, limit: 5, cursor: page.nextCursor });
  }
  await q.counts();
  await q.counts('a');
  await q.listQueues();
  const waiting = (await q.listJobs({ queue: 'b', state: 'waiting', limit: 3 })).items;
  await q.cancel(waiting[0]!.id);
  await q.retry(waiting[0]!.id);
  await q.remove(waiting[1]!.id);
  const scheduled = (await q.listJobs({ state: 'scheduled', limit: 1 })).items;
  await q.promote(scheduled[0]!.id);
  await q.retryFailed('a', 10);
  await q.clean({ queue: 'a', state: 'completed', olderThanMs: 0, limit: 5 });
  await q.pause('b');
  await q.isPaused('b');
  await q.resume('b');
  await q.upsertSchedule({
    name: 's',
    cron: '* * * * *',
    timezone: 'UTC',
    job: { queue: 'a', type: 'x', payload: 1 },
    nextRunAt: null,
    paused: false,
  });
  await q.fireSchedule('s', 1, 2, { queue: 'a', type: 'x', payload: 1 });
}

describe('query plans', () => {
  it('never scans the jobs table or sorts a whole filter, for any statement the adapter prepares', async () => {
    await driveEveryMethod();
    const touchingJobs = [...prepared].filter((sql) => /conveyor_jobs\b/.test(sql) && !/^\s*CREATE/i.test(sql));
    expect(touchingJobs.length).toBeGreaterThan(25);
    const offenders = touchingJobs.map((sql) => ({ sql, bad: fullReads(planOf(sql)) })).filter((x) => x.bad.length > 0);
    expect(offenders).toEqual([]);
  });

  it('claims by walking the ready index in claim order', async () => {
    await driveEveryMethod();
    const claim = [...prepared].find((sql) => sql.includes('INDEXED BY conveyor_jobs_ready'));
    expect(claim).toBeDefined();
    const plan = planOf(claim as string).join('\n');
    expect(plan).toMatch(/SEARCH conveyor_jobs USING (COVERING )?INDEX conveyor_jobs_ready \(queue=\?/);
    expect(plan).not.toMatch(/TEMP B-TREE/);
  });

  it('counts by state from the counters table, not from jobs', async () => {
    await driveEveryMethod();
    const countSql = [...prepared].filter((sql) => /FROM conveyor_counts/.test(sql) && /SELECT/.test(sql));
    expect(countSql.length).toBeGreaterThan(0);
    for (const sql of countSql) expect(sql).not.toMatch(/conveyor_jobs/);
    // The counters agree with a real count (done here in the test, never by the adapter).
    const real = db
      .prepare('SELECT queue, state, count(*) AS n FROM conveyor_jobs GROUP BY queue, state')
      .all() as Array<{
      queue: string;
      state: string;
      n: number;
    }>;
    const counts = await backend.queue.counts();
    for (const r of real) expect(counts[r.queue]?.[r.state as 'waiting']).toBe(r.n);
    const total = Object.values(counts).reduce((s, c) => s + Object.values(c).reduce((a, b) => a + b, 0), 0);
    expect(total).toBe(real.reduce((s, r) => s + r.n, 0));
  });

  it('lists every filter combination from the list index alone (keys first, then the page rows)', async () => {
    await backend.queue.init();
    // Generated ids are keyed by seq in conveyor_jobs_list, caller ids by the id in conveyor_jobs_list_custom.
    const GEN =
      'SELECT created_at, seq FROM conveyor_jobs INDEXED BY conveyor_jobs_list WHERE queue = ? AND type = ? AND state_code = ? AND custom_id IS NULL';
    const CUS =
      'SELECT created_at, custom_id, seq FROM conveyor_jobs INDEXED BY conveyor_jobs_list_custom WHERE queue = ? AND type = ? AND state_code = ? AND custom_id IS NOT NULL';
    const cases: Array<[string, RegExp]> = [
      [
        `${GEN} ORDER BY created_at DESC, seq DESC LIMIT 5`,
        /SEARCH conveyor_jobs USING COVERING INDEX conveyor_jobs_list \(queue=\? AND type=\? AND state_code=\?\)/,
      ],
      [
        `${GEN} AND (created_at, seq) < (?, ?) ORDER BY created_at DESC, seq DESC LIMIT 5`,
        /SEARCH conveyor_jobs USING COVERING INDEX conveyor_jobs_list \(queue=\? AND type=\? AND state_code=\? AND created_at<\?\)/,
      ],
      [
        `${CUS} ORDER BY created_at DESC, custom_id DESC LIMIT 5`,
        /SEARCH conveyor_jobs USING COVERING INDEX conveyor_jobs_list_custom \(queue=\? AND type=\? AND state_code=\?\)/,
      ],
      [
        `${CUS} AND (created_at, custom_id) < (?, ?) ORDER BY created_at DESC, custom_id DESC LIMIT 5`,
        /SEARCH conveyor_jobs USING COVERING INDEX conveyor_jobs_list_custom \(queue=\? AND type=\? AND state_code=\? AND \(created_at,custom_id\)<\(\?,\?\)\)/,
      ],
    ];
    for (const [sql, expected] of cases) {
      const plan = planOf(sql);
      expect(plan.join('\n')).toMatch(expected);
      expect(plan.join('\n')).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('reads metrics by primary-key ranges of one (queue, type) each, never a whole granularity', async () => {
    const m = backend.metrics;
    const now = Date.now();
    await m.record([
      { kind: 'completed', queue: 'a', type: 'x', at: now, durationMs: 3 },
      { kind: 'started', queue: 'b', type: 'y', at: now - 3_600_000, waitMs: 40 },
    ]);
    for (const granularity of ['minute', 'hour', 'day'] as const) {
      const base = { granularity, from: now - 86_400_000, to: now + 1 };
      for (const filter of [{}, { queue: 'a' }, { type: 'x' }, { queue: 'a', type: 'x' }]) {
        await m.series({ ...base, ...filter });
        for (const groupBy of [undefined, 'queue' as const, 'type' as const])
          await m.totals({ ...base, ...filter, groupBy });
      }
    }
    await m.prune(now);
    const reads = [...prepared].filter(
      (sql) => /conveyor_metric_buckets/.test(sql) && !/^\s*(CREATE|INSERT)/i.test(sql),
    );
    expect(reads.length).toBeGreaterThan(3);
    for (const sql of reads) {
      const lines = planOf(sql).filter((line) => / (m|conveyor_metric_buckets)\b/.test(line));
      expect(lines.length, sql).toBeGreaterThan(0);
      for (const line of lines)
        expect(line, sql).toMatch(/USING PRIMARY KEY \(granularity=\? AND queue=\? AND type=\? AND bucket/);
    }
  });
});
