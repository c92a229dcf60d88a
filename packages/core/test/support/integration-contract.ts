import type { Server } from 'node:http';
import { type Backend, createDashboard, createMemoryBackend, Queue } from '@conveyor/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

/**
 * The one contract every framework integration passes (bull-board's serverAdapterContract is the model): the same
 * checks at the root and under a prefix, through the framework's in-process tool where it has one and over a
 * real socket for streaming (SSE, WebSocket).
 */

type Dashboard = ReturnType<typeof createDashboard>;

/** A running app with the dashboard mounted at `basePath`. */
export interface MountedApp {
  /** Base URL of the listening server, e.g. `http://127.0.0.1:1234`. */
  url: string;
  /** The framework's in-process request tool, when it has one (`app.inject`, `app.request`, supertest). */
  inject?: (
    method: string,
    path: string,
    init?: { body?: string; headers?: Record<string, string> },
  ) => Promise<{
    status: number;
    headers: Record<string, string>;
    body: string;
  }>;
  close(): Promise<void>;
}

export interface IntegrationUnderTest {
  name: string;
  /**
   * Start the framework app with `dashboard` mounted at `basePath` ('' for the root) and listening on
   * 127.0.0.1:0 with the WebSocket endpoint attached. `parseBodies`: install the framework's JSON body parser
   * in front, to prove an already-parsed body still arrives.
   */
  mount(
    dashboard: Dashboard,
    basePath: string,
    options: { parseBodies: boolean },
  ): Promise<MountedApp & { server: Server }>;
}

async function fetchText(url: string, init?: RequestInit) {
  const res = await fetch(url, init);
  return { status: res.status, headers: res.headers, body: await res.text() };
}

