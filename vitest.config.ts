import { defineConfig } from 'vitest/config';
import { workspaceAlias } from './vitest.shared';

const project = (name: string, dir: string, extra: Record<string, unknown> = {}) => ({
  extends: true as const,
  test: {
    name,
    root: dir,
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    ...extra,
  },
});

export default defineConfig({
  resolve: { alias: workspaceAlias },
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: service-backed suites share one Postgres and one Redis, each under its own schema / prefix.
    maxWorkers: 2,
    projects: [
      project('core', 'packages/core'),
      project('conformance', 'adapters-conformance'),
      project('sqlite', 'packages/sqlite'),
      project('redis', 'packages/redis'),
      project('postgres', 'packages/postgres'),
      project('express', 'packages/express'),
      project('fastify', 'packages/fastify'),
      project('koa', 'packages/koa'),
      project('hono', 'packages/hono'),
      project('dashboard-ui', 'packages/dashboard-ui'),
      project('cli', 'packages/cli'),
      project('examples', 'examples', { include: ['*/test/**/*.test.ts', 'test/**/*.test.ts'] }),
    ],
  },
});
