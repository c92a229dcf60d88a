import { afterAll } from 'vitest';
import { describeDashboardApi } from '../../core/test/dashboard/api-suite';
import { createPostgresBackend } from '../src/index';
import { DATABASE_URL, describePg, dropSchema, testSchema } from './helpers';

// The dashboard's endpoint suite once over Postgres: a schema per test (migrated on first use), all dropped after.
const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});
describePg('postgres', () => {
  describeDashboardApi('postgres', (clock) => {
    const schema = testSchema('dash');
    schemas.push(schema);
    return createPostgresBackend({ connectionString: DATABASE_URL, schema, clock, poolSize: 3 });
  });
});
