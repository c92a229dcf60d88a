import { createDashboard, createMemoryBackend, initBackend } from '@conveyor/core';
import { describe, expect, it, vi } from 'vitest';
import { call } from './support';

describe('health checks', () => {
  it('share one check between concurrent callers and run a fresh one afterwards', async () => {
    const backend = createMemoryBackend();
    await initBackend(backend);
    const counts = vi.spyOn(backend.queue, 'counts');
    const dashboard = createDashboard({ ...backend });
    const answers = await Promise.all([
      call(dashboard, 'GET', '/api/health'),
      call(dashboard, 'GET', '/api/health'),
      call(dashboard, 'GET', '/api/overview'),
    ]);
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers[2]?.json.data.health).toBe(answers[0]?.json.status);
    // Three concurrent requests, one set of backend calls (the overview reads counts through listQueues).
    expect(counts).toHaveBeenCalledTimes(1);

    // Nothing is kept once answered: a later probe checks again and sees a failure at once.
    counts.mockRejectedValueOnce(new Error('down'));
    const down = await call(dashboard, 'GET', '/api/health');
    expect(down.status).toBe(503);
    expect(down.json.components.queue).toMatchObject({ status: 'unhealthy', error: 'INTERNAL' });
    expect(counts).toHaveBeenCalledTimes(2);
    expect((await call(dashboard, 'GET', '/api/health')).status).toBe(200);
  });
});
