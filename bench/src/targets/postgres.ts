import { createPostgresBackend } from '@conveyor/postgres';
import pg from 'pg';
import type { BenchTargetFactory } from '../types';
import { conveyorTarget } from './conveyor';

const SCHEMA = 'bench_conveyor';
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function dropSchema(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Conveyor on Postgres, in its own schema of the same database the graphile-worker and pg-boss targets use.
 * Retention is the default (completed jobs kept), so every completion is an UPDATE, not a DELETE.
 */
const factory: BenchTargetFactory = () =>
  conveyorTarget('conveyor-postgres', {
    open: async () => {
      await dropSchema();
      return createPostgresBackend({ connectionString: DATABASE_URL, schema: SCHEMA, poolSize: 8 });
    },
    cleanup: dropSchema,
    preloadBatch: 5000,
  });
export default factory;
