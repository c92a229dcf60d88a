import { createMemoryBackend } from '@conveyor/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { call, seededDashboard } from './support';

/**
 * Random paths, ids, query strings, methods and bodies against every route: the handler may refuse, but never with
 * a 500, and every error answer is the error envelope.
 */
describe('dashboard fuzzing', () => {
  it('never answers 500 and always uses the error envelope on errors', async () => {
    const { dashboard, seeded } = await seededDashboard((clock) => createMemoryBackend({ clock }));
    const templates = dashboard.routes.map((r) => r.path).filter((p) => p !== '/api/events' && p !== '/api/events/ws');
    const weird = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.constantFrom(
        seeded.failed.id,
        seeded.active.id,
        'emails',
        'reports',
        '%',
        '%E0%A4%A',
        '..',
        '\u0000',
        '😀',
        'x'.repeat(5000),
        '__proto__',
        'constructor',
      ),
    );
    const segment = weird.map((s) => {
      try {
        return encodeURIComponent(s);
      } catch {
        return 'bad';
      }
    });
    const path = fc.oneof(
      fc.tuple(fc.constantFrom(...templates), segment).map(([template, value]) => template.replace(/:(\w+)/g, value)),
      fc.array(segment, { maxLength: 5 }).map((parts) => `/api/${parts.join('/')}`),
      fc
        .array(fc.oneof(segment, fc.constantFrom('%', '%%', '..')), { maxLength: 4 })
        .map((parts) => `/${parts.join('/')}`),
    );
    const queryKey = fc.constantFrom(
      'limit',
      'cursor',
      'state',
      'queue',
      'type',
      'q',
      'period',
      'status',
      'from',
      'to',
      'types',
      '__proto__',
    );
    const query = fc.array(fc.tuple(queryKey, weird), { maxLength: 4 }).map((pairs) => {
      const params = new URLSearchParams();
      for (const [k, v] of pairs) params.append(k, v);
      return params.toString();
    });
    const body = fc.oneof(
      fc.constant(undefined),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
      fc
        .record({
          queue: weird,
          type: weird,
          payload: fc.jsonValue({ maxDepth: 2 }),
          options: fc.option(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 })), {
            nil: undefined,
          }),
        })
        .map((v) => JSON.stringify(v)),
      fc
        .record({
          state: weird,
          olderThanMs: fc.oneof(fc.integer(), fc.double()),
          limit: fc.oneof(fc.integer(), fc.string()),
        })
        .map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 40 }),
    );
    const method = fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS');
    const contentType = fc.constantFrom('application/json', 'text/plain', 'application/json; charset=utf-8', '');

    await fc.assert(
      fc.asyncProperty(method, path, query, body, contentType, async (m, p, q, b, ct) => {
        const withBody = b !== undefined && m !== 'GET' && m !== 'HEAD';
        const headers: Record<string, string> = ct ? { 'content-type': ct } : {};
        const res = await call(dashboard, m, q ? `${p}?${q}` : p, withBody ? { rawBody: b, headers } : { headers });
        expect(res.status, `${m} ${p}?${q} → ${res.text.slice(0, 300)}`).not.toBe(500);
        if (res.status >= 400 && m !== 'HEAD') {
          expect(res.json?.error?.code, `${m} ${p}`).toEqual(expect.any(String));
          expect(res.json.error.message).toEqual(expect.any(String));
        }
      }),
      { numRuns: 400 },
    );
  });
});
