import { createPostgresBackend } from '@conveyor/postgres';
import type { BenchTargetFactory } from '../types';
import { conveyorTarget } from './conveyor';
import { DATABASE_URL, dropSchema } from './pg-schema';

const SCHEMA = 'bench_conveyor';

/**
 * Conveyor on Postgres, in its own schema of the same database the graphile-worker and pg-boss targets use.
 * Retention is the default (completed jobs kept), so every completion is an UPDATE, not a DELETE.
 */
const factory: BenchTargetFactory = () =>
  conveyorTarget('conveyor-postgres', {
    open: async () => {
      await dropSchema(SCHEMA);
      return createPostgresBackend({ connectionString: DATABASE_URL, schema: SCHEMA, poolSize: 8 });
    },
    cleanup: () => dropSchema(SCHEMA),
    preloadBatch: 5000,
  });
export default factory;
