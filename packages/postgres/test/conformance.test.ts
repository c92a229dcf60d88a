import { runConformanceSuite } from '@conveyor/adapters-conformance';
import { silentLogger } from '@conveyor/core';
import pg from 'pg';
import { afterAll } from 'vitest';
import { createPostgresBackend, migrate } from '../src/index';
import { DATABASE_URL, describePg, dropSchema, testSchema } from './helpers';

/**
 * The shared suite, unchanged. Creating a schema costs ~20 DDL statements, so the file migrates one schema once and
 * every backend the suite asks for starts by emptying it (plain DELETEs: the tables are tiny, and TRUNCATE's file
 * swaps would cost more). The suite builds its backends one after another, so this keeps each one isolated.
 * 60 model runs keep the file near 70 s on the shared 2-core machine (each run is a fresh pool, LISTEN
 * connection and a few dozen round trips).
 */
const schema = testSchema('conformance');
const admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
let migrated: Promise<void> | undefined;

const TABLES = [
  'jobs',
  'count_deltas',
  'queue_counts',
  'queues',
  'schedules',
  'executions',
  'workers',
  'metric_buckets',
  'event_overflow',
];

async function emptySchema(): Promise<void> {
  migrated ??= migrate(admin, schema, silentLogger);
  await migrated;
  await admin.query(TABLES.map((t) => `DELETE FROM "${schema}".${t};`).join('\n'));
}

afterAll(async () => {
  await admin.end();
  await dropSchema(schema);
});

describePg('postgres', () => {
  runConformanceSuite({
    name: 'postgres',
    createBackend: async ({ clock }) => {
      await emptySchema();
      return createPostgresBackend({ connectionString: DATABASE_URL, schema, clock: clock.now, poolSize: 4 });
    },
    modelRuns: 60,
  });
});
