import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { closeBackend, initBackend, type NewJob } from '@conveyor/core';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresBackend, type PostgresBackend } from '../src/index';
import { DATABASE_URL, describePg, dropSchema, testSchema } from './helpers';

const JOBS = 2000;
const WORKERS = 3;
const KILLS = 6;
const CHILD = fileURLToPath(new URL('./fixtures/crash-worker.ts', import.meta.url));

interface Child {
  proc: ChildProcess;
  pid: number;
  exited: Promise<void>;
}

function startChild(schema: string): Promise<Child> {
  const proc = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { ...process.env, DATABASE_URL, SCHEMA: schema, HOLD_MS: '150' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start in 30 s: ${stderr}`)), 30_000);
    proc.stdout?.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('ready')) {
        clearTimeout(timer);
        resolve({ proc, pid: proc.pid as number, exited });
      }
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited (${code}) before it was ready: ${stderr}`));
    });
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describePg('crash safety with real worker processes', () => {
  const schema = testSchema('crash');
  let backend: PostgresBackend;
  let db: pg.Pool;
  const children: Child[] = [];

  beforeAll(async () => {
    backend = createPostgresBackend({ connectionString: DATABASE_URL, schema, poolSize: 2 });
    await initBackend(backend);
    db = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
    await db.query(`CREATE TABLE "${schema}".runs (job_id text NOT NULL, pid integer NOT NULL)`);
  });

  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await Promise.all(children.map((c) => c.exited));
    await closeBackend(backend);
    await db.end();
    await dropSchema(schema);
  });

  it(`${JOBS} jobs, ${WORKERS} worker processes, ${KILLS} SIGKILLs mid-job: all complete, only in-flight jobs ran twice`, async () => {
    const jobs: NewJob[] = Array.from({ length: JOBS }, (_, i) => ({
      queue: 'crash',
      type: 'work',
      payload: { i },
      maxAttempts: 20,
    }));
    for (let i = 0; i < JOBS; i += 500) await backend.queue.enqueueMany(jobs.slice(i, i + 500));

    children.push(...(await Promise.all(Array.from({ length: WORKERS }, () => startChild(schema)))));
    const killed = new Set<number>();
    const restarts: Promise<void>[] = [];
    for (let k = 0; k < KILLS; k++) {
      // Kill a worker only while it holds a job whose run is recorded: a job truly in flight.
      let victim: Child | undefined;
      const pickBy = Date.now() + 30_000;
      while (victim === undefined) {
        const { rows } = await db.query<{ pid: number }>(
          `SELECT DISTINCT r.pid FROM "${schema}".runs r JOIN "${schema}".jobs j ON j.id = r.job_id
           WHERE j.state = 'active' AND j.worker_id LIKE '%:' || r.pid || ':%'`,
        );
        const busy = new Set(rows.map((r) => r.pid));
        victim = children.find((c) => busy.has(c.pid) && !killed.has(c.pid));
        if (victim === undefined) {
          if (Date.now() > pickBy) throw new Error(`no worker was busy within 30 s (kill ${k + 1})`);
          await sleep(20);
        }
      }
      victim.proc.kill('SIGKILL');
      killed.add(victim.pid);
      const index = children.indexOf(victim);
      restarts.push(
        victim.exited.then(async () => {
          children[index] = await startChild(schema);
        }),
      );
      await sleep(300);
    }
    await Promise.all(restarts);

    const deadline = Date.now() + 90_000;
    for (;;) {
      const { rows } = await db.query<{ n: string }>(
        `SELECT count(*) AS n FROM "${schema}".jobs WHERE state = 'completed'`,
      );
      if (Number(rows[0]?.n) === JOBS) break;
      if (Date.now() > deadline) throw new Error(`only ${rows[0]?.n} of ${JOBS} jobs completed in time`);
      await sleep(250);
    }

    const states = await db.query<{ state: string; n: string }>(
      `SELECT state, count(*) AS n FROM "${schema}".jobs GROUP BY state`,
    );
    expect(states.rows.map((r) => [r.state, Number(r.n)])).toEqual([['completed', JOBS]]);

    // Every job ran at least once; a job that ran more than once did so only because a killed process held it.
    const runs = await db.query<{ job_id: string; pids: number[]; attempt: number }>(
      `SELECT r.job_id, array_agg(r.pid ORDER BY r.ctid) AS pids, j.attempt
       FROM "${schema}".runs r JOIN "${schema}".jobs j ON j.id = r.job_id GROUP BY r.job_id, j.attempt`,
    );
    expect(runs.rows.length).toBe(JOBS);
    const repeated = runs.rows.filter((r) => r.pids.length > 1);
    for (const r of repeated) {
      // All runs but the last were cut short by a kill.
      for (const pid of r.pids.slice(0, -1)) expect(killed.has(pid)).toBe(true);
      expect(r.attempt).toBeGreaterThanOrEqual(r.pids.length);
    }
    // At most the in-flight jobs of each killed worker (concurrency 8) ran again.
    expect(repeated.length).toBeLessThanOrEqual(KILLS * 8);
    expect(repeated.length).toBeGreaterThan(0);

    const counts = await backend.queue.counts('crash');
    expect(counts['crash']).toMatchObject({ completed: JOBS, active: 0, waiting: 0, retrying: 0 });

    for (const c of children) c.proc.kill('SIGTERM');
    await Promise.all(children.map((c) => c.exited));
    children.length = 0;
  }, 180_000);
});
