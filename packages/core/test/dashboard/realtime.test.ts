import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  attachWebSocket,
  basicAuth,
  type ConveyorEvent,
  createDashboard,
  createMemoryBackend,
  initBackend,
  serveNode,
} from '@conveyor/core';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';

let seq = 0;
function event(type: ConveyorEvent['type'], queue: string, data: Record<string, unknown> = {}): ConveyorEvent {
  seq++;
  return {
    id: `e${String(seq).padStart(6, '0')}`,
    type,
    timestamp: new Date().toISOString(),
    queue,
    jobId: `j${seq}`,
    data,
  };
}

async function readUntil(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  predicate: (text: string) => boolean,
): Promise<string> {
  let text = '';
  const decoder = new TextDecoder();
  while (!predicate(text)) {
    const { value, done } = await reader.read();
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

async function setup(options: Parameters<typeof createDashboard>[0] extends infer O ? Partial<O> : never = {}) {
  const backend = createMemoryBackend();
  await initBackend(backend);
  const dashboard = createDashboard({ ...backend, ...options });
  return { backend, dashboard };
}

const servers: Server[] = [];
const sockets = new Set<import('node:net').Socket>();
afterEach(async () => {
  // Upgraded (and deliberately unanswered) sockets are not tracked by the HTTP server: destroy them by hand.
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(dashboard: ReturnType<typeof createDashboard>, basePath = ''): Promise<string> {
  const server = createServer((req, res) => {
    void serveNode(dashboard, req, res, { basePath });
  });
  attachWebSocket(server, dashboard, { basePath });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function openWs(url: string, headers: Record<string, string> = {}): Promise<WebSocket> {
  const ws = new WebSocket(url, { headers });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  return ws;
}

describe('Server-Sent Events', () => {
  it('answers at once and delivers filtered events with an id, redacted', async () => {
    const { backend, dashboard } = await setup({ redact: ['password'] });
    const response = await dashboard(new Request('http://x/api/events?types=job.completed,job.failed&queue=a'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(response.headers.get('cache-control')).toContain('no-cache');
    const reader = response.body!.getReader();
    expect(await readUntil(reader, (t) => t.includes(': connected'))).toContain('retry:');
    await backend.events.publish([
      event('job.started', 'a'),
      event('job.completed', 'b'),
      event('job.completed', 'a', { password: 'pw', ok: 1 }),
    ]);
    const text = await readUntil(reader, (t) => t.includes('data: '));
    const frame = text.split('\n\n').find((f) => f.includes('data: '))!;
    expect(frame).toMatch(/^id: e\d+\ndata: /);
    const payload = JSON.parse(frame.slice(frame.indexOf('data: ') + 6));
    expect(payload).toMatchObject({ type: 'job.completed', queue: 'a', data: { password: '[REDACTED]', ok: 1 } });
    expect(dashboard.connections).toBe(1);
    await reader.cancel();
    expect(dashboard.connections).toBe(0);
    expect(backend.events.listenerCount()).toBe(0);
  });

  it('sends a heartbeat comment every heartbeatMs', async () => {
    const { dashboard } = await setup({ heartbeatMs: 20 });
    const response = await dashboard(new Request('http://x/api/events'));
    const reader = response.body!.getReader();
    expect(await readUntil(reader, (t) => t.includes(': heartbeat'))).toContain(': heartbeat');
    await reader.cancel();
  });

  it('refuses unknown event types and connections over the cap', async () => {
    const { dashboard } = await setup({ maxConnections: 2 });
    const bad = await dashboard(new Request('http://x/api/events?types=job.exploded'));
    expect(bad.status).toBe(400);
    const a = await dashboard(new Request('http://x/api/events'));
    const b = await dashboard(new Request('http://x/api/events'));
    const c = await dashboard(new Request('http://x/api/events'));
    expect(c.status).toBe(503);
    expect(c.headers.get('retry-after')).toBe('5');
    await a.body!.cancel();
    await b.body!.cancel();
    expect(dashboard.connections).toBe(0);
  });

  it('drops a client that does not read once its backlog passes the bound', async () => {
    const { backend, dashboard } = await setup({ maxClientBufferBytes: 2048 });
    const response = await dashboard(new Request('http://x/api/events'));
    const big = 'x'.repeat(600);
    for (let i = 0; i < 10; i++) await backend.events.publish([event('job.progress', 'a', { big })]);
    expect(dashboard.connections).toBe(0);
    expect(backend.events.listenerCount()).toBe(0);
    const reader = response.body!.getReader();
    await expect(readUntil(reader, () => false)).rejects.toThrow('too slow');
  });

  it('releases the subscription when the request is aborted', async () => {
    const { backend, dashboard } = await setup();
    const controller = new AbortController();
    await dashboard(new Request('http://x/api/events', { signal: controller.signal }));
    expect(backend.events.listenerCount()).toBe(1);
    controller.abort();
    expect(backend.events.listenerCount()).toBe(0);
    expect(dashboard.connections).toBe(0);
  });

  it('opening and closing 1,000 streams leaves no listener, no connection and no heap growth behind', async () => {
    const { backend, dashboard } = await setup({ maxConnections: 2000 });
    const gc = (globalThis as { gc?: () => void }).gc;
    gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    const baseline = backend.events.listenerCount();
    for (let round = 0; round < 10; round++) {
      const responses = await Promise.all(
        Array.from({ length: 100 }, () => dashboard(new Request('http://x/api/events?types=job.completed'))),
      );
      expect(dashboard.connections).toBe(100);
      expect(backend.events.listenerCount()).toBe(baseline + 100);
      await Promise.all(responses.map((r) => r.body!.cancel()));
      expect(backend.events.listenerCount()).toBe(baseline);
      expect(dashboard.connections).toBe(0);
    }
    if (gc) {
      gc();
      expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(8 * 1024 * 1024);
    }
  });
});

describe('WebSocket', () => {
  it('answers ping with pong, applies subscribe filters and leaves nothing behind on close', async () => {
    const { backend, dashboard } = await setup();
    const host = await listen(dashboard, '/dash');
    const ws = await openWs(`ws://${host}/dash/api/events/ws`);
    const messages: Array<Record<string, unknown>> = [];
    ws.on('message', (data) => messages.push(JSON.parse(String(data))));
    ws.send(JSON.stringify({ action: 'ping' }));
    ws.send(JSON.stringify({ action: 'subscribe', types: ['job.failed'], queue: 'a' }));
    await expect.poll(() => messages.map((m) => m['type'])).toEqual(['pong', 'subscribed']);
    await backend.events.publish([
      event('job.completed', 'a'),
      event('job.failed', 'b'),
      event('job.failed', 'a', { n: 1 }),
    ]);
    await expect.poll(() => messages.length).toBe(3);
    expect(messages[2]).toMatchObject({ type: 'job.failed', queue: 'a', data: { n: 1 } });
    ws.send('not json');
    ws.send(JSON.stringify({ action: 'explode' }));
    await expect.poll(() => messages.filter((m) => m['type'] === 'error').length).toBe(2);
    expect(backend.events.listenerCount()).toBe(1);
    ws.close();
    await expect.poll(() => backend.events.listenerCount()).toBe(0);
    expect(dashboard.connections).toBe(0);
  });

  it('leaves other upgrade paths alone and applies auth and the origin check on upgrade', async () => {
    const { dashboard } = await setup({ auth: basicAuth({ username: 'u', password: 'p' }) });
    const host = await listen(dashboard);
    await expect(openWs(`ws://${host}/api/events/ws`)).rejects.toThrow('HTTP 401');
    const authorization = `Basic ${Buffer.from('u:p').toString('base64')}`;
    await expect(
      openWs(`ws://${host}/api/events/ws`, { authorization, origin: 'https://evil.example' }),
    ).rejects.toThrow('HTTP 403');
    const ws = await openWs(`ws://${host}/api/events/ws`, { authorization, origin: `http://${host}` });
    ws.close();
    const other = new WebSocket(`ws://${host}/other`, { headers: { authorization } });
    const outcome = await Promise.race([
      once(other, 'open').then(() => 'open'),
      once(other, 'error').then(() => 'error'),
      new Promise((resolve) => setTimeout(() => resolve('untouched'), 200)),
    ]);
    expect(outcome).toBe('untouched');
    other.terminate();
    const plain = await fetch(`http://${host}/api/events/ws`, { headers: { authorization } });
    expect(plain.status).toBe(426);
  });

  it('opening and closing a few hundred sockets leaves no listener or connection behind', async () => {
    const { backend, dashboard } = await setup({ maxConnections: 1000 });
    const host = await listen(dashboard);
    for (let round = 0; round < 3; round++) {
      const sockets = await Promise.all(
        Array.from({ length: 100 }, () => openWs(`ws://${host}/api/events/ws?types=job.enqueued`)),
      );
      expect(dashboard.connections).toBe(100);
      expect(backend.events.listenerCount()).toBe(100);
      for (const ws of sockets) ws.close();
      await expect.poll(() => backend.events.listenerCount(), { timeout: 5000 }).toBe(0);
      expect(dashboard.connections).toBe(0);
    }
  });

  it('refuses sockets over the connection cap', async () => {
    const { dashboard } = await setup({ maxConnections: 1 });
    const host = await listen(dashboard);
    const first = await openWs(`ws://${host}/api/events/ws`);
    await expect(openWs(`ws://${host}/api/events/ws`)).rejects.toThrow('HTTP 503');
    first.close();
  });

  it('terminates a slow client whose bufferedAmount passes the bound', async () => {
    const { backend, dashboard } = await setup({ maxClientBufferBytes: 64 * 1024 });
    const host = await listen(dashboard);
    const ws = await openWs(`ws://${host}/api/events/ws`);
    // Stop reading: the server's socket buffer fills, then bufferedAmount grows past the bound.
    (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    const big = 'y'.repeat(64 * 1024);
    for (let i = 0; i < 200 && backend.events.listenerCount() > 0; i++) {
      await backend.events.publish([event('job.progress', 'a', { big })]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    await expect.poll(() => backend.events.listenerCount(), { timeout: 5000 }).toBe(0);
    expect(dashboard.connections).toBe(0);
    ws.terminate();
  });
});
