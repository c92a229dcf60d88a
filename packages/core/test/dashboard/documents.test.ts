import { createMemoryBackend } from '@conveyor/core';
import { Validator } from '@seriousme/openapi-schema-validator';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { call, seededDashboard } from './support';

const memory = (clock: () => number) => createMemoryBackend({ clock });

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3.1 document generated from the route table', async () => {
    const { dashboard } = await seededDashboard(memory);
    const res = await call(dashboard, 'GET', '/api/openapi.json');
    expect(res.status).toBe(200);
    const validator = new Validator();
    const result = await validator.validate(res.json);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(res.json.openapi).toBe('3.1.0');
    const documented = Object.entries(res.json.paths as Record<string, Record<string, unknown>>).flatMap(
      ([path, ops]) => Object.keys(ops).map((method) => `${method.toUpperCase()} ${path}`),
    );
    const table = dashboard.routes.map((r) => `${r.method} ${r.path.replace(/:(\w+)/g, '{$1}')}`);
    expect(documented.sort()).toEqual(table.sort());
    const list = res.json.paths['/api/jobs'].get;
    expect(list.parameters.map((p: { name: string }) => p.name)).toEqual([
      'queue',
      'state',
      'type',
      'q',
      'limit',
      'cursor',
    ]);
    expect(list.parameters.find((p: { name: string }) => p.name === 'limit').schema).toMatchObject({
      type: 'integer',
      minimum: 1,
      maximum: 100,
      default: 20,
    });
    expect(
      res.json.paths['/api/jobs'].post.requestBody.content['application/json'].schema.properties.options,
    ).toBeDefined();
  });
});

describe('GET /metrics', () => {
  it('parses as Prometheus text with the documented names, cumulative buckets and no job ids', async () => {
    const { dashboard, seeded } = await seededDashboard(memory);
    const res = await call(dashboard, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheusTextFormat(res.text);
    const byName = new Map(families.map((f) => [f.name, f]));
    for (const name of [
      'conveyor_jobs_enqueued_total',
      'conveyor_jobs_processed_total',
      'conveyor_job_duration_seconds',
      'conveyor_job_wait_seconds',
      'conveyor_jobs',
      'conveyor_queue_latency_seconds',
      'conveyor_workers',
      'conveyor_up',
    ]) {
      expect(byName.has(name), name).toBe(true);
    }
    const enqueued = byName.get('conveyor_jobs_enqueued_total')!.metrics;
    expect(enqueued).toContainEqual({ labels: { queue: 'reports', type: 'build' }, value: '3' });
    const processed = byName.get('conveyor_jobs_processed_total')!.metrics;
    expect(processed).toContainEqual({ labels: { queue: 'reports', type: 'build', status: 'success' }, value: '1' });
    expect(byName.get('conveyor_job_duration_seconds')!.type).toBe('HISTOGRAM');
    expect(byName.get('conveyor_job_wait_seconds')!.type).toBe('HISTOGRAM');
    // parse-prometheus-text-format folds labelled histograms into one sample, so read those lines directly.
    const line = (name: string) => new RegExp(`^${name}\\{queue="reports",type="build"(?:,le="([^"]+)")?\\} (\\S+)$`);
    const lines = res.text.split('\n');
    const buckets = lines
      .map((l) => line('conveyor_job_duration_seconds_bucket').exec(l))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => [m[1], Number(m[2])] as const);
    expect(buckets.at(-1)).toEqual(['+Inf', 2]);
    expect(buckets.find(([le]) => le === '0.1')?.[1]).toBe(1);
    expect(buckets.find(([le]) => le === '0.2')?.[1]).toBe(2);
    const counts = buckets.map(([, n]) => n);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    const sum = lines.map((l) => line('conveyor_job_duration_seconds_sum').exec(l)).find((m) => m !== null);
    expect(Number(sum?.[2])).toBeCloseTo(0.3, 6);
    expect(lines).toContain('conveyor_job_duration_seconds_count{queue="reports",type="build"} 2');
    expect(byName.get('conveyor_jobs')!.metrics).toContainEqual({
      labels: { queue: 'emails', state: 'waiting' },
      value: '3',
    });
    expect(byName.get('conveyor_workers')!.metrics).toContainEqual({ labels: { status: 'active' }, value: '1' });
    expect(byName.get('conveyor_up')!.metrics[0]!.value).toBe('1');
    for (const job of [seeded.completed, seeded.failed, ...seeded.waiting]) expect(res.text).not.toContain(job.id);
    expect(res.text).not.toContain('hunter2');
  });

  it('escapes label values and answers conveyor_up 0 when the backend cannot be read', async () => {
    const { backend, dashboard } = await seededDashboard(memory);
    await backend.queue.enqueue({ queue: 'we"ird\\q\nname', type: 't', payload: null });
    const res = await call(dashboard, 'GET', '/metrics');
    const families = parsePrometheusTextFormat(res.text);
    const jobs = families.find((f) => f.name === 'conveyor_jobs')!;
    expect(
      jobs.metrics.some((m) => m.labels?.['queue'] === 'we"ird\\q\nname' || m.labels?.['queue']?.includes('ird')),
    ).toBe(true);
    await backend.queue.close();
    const down = await call(dashboard, 'GET', '/metrics');
    expect(down.status).toBe(200);
    expect(down.text).toContain('conveyor_up 0');
  });
});