/** Register the contract for one integration. */
export function runIntegrationContract(subject: IntegrationUnderTest): void {
  for (const basePath of ['', '/admin/queues']) {
    for (const parseBodies of [false, true]) {
      describe(`${subject.name} mounted at '${basePath || '/'}'${parseBodies ? ' behind a JSON body parser' : ''}`, () => {
        let backend: Backend;
        let app: MountedApp & { server: Server };
        let queue: Queue;
        const readOnlyApps: Array<MountedApp & { server: Server }> = [];

        beforeAll(async () => {
          backend = createMemoryBackend();
          queue = new Queue('emails', { backend });
          await queue.enqueue('send', { to: 'a@example.com' });
          app = await subject.mount(createDashboard({ ...backend, readOnly: false }), basePath, { parseBodies });
        });
        afterAll(async () => {
          await app?.close();
          for (const a of readOnlyApps) await a.close();
        });

        const url = (path: string) => `${app.url}${basePath}${path}`;

        it('reaches every read endpoint of the API', async () => {
          const job = (await queue.enqueue('send', { n: 1 })).job;
          const paths = [
            '/api/overview',
            '/api/stats?period=1h',
            '/api/stats/live',
            '/api/queues',
            '/api/queues/emails',
            '/api/jobs?state=waiting',
            `/api/jobs/${job.id}`,
            `/api/jobs/${job.id}/logs`,
            `/api/jobs/${job.id}/logs/summary`,
            '/api/logs/recent',
            '/api/workers',
            '/api/metrics?period=1h',
            '/api/openapi.json',
          ];
          for (const path of paths) {
            const res = await fetchText(url(path));
            expect(res.status, path).toBe(200);
            expect(JSON.parse(res.body), path).toBeTypeOf('object');
          }
          expect((await fetchText(url('/api/health'))).status).toBe(200);
          const metrics = await fetchText(url('/metrics'));
          expect(metrics.status).toBe(200);
          expect(metrics.body).toContain('conveyor_up');
        });

        it('delivers POST bodies', async () => {
          const res = await fetchText(url('/api/jobs'), {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ queue: 'emails', type: 'welcome', payload: { user: 42 } }),
          });
          expect(res.status, res.body).toBe(200);
          const created = JSON.parse(res.body).data;
          expect(created.type).toBe('welcome');
          expect((await backend.queue.getJob(created.id))?.payload).toEqual({ user: 42 });
        });

        it('answers an unknown route with the 404 envelope', async () => {
          const res = await fetchText(url('/api/nope'));
          expect(res.status).toBe(404);
          expect(JSON.parse(res.body).error.code).toBe('NOT_FOUND');
        });

        it('refuses cross-site mutations and changes nothing', async () => {
          const res = await fetchText(url('/api/queues/emails/pause'), {
            method: 'POST',
            headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' },
          });
          expect(res.status).toBe(403);
          expect(JSON.parse(res.body).error.code).toBe('CROSS_SITE_REQUEST');
          expect(await backend.queue.isPaused('emails')).toBe(false);
        });

        it('refuses mutations when read-only', async () => {
          const ro = await subject.mount(createDashboard({ ...backend }), basePath, { parseBodies });
          readOnlyApps.push(ro);
          const res = await fetchText(`${ro.url}${basePath}/api/queues/emails/pause`, { method: 'POST' });
          expect(res.status).toBe(403);
          expect(JSON.parse(res.body).error.code).toBe('READ_ONLY');
          expect(await backend.queue.isPaused('emails')).toBe(false);
        });

        it('serves the UI HTML with its CSP', async () => {
          const res = await fetchText(url('/'));
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/text\/html/);
          expect(res.headers.get('content-security-policy')).toMatch(/script-src 'nonce-/);
          expect(res.headers.get('x-content-type-options')).toBe('nosniff');
        });

        it('streams Server-Sent Events within a second', async () => {
          const controller = new AbortController();
          const res = await fetch(url('/api/events?types=job.enqueued'), { signal: controller.signal });
          expect(res.status).toBe(200);
          expect(res.headers.get('content-type')).toMatch(/text\/event-stream/);
          const reader = res.body!.getReader();
          const started = Date.now();
          await queue.enqueue('sse-probe', { x: 1 });
          let text = '';
          while (!text.includes('sse-probe')) {
            const { value, done } = await Promise.race([
              reader.read(),
              new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no SSE event within 1 s')), 1000)),
            ]);
            if (done) break;
            text += new TextDecoder().decode(value);
          }
          expect(text).toContain('sse-probe');
          expect(Date.now() - started).toBeLessThan(1000);
          controller.abort();
        });

        it('answers WebSocket ping and delivers subscribed events', async () => {
          const wsUrl = `${app.url.replace('http', 'ws')}${basePath}/api/events/ws`;
          const ws = new WebSocket(wsUrl);
          const messages: Array<Record<string, unknown>> = [];
          ws.on('message', (data) => messages.push(JSON.parse(String(data))));
          await new Promise<void>((resolve, reject) => {
            ws.once('open', () => resolve());
            ws.once('error', reject);
          });
          ws.send(JSON.stringify({ action: 'ping' }));
          ws.send(JSON.stringify({ action: 'subscribe', types: ['job.enqueued'], queue: 'emails' }));
          await expect.poll(() => messages.some((m) => m.type === 'pong'), { timeout: 2000 }).toBe(true);
          await new Promise((r) => setTimeout(r, 50));
          await queue.enqueue('ws-probe', {});
          await expect
            .poll(() => messages.some((m) => m.type === 'job.enqueued' && JSON.stringify(m).includes('ws-probe')), {
              timeout: 2000,
            })
            .toBe(true);
          ws.close();
        });

        it('works through the in-process tool where the framework has one', async () => {
          if (!app.inject) return;
          const res = await app.inject('GET', `${basePath}/api/queues`);
          expect(res.status).toBe(200);
          expect(JSON.parse(res.body).data).toBeInstanceOf(Array);
          const post = await app.inject('POST', `${basePath}/api/jobs`, {
            body: JSON.stringify({ queue: 'emails', type: 'injected', payload: { ok: true } }),
            headers: { 'content-type': 'application/json' },
          });
          expect(post.status, post.body).toBe(200);
        });
      });
    }
  }
}
