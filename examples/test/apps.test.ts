import { createMemoryBackend } from '@conveyor/core';
import { startExample } from '@conveyor-examples/shared';
import { describe, expect, it } from 'vitest';
import { mountExpress } from '../express/src/app';
import { mountFastify } from '../fastify/src/app';
import { mountHono } from '../hono/src/app';
import { mountKoa } from '../koa/src/app';

// Each framework example boots as its README says (here on port 0 and the memory backend), runs jobs through its
// workers, and serves the dashboard API and UI under /dashboard.
describe.each([
  ['express', mountExpress],
  ['fastify', mountFastify],
  ['koa', mountKoa],
  ['hono', mountHono],
])('examples/%s', (_name, mount) => {
  it('processes jobs and serves the dashboard at /dashboard', async () => {
    const example = await startExample(mount, { port: 0, backend: createMemoryBackend(), generate: false });
    try {
      const { job } = await example.runtime.emails.enqueue('send-invoice', {
        to: 'ada@example.com',
        invoiceId: 'inv_1',
        amountCents: 1200,
      });
      await expect
        .poll(async () => (await example.backend.queue.getJob(job.id))?.state, { timeout: 5000 })
        .toBe('completed');
      const overview = await fetch(`${example.url}/api/overview`);
      expect(overview.status).toBe(200);
      const html = await fetch(`${example.url}/`);
      expect(html.status).toBe(200);
      expect(html.headers.get('content-security-policy')).toContain("script-src 'nonce-");
      const queues = (await (await fetch(`${example.url}/api/queues`)).json()) as { data: Array<{ name: string }> };
      expect(queues.data.map((q) => q.name).sort()).toEqual(expect.arrayContaining(['emails']));
    } finally {
      await example.close();
    }
  });
});
