import { createMemoryBackend, type JobContext, Queue, Worker } from '@conveyor/core';
import { expect, it } from 'vitest';

// Handlers commonly destructure their context: `async (job, { signal, updateProgress }) => …`. The demo's report
// handler did, and every progress call failed with "Cannot read properties of undefined" until the context's
// members were bound.
it('lets a worker handler destructure updateProgress from its context', async () => {
  const backend = createMemoryBackend();
  const queue = new Queue('reports', { backend });
  const { job } = await queue.enqueue('build', {});
  const worker = new Worker(
    'reports',
    async (_job, { updateProgress, signal }: JobContext) => {
      expect(signal.aborted).toBe(false);
      await updateProgress(50);
      await updateProgress(100);
      return 'done';
    },
    { backend },
  );
  await worker.start();
  await expect.poll(async () => (await backend.queue.getJob(job.id))?.state, { timeout: 5000 }).toBe('completed');
  expect((await backend.queue.getJob(job.id))?.progress).toBe(100);
  await worker.close();
});

it('lets an inline runNow handler destructure updateProgress', async () => {
  const queue = new Queue('reports', { backend: createMemoryBackend() });
  const outcome = await queue.runNow('build', {}, async (_job, { updateProgress }: JobContext) => {
    await updateProgress(10);
    return 'ok';
  });
  expect(outcome.result).toBe('ok');
});
