import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Backend, createMemoryBackend, initBackend } from '@conveyor/core';

/**
 * The backend the examples run on, chosen by `CONVEYOR_BACKEND`: `sqlite` (default: a file, no server needed),
 * `memory`, `redis` (`REDIS_URL`) or `postgres` (`DATABASE_URL`).
 */
export async function exampleBackend(kind = process.env.CONVEYOR_BACKEND ?? 'sqlite'): Promise<Backend> {
  let backend: Backend;
  switch (kind) {
    case 'memory':
      backend = createMemoryBackend();
      break;
    case 'redis': {
      const { createRedisBackend } = await import('@conveyor/redis');
      backend = createRedisBackend({
        connection: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        prefix: 'conveyor-example',
      });
      break;
    }
    case 'postgres': {
      const { createPostgresBackend } = await import('@conveyor/postgres');
      backend = createPostgresBackend({
        connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
        schema: 'conveyor_example',
      });
      break;
    }
    case 'sqlite': {
      const { createSqliteBackend } = await import('@conveyor/sqlite');
      const file = process.env.CONVEYOR_SQLITE_FILE ?? '.data/conveyor-example.db';
      if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
      backend = createSqliteBackend({ connection: file });
      break;
    }
    default:
      throw new Error(`CONVEYOR_BACKEND must be sqlite, memory, redis or postgres (got "${kind}")`);
  }
  await initBackend(backend);
  return backend;
}
