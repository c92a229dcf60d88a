import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('.', import.meta.url));

/**
 * Tests import workspace packages from their TypeScript sources, so `npm test` needs no build first.
 * The same mapping lives in tsconfig.json `paths`.
 */
export const workspaceAlias: Record<string, string> = {
  '@conveyor/core': `${root}packages/core/src/index.ts`,
  '@conveyor/adapters-conformance': `${root}adapters-conformance/src/index.ts`,
  '@conveyor/sqlite': `${root}packages/sqlite/src/index.ts`,
  '@conveyor/redis': `${root}packages/redis/src/index.ts`,
  '@conveyor/postgres': `${root}packages/postgres/src/index.ts`,
  '@conveyor/express': `${root}packages/express/src/index.ts`,
  '@conveyor/fastify': `${root}packages/fastify/src/index.ts`,
  '@conveyor/koa': `${root}packages/koa/src/index.ts`,
  '@conveyor/hono': `${root}packages/hono/src/index.ts`,
  '@conveyor/dashboard-ui': `${root}packages/dashboard-ui/src/index.ts`,
  '@conveyor/cli': `${root}packages/cli/src/index.ts`,
};
