import { basicAuth, createDashboard, createMemoryBackend, type DashboardOptions, REDACTED } from '@conveyor/core';
import { describe, expect, it } from 'vitest';
import { call, seededDashboard } from './support';

const memory = (clock: () => number) => createMemoryBackend({ clock });
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('dashboard security', () => {
  it('is read-only by default: every mutation answers 403 READ_ONLY and changes nothing', async () => {
    const { backend, seeded } = await seededDashboard(memory);
    const dashboard = createDashboard({ ...backend });
    const mutations: Array<[string, string, unknown?]> = [
      ['POST', '/api/queues/emails/pause'],
      ['POST', '/api/queues/reports/retry-failed', {}],
      ['POST', '/api/queues/reports/clean', { state: 'completed' }],
      ['POST', '/api/jobs', { queue: 'emails', type: 't', payload: 1 }],
      ['POST', `/api/jobs/${seeded.failed.id}/retry`],
      ['POST', `/api/jobs/${seeded.scheduled.id}/promote`],
      ['POST', `/api/jobs/${seeded.waiting[0]!.id}/cancel`],
      ['DELETE', `/api/jobs/${seeded.completed.id}`],
    ];
    const before = await backend.queue.counts();
    for (const [method, path, body] of mutations) {
      const res = await call(dashboard, method, path, body === undefined ? {} : { body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect(res.json.error.code).toBe('READ_ONLY');
    }
    expect(await backend.queue.counts()).toEqual(before);
    expect(await backend.queue.isPaused('emails')).toBe(false);
    expect((await call(dashboard, 'GET', '/api/overview')).status).toBe(200);
  });

  it('refuses cross-site mutations by Sec-Fetch-Site or a foreign Origin, and accepts same-origin ones', async () => {
    const { backend, dashboard } = await seededDashboard(memory);
    const cases: Array<Record<string, string>> = [
      { 'sec-fetch-site': 'cross-site' },
      { origin: 'https://evil.example' },
      { origin: 'null' },
      { origin: 'http://dash.test.evil.example' },
    ];
    for (const headers of cases) {
      const res = await call(dashboard, 'POST', '/api/queues/emails/pause', { headers });
      expect(res.status, JSON.stringify(headers)).toBe(403);
      expect(res.json.error.code).toBe('CROSS_SITE_REQUEST');
    }
    expect(await backend.queue.isPaused('emails')).toBe(false);
    const ok = await call(dashboard, 'POST', '/api/queues/emails/pause', {
      headers: { origin: 'http://dash.test', 'sec-fetch-site': 'same-origin' },
    });
    expect(ok.status).toBe(200);
    const allowed = createDashboard({ ...backend, readOnly: false, allowedOrigins: ['https://admin.example.com'] });
    expect(
      (await call(allowed, 'POST', '/api/queues/emails/resume', { headers: { origin: 'https://admin.example.com' } }))
        .status,
    ).toBe(200);
  });

  it('basicAuth: 401 with a Basic challenge without or with wrong credentials, write access with the right ones', async () => {
    const { backend } = await seededDashboard(memory);
    const dashboard = createDashboard({ ...backend, auth: basicAuth({ username: 'admin', password: 's3cret' }) });
    for (const authorization of [
      undefined,
      basic('admin', 'wrong'),
      basic('root', 's3cret'),
      'Basic !!!',
      'Bearer x',
      basic('admin', ''),
    ]) {
      const res = await call(dashboard, 'GET', '/api/overview', authorization ? { headers: { authorization } } : {});
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('UNAUTHENTICATED');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="Conveyor"/);
    }
    expect((await call(dashboard, 'GET', '/', {})).status).toBe(401);
    const headers = { authorization: basic('admin', 's3cret') };
    expect((await call(dashboard, 'GET', '/api/overview', { headers })).status).toBe(200);
    expect((await call(dashboard, 'POST', '/api/queues/emails/pause', { headers })).status).toBe(200);
    const pinned = createDashboard({
      ...backend,
      readOnly: true,
      auth: basicAuth({ username: 'admin', password: 's3cret' }),
    });
    expect((await call(pinned, 'POST', '/api/queues/emails/resume', { headers })).json.error.code).toBe('READ_ONLY');
  });

  it('custom auth: read access gets 403 FORBIDDEN on mutations; a rejecting or throwing auth never leaks', async () => {
    const { backend } = await seededDashboard(memory);
    const auth: DashboardOptions['auth'] = async (request) => {
      const token = request.headers.get('x-token');
      if (token === 'reader') return { user: 'ann', access: 'read' };
      if (token === 'writer') return { user: 'bob', access: 'write' };
      if (token === 'crash') throw new Error('auth backend down at 10.0.0.1');
      return false;
    };
    const dashboard = createDashboard({ ...backend, auth });
    const forbidden = await call(dashboard, 'POST', '/api/queues/emails/pause', { headers: { 'x-token': 'reader' } });
    expect(forbidden.status).toBe(403);
    expect(forbidden.json.error.code).toBe('FORBIDDEN');
    expect((await call(dashboard, 'GET', '/api/queues', { headers: { 'x-token': 'reader' } })).status).toBe(200);
    expect(
      (await call(dashboard, 'POST', '/api/queues/emails/pause', { headers: { 'x-token': 'writer' } })).status,
    ).toBe(200);
    const none = await call(dashboard, 'GET', '/api/queues');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBeNull();
    const crash = await call(dashboard, 'GET', '/api/queues', { headers: { 'x-token': 'crash' } });
    expect(crash.status).toBe(500);
    expect(crash.json.error.code).toBe('INTERNAL');
    expect(crash.text).not.toContain('10.0.0.1');
  });

  it('refuses bodies over maxBodyBytes with 413, by Content-Length and while reading', async () => {
    const { backend, dashboard: _ } = await seededDashboard(memory);
    const dashboard = createDashboard({ ...backend, readOnly: false, maxBodyBytes: 1024 });
    const big = JSON.stringify({ queue: 'emails', type: 't', payload: 'x'.repeat(2000) });
    const declared = await call(dashboard, 'POST', '/api/jobs', {
      rawBody: big,
      headers: { 'content-type': 'application/json' },
    });
    expect(declared.status).toBe(413);
    expect(declared.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(200)));
        controller.close();
      },
    });
    const streamed = await dashboard(
      new Request('http://dash.test/api/jobs', {
        method: 'POST',
        body: chunks,
        headers: { 'content-type': 'application/json' },
        duplex: 'half',
      } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    expect((await backend.queue.counts('emails'))['emails']!.waiting).toBe(3);
  });

  it('refuses bodies that are not JSON, not UTF-8 or sent with another content type, with 400', async () => {
    const { dashboard } = await seededDashboard(memory);
    const cases: Array<[string | Uint8Array, string]> = [
      ['{"queue":', 'application/json'],
      [new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'application/json'],
      ['queue=emails&type=t', 'application/x-www-form-urlencoded'],
      ['{"queue":"emails","type":"t","payload":1}', 'text/plain'],
      ['['.repeat(100_000), 'application/json'],
    ];
    for (const [rawBody, contentType] of cases) {
      const res = await call(dashboard, 'POST', '/api/jobs', { rawBody, headers: { 'content-type': contentType } });
      expect(res.status, contentType).toBe(400);
      expect(res.json.error.code).toBe('VALIDATION_FAILED');
    }
  });

  it('redacts configured paths in lists, detail, logs, events and error details', async () => {
    const { backend, seeded } = await seededDashboard(memory);
    const dashboard = createDashboard({
      ...backend,
      readOnly: false,
      redact: ['payload.password', 'result.secret', 'lastError.stack', 'error.stack'],
    });
    const detail = await call(dashboard, 'GET', `/api/jobs/${seeded.waiting[0]!.id}`);
    expect(detail.json.data.payload).toEqual({ to: 'u0@example.com', password: REDACTED });
    const list = await call(dashboard, 'GET', '/api/jobs?queue=emails&state=waiting');
    expect(list.text).not.toContain('hunter2');
    const completed = await call(dashboard, 'GET', `/api/jobs/${seeded.completed.id}`);
    expect(completed.json.data.result).toEqual({ ok: true, secret: REDACTED });
    const failed = await call(dashboard, 'GET', `/api/jobs/${seeded.failed.id}`);
    expect(failed.json.data.lastError.stack).toBe(REDACTED);
    const logs = await call(dashboard, 'GET', `/api/jobs/${seeded.completed.id}/logs`);
    expect(logs.json.data[0].result.secret).toBe(REDACTED);
    const recent = await call(dashboard, 'GET', '/api/logs/recent');
    expect(recent.text).not.toContain('s3');
    expect(recent.json.data.find((e: { status: string }) => e.status === 'failed').error.stack).toBe(REDACTED);
    // The stored job is untouched.
    expect((await backend.queue.getJob(seeded.waiting[0]!.id))?.payload).toEqual({
      to: 'u0@example.com',
      password: 'hunter2',
    });
    const enqueued = await call(dashboard, 'POST', '/api/jobs', {
      body: { queue: 'emails', type: 't', payload: { password: 'pw' } },
    });
    expect(enqueued.json.data.payload.password).toBe(REDACTED);
  });

  it('redacts with a function too', async () => {
    const { backend, seeded } = await seededDashboard(memory);
    const dashboard = createDashboard({
      ...backend,
      redact: (doc, target) => (target === 'job' ? { ...doc, payload: '[hidden]' } : doc),
    });
    expect((await call(dashboard, 'GET', `/api/jobs/${seeded.waiting[0]!.id}`)).json.data.payload).toBe('[hidden]');
  });

  it('serves the UI with a per-response nonce CSP, nosniff and same-origin referrer policy', async () => {
    const { dashboard } = await seededDashboard(memory);
    const first = await call(dashboard, 'GET', '/');
    const second = await call(dashboard, 'GET', '/jobs/some-id');
    for (const res of [first, second]) {
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toMatch(/^text\/html/);
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('same-origin');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toMatch(
        /^default-src 'self'; script-src 'nonce-[A-Za-z0-9+/=]{20,}'; style-src 'self' 'nonce-[A-Za-z0-9+/=]{20,}'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'self'$/,
      );
    }
    const nonce = (csp: string | null) => /'nonce-([^']+)'/.exec(csp ?? '')?.[1];
    expect(nonce(first.headers.get('content-security-policy'))).not.toBe(
      nonce(second.headers.get('content-security-policy')),
    );
    expect(first.text).toContain(nonce(first.headers.get('content-security-policy'))!);
    expect((await call(dashboard, 'GET', '/assets/../../package.json')).status).toBe(404);
    expect((await call(dashboard, 'POST', '/')).status).toBe(404);
    expect((await call(dashboard, 'GET', '/api/overview')).headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('never sends an XSS payload from a job back unescaped', async () => {
    const { backend, dashboard } = await seededDashboard(memory);
    const xss = '<script>alert(1)</script><img src=x onerror=alert(2)>';
    const { job } = await backend.queue.enqueue({ queue: xss, type: xss, payload: { html: xss } });
    const claimed = await backend.queue.claim({ queues: [xss], workerId: 'w', limit: 1, leaseMs: 1000 });
    await backend.queue.fail([
      { jobId: job.id, token: claimed[0]!.token, error: { message: xss, code: xss, stack: xss }, retryDelayMs: null },
    ]);
    const paths = [
      '/',
      `/jobs/${encodeURIComponent(job.id)}`,
      `/queues/${encodeURIComponent(xss)}`,
      `/${encodeURIComponent(xss)}`,
      '/api/jobs',
      `/api/jobs/${job.id}`,
      '/api/queues',
      `/api/queues/${encodeURIComponent(xss)}`,
      `/api/jobs?type=${encodeURIComponent(xss)}`,
      `/api/nope/${encodeURIComponent(xss)}`,
    ];
    for (const path of paths) {
      const res = await call(dashboard, 'GET', path);
      expect(res.text, path).not.toContain('<script>alert');
      expect(res.text, path).not.toContain('<img src=x');
      if (res.headers.get('content-type')?.startsWith('application/json')) {
        expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      }
    }
    // Prometheus text carries the queue name verbatim (it is a label), as plain text a browser may not sniff.
    const metrics = await call(dashboard, 'GET', '/metrics');
    expect(metrics.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(metrics.headers.get('x-content-type-options')).toBe('nosniff');
    const detail = await call(dashboard, 'GET', `/api/jobs/${job.id}`);
    expect(detail.json.data.type).toBe(xss);
    expect(detail.json.data.lastError.message).toBe(xss);
  });
});
