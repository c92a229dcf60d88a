import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createDashboard, createMemoryBackend } from '@conveyor/core';
import { expect, it } from 'vitest';

/**
 * docs/http-api.md's endpoint table is generated from the dashboard's route table, like the OpenAPI document,
 * so the docs cannot drift from the code. `UPDATE_DOCS=1 npx vitest run --project core docs` rewrites it.
 */
const docPath = fileURLToPath(new URL('../../../../docs/http-api.md', import.meta.url));
const BEGIN =
  '<!-- routes:begin (generated from the route table; UPDATE_DOCS=1 npx vitest run --project core docs) -->';
const END = '<!-- routes:end -->';

function renderTable(): string {
  const dashboard = createDashboard({ ...createMemoryBackend() });
  const rows = dashboard.routes.map((route) => {
    const query = route.query && 'shape' in route.query ? Object.keys(route.query.shape as object) : [];
    const body = route.body && 'shape' in route.body ? Object.keys(route.body.shape as object) : [];
    const inputs = [...query.map((q) => `?${q}`), ...body.map((b) => `body.${b}`)].map((s) => `\`${s}\``).join(' ');
    return `| ${route.method} | \`${route.path}\` | ${route.summary.replace(/\|/g, '\\|')} | ${inputs} |`;
  });
  return [BEGIN, '| method | path | what | inputs |', '|---|---|---|---|', ...rows, END].join('\n');
}

it('docs/http-api.md lists every route of the dashboard, as the route table says', () => {
  const doc = readFileSync(docPath, 'utf8');
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  expect(start, 'the generated-table markers are missing from docs/http-api.md').toBeGreaterThanOrEqual(0);
  const current = doc.slice(start, end + END.length);
  const expected = renderTable();
  if (process.env.UPDATE_DOCS === '1' && current !== expected) {
    writeFileSync(docPath, doc.slice(0, start) + expected + doc.slice(end + END.length));
    return;
  }
  expect(current).toBe(expected);
});
