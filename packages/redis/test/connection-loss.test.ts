import { randomBytes } from 'node:crypto';
import { closeBackend, initBackend, Worker } from '@conveyor/core';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedisBackend } from '../src/index';
import { deleteKeys, REDIS_URL, redisAvailable, skippedTitle, testPrefix } from './helpers';

const availability = await redisAvailable();

/** Kill every connection named `name` (ours only: the name is random per test run). Returns how many. */
async function killClientsNamed(admin: Redis, name: string): Promise<number> {
  const list = (await admin.client('LIST')) as string;
  let killed = 0;
  for (const line of list.split('\n')) {
    const id = /(?:^| )id=(\d+)/.exec(line)?.[1];
    const clientName = /(?:^| )name=(\S*)/.exec(line)?.[1];
    if (id !== undefined && clientName === name) {
      killed += Number(await admin.client('KILL', 'ID', id));
    }
  }
  return killed;
}

async function until(probe: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe.runIf(availability.ok)('connection loss: a worker survives CLIENT KILL mid-run', () => {
  const prefix = testPrefix('connloss');
  afterAll(() => deleteKeys(prefix).then(() => undefined));

  it('finishes the job in hand exactly once and resumes claiming by itself within 5 s', async () => {
    const connectionName = `conveyor-test-ck-${randomBytes(4).toString('hex')}`;
    const workerBackend = createRedisBackend({ connection: REDIS_URL, prefix, connectionName });
    // The test's own view of the store, on connections the kill does not touch.
    const observer = createRedisBackend({ connection: REDIS_URL, prefix, connectionName: `${connectionName}-obs` });
    const admin = new Redis(REDIS_URL);
    const runs = new Map<string, number>();
    let releaseFirst!: () => void;
    const firstMayFinish = new Promise<void>((resolve) => {
      releaseFirst = resolve;
    });
    let firstStarted!: () => void;
    const firstRunning = new Promise<void>((resolve) => {
      firstStarted = resolve;
    });
    const worker = new Worker(
      'ck',
      async (job) => {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        if (job.id === 'in-hand') {
          firstStarted();
          await firstMayFinish;
        }
      },
      { backend: workerBackend, concurrency: 4 },
    );
    try {
      await initBackend(observer);
      await observer.queue.enqueue({ id: 'in-hand', queue: 'ck', type: 't', payload: null });
      await worker.start();
      await firstRunning;

      const killed = await killClientsNamed(admin, connectionName);
      // The command connection, plus the event reader the worker subscribes with.
      expect(killed).toBeGreaterThanOrEqual(1);
      const killedAt = Date.now();
      releaseFirst();

      await until(
        async () => (await observer.queue.getJob('in-hand'))?.state === 'completed',
        10_000,
        'the job in hand to be acknowledged after the reconnect',
      );
      await observer.queue.enqueue({ id: 'after-kill', queue: 'ck', type: 't', payload: null });
      await until(
        async () => (await observer.queue.getJob('after-kill'))?.state === 'completed',
        Math.max(0, killedAt + 5000 - Date.now()),
        'a job enqueued after the kill to be claimed and completed within 5 s of the kill',
      );
      expect(runs.get('in-hand')).toBe(1);
      expect(runs.get('after-kill')).toBe(1);
      const counts = (await observer.queue.counts('ck')).ck;
      expect(counts?.active).toBe(0);
      expect(counts?.completed).toBe(2);
    } finally {
      releaseFirst();
      await worker.close({ timeoutMs: 1000 });
      await closeBackend(workerBackend);
      await closeBackend(observer);
      admin.disconnect();
    }
  }, 30_000);
});

if (!availability.ok)
  describe(skippedTitle('connection loss', availability.reason), () => {
    it.skip('CLIENT KILL test', () => {});
  });
