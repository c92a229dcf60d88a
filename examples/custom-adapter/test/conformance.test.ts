import { runConformanceSuite } from '@conveyor/adapters-conformance';
import { createMemoryBackend, Queue } from '@conveyor/core';
import { expect, it } from 'vitest';
import { namespaceBackend } from '../src/index';

// The namespaced wrapper passes the same suite as every built-in adapter. Each backend it wraps also holds a
// neighbour's job, so every check runs with another tenant's data present in the inner store.
runConformanceSuite({
  name: 'namespaced memory (examples/custom-adapter)',
  createBackend: async ({ clock }) => {
    const inner = createMemoryBackend({ clock: clock.now });
    const neighbour = namespaceBackend(inner, 'tenant-b');
    await neighbour.queue.enqueueMany([
      { queue: 'default', type: 'noise', payload: { n: 1 } },
      { queue: 'default', type: 'noise', payload: { n: 2 }, priority: 100 },
    ]);
    return namespaceBackend(inner, 'tenant-a');
  },
  modelRuns: 50,
  additionalTests: () => {
    it('keeps two namespaces sharing one backend apart', async () => {
      const inner = createMemoryBackend();
      const a = namespaceBackend(inner, 'a');
      const b = namespaceBackend(inner, 'b');
      const qa = new Queue('emails', { backend: a });
      const { job } = await qa.enqueue('send', { to: 'x' });
      expect((await a.queue.getJob(job.id))?.queue).toBe('emails');
      expect(await b.queue.getJob(job.id)).toBeNull();
      expect(await b.queue.counts()).toEqual({});
      expect((await b.queue.listJobs({ limit: 10 })).items).toEqual([]);
      expect(await b.queue.claim({ queues: ['emails'], workerId: 'w', limit: 10, leaseMs: 1000 })).toEqual([]);
      await expect(b.queue.remove(job.id)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      const inInner = (await inner.queue.listJobs({ limit: 10 })).items;
      expect(inInner.map((j) => j.queue)).toEqual(['a/emails']);
    });
  },
});
