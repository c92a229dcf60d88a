import { closeBackend, initBackend } from '@conveyor/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisBackend } from '../src/index';
import { type Child, deleteKeys, REDIS_URL, redisAvailable, skippedTitle, spawnFixture, testPrefix } from './helpers';

const availability = await redisAvailable();
const JOBS = 2000;
const KILLS = 5;

/**
 * Real processes, real SIGKILLs: three workers share one prefix; one is killed mid-job five times and restarted.
 * Every job must end completed; only jobs the killed worker held at the moment of a kill may run twice.
 */
describe.runIf(availability.ok)('crash: redis workers SIGKILLed mid-job', () => {
  const prefix = testPrefix('crash');
  const runsKey = `{${prefix}}:test-runs`;
  const children = new Set<Child>();

  afterAll(async () => {
    for (const c of children) c.proc.kill('SIGKILL');
    await Promise.all([...children].map((c) => c.exited));
    await deleteKeys(prefix);
  });

  const start = async (): Promise<{ child: Child; workerId: string }> => {
    const child = spawnFixture('crash-worker.ts', [REDIS_URL, prefix, runsKey]);
    children.add(child);
    const line = await child.waitFor((l) => l.startsWith('ready '), 30_000);
    return { child, workerId: line.slice('ready '.length) };
  };

  it('loses no job, leaves none active, and repeats only jobs in flight at a kill', async () => {
    const backend = createRedisBackend({ connection: REDIS_URL, prefix });
    const redis = new Redis(REDIS_URL);
    try {
      await initBackend(backend);
      const ids: string[] = [];
      for (let i = 0; i < JOBS; i += 500) {
        const batch = Array.from({ length: 500 }, (_, j) => ({
          queue: 'crash',
          type: 'record',
          payload: { n: i + j },
          maxAttempts: 20,
        }));
        for (const r of await backend.queue.enqueueMany(batch)) ids.push(r.job.id);
      }
      const workers = await Promise.all([start(), start(), start()]);
      const inFlightAtKills = new Set<string>();
      let kills = 0;
      for (let k = 0; k < KILLS; k++) {
        // Let some work happen, then kill the worker at slot k % 3 while it holds jobs.
        const target = Math.min((await redis.llen(runsKey)) + 120, JOBS - 200);
        const waitUntil = Date.now() + 30_000;
        while ((await redis.llen(runsKey)) < target && Date.now() < waitUntil) {
          await new Promise((r) => setTimeout(r, 20));
        }
        const slot = k % 3;
        const victim = workers[slot] as { child: Child; workerId: string };
        victim.child.proc.kill('SIGKILL');
        await victim.child.exited;
        children.delete(victim.child);
        kills++;
        // Within the lease, the store still shows what the dead worker held: that is the in-flight set.
        const active = await backend.queue.listJobs({ queue: 'crash', state: 'active', limit: 1000 });
        for (const job of active.items) if (job.workerId === victim.workerId) inFlightAtKills.add(job.id);
        workers[slot] = await start();
      }
      expect(kills).toBe(KILLS);

      const deadline = Date.now() + 60_000;
      let counts = (await backend.queue.counts('crash')).crash;
      while (counts?.completed !== JOBS && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 200));
        counts = (await backend.queue.counts('crash')).crash;
      }
      expect(counts).toEqual({
        waiting: 0,
        scheduled: 0,
        retrying: 0,
        active: 0,
        completed: JOBS,
        failed: 0,
        cancelled: 0,
      });

      const runs = await redis.lrange(runsKey, 0, -1);
      const perJob = new Map<string, number>();
      for (const id of runs) perJob.set(id, (perJob.get(id) ?? 0) + 1);
      const missing = ids.filter((id) => !perJob.has(id));
      expect(missing).toEqual([]);
      const repeated = [...perJob].filter(([, n]) => n > 1).map(([id]) => id);
      const unexplained = repeated.filter((id) => !inFlightAtKills.has(id));
      expect(unexplained).toEqual([]);
      // The kills did land mid-job: something was in flight at least once.
      expect(inFlightAtKills.size).toBeGreaterThan(0);
      for (const c of children) c.proc.kill('SIGTERM');
      await Promise.all([...children].map((c) => c.exited));
      children.clear();
    } finally {
      redis.disconnect();
      await closeBackend(backend);
    }
  }, 120_000);
});

if (!availability.ok)
  describe(skippedTitle('crash: redis workers', availability.reason), () => {
    it.skip('crash test', () => {});
  });
