import { readFileSync, writeFileSync } from 'node:fs';
import { closeBackend, Queue } from '@conveyor/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteBackend } from '../src/index';
import { type Child, spawnFixture, tempDir } from './helpers';

/**
 * Real processes, real SIGKILLs. Three workers share one WAL file; the test kills one of them mid-job five times
 * (rotating), restarting each, while 2,000 jobs go through. Leases are 1.5 s and every worker sweeps for stalled jobs
 * every 250 ms, so the jobs of a killed worker come back quickly.
 *
 * "In flight at a kill" is read from the store right after the child died: the jobs still `active` under the dead
 * worker's id. Nothing can change that set before its leases expire, and the next sweep is at least 1.5 s away.
 */
const JOBS = 2000;
const KILLS = 5;

const tmp = tempDir('conveyor-sqlite-crash-');
const children: Child[] = [];
afterAll(() => {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.proc.kill('SIGKILL');
  tmp.cleanup();
});

describe('crash safety across processes', () => {
  it('finishes every job after repeated SIGKILLs; only jobs in flight at a kill run twice', async () => {
    const dbFile = tmp.file();
    const backend = createSqliteBackend({ connection: dbFile });
    await backend.queue.init();
    const queue = new Queue('crash', { backend });
    for (let i = 0; i < JOBS; i += 500) {
      await queue.enqueueBulk(Array.from({ length: 500 }, (_, j) => ({ type: 'work', payload: { n: i + j } })));
    }
    const observer = new Database(dbFile, { readonly: true });
    observer.pragma('busy_timeout = 5000');
    const inFlightAt = observer
      .prepare("SELECT id FROM conveyor_jobs WHERE state = 'active' AND worker_id = ?")
      .pluck();

    let incarnation = 0;
    const runsFiles: string[] = [];
    const start = (slot: number): { child: Child; workerId: string } => {
      const workerId = `crash-w${slot}-i${++incarnation}`;
      const runs = tmp.file(`runs-${workerId}.log`);
      writeFileSync(runs, '');
      runsFiles.push(runs);
      const child = spawnFixture('crash-worker.ts', [dbFile, runs, workerId]);
      children.push(child);
      return { child, workerId };
    };
    const slots = [0, 1, 2].map(start);
    await Promise.all(slots.map((s) => s.child.waitFor((l) => l === 'ready', 30_000)));

    const snapshots: string[][] = [];
    for (let k = 0; k < KILLS; k++) {
      const slot = k % 3;
      const victim = slots[slot] as { child: Child; workerId: string };
      await victim.child.waitFor((l) => l === 'ready', 30_000);
      // Let it get into its stride, then kill it while handlers run: on a loaded machine a worker can be between
      // batches at any given moment, so wait (bounded) until the store shows it holding jobs.
      await new Promise((r) => setTimeout(r, 400 + Math.floor(Math.random() * 300)));
      const busyBy = Date.now() + 10_000;
      while ((inFlightAt.all(victim.workerId) as string[]).length === 0 && Date.now() < busyBy) {
        await new Promise((r) => setTimeout(r, 5));
      }
      victim.child.proc.kill('SIGKILL');
      await victim.child.exited;
      snapshots.push(inFlightAt.all(victim.workerId) as string[]);
      slots[slot] = start(slot);
    }

    const deadline = Date.now() + 90_000;
    let counts = (await backend.queue.counts('crash')).crash;
    while (counts !== undefined && counts.completed < JOBS && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 200));
      counts = (await backend.queue.counts('crash')).crash;
    }
    for (const s of slots) s.child.proc.kill('SIGTERM');
    await Promise.all(slots.map((s) => s.child.exited));

    // Every kill hit a worker with handlers in flight.
    for (const snapshot of snapshots) expect(snapshot.length).toBeGreaterThan(0);

    // Every job ended completed, none lost, none left active; counters agree with the rows.
    expect(counts).toEqual({
      waiting: 0,
      scheduled: 0,
      retrying: 0,
      active: 0,
      completed: JOBS,
      failed: 0,
      cancelled: 0,
    });
    const byState = observer.prepare('SELECT state, count(*) AS n FROM conveyor_jobs GROUP BY state').all();
    expect(byState).toEqual([{ state: 'completed', n: JOBS }]);

    // Runs: every job at least once; more than once only if it was in flight at a kill, at most once per such kill.
    const runs = new Map<string, number>();
    for (const file of runsFiles) {
      for (const id of readFileSync(file, 'utf8').split('\n')) if (id !== '') runs.set(id, (runs.get(id) ?? 0) + 1);
    }
    const ids = observer.prepare('SELECT id FROM conveyor_jobs').pluck().all() as string[];
    expect(ids).toHaveLength(JOBS);
    for (const id of ids) expect(runs.get(id) ?? 0).toBeGreaterThanOrEqual(1);
    const killsInFlight = new Map<string, number>();
    for (const snapshot of snapshots)
      for (const id of snapshot) killsInFlight.set(id, (killsInFlight.get(id) ?? 0) + 1);
    const extraRuns = [...runs].filter(([, n]) => n > 1);
    for (const [id, n] of extraRuns) expect(n - 1).toBeLessThanOrEqual(killsInFlight.get(id) ?? 0);
    expect(runs.size).toBe(JOBS);

    observer.close();
    await queue.close();
    await closeBackend(backend);
  }, 150_000);
});
