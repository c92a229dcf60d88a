import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe } from 'vitest';

/** Where the service-backed tests connect. */
export const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | null> {
  const client = new pg.Client({ connectionString: DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const unreachable = await probe();
if (unreachable !== null && process.env.CONVEYOR_REQUIRE_SERVICES === '1') {
  throw new Error(
    `[conveyor] [postgres] tests need Postgres at ${DATABASE_URL} (CONVEYOR_REQUIRE_SERVICES=1) but it is unreachable: ${unreachable}`,
  );
}

/**
 * `describe` when Postgres is reachable; otherwise a skipped describe whose name says why (loudly), unless
 * `CONVEYOR_REQUIRE_SERVICES=1`, which fails the file instead.
 */
export const describePg: typeof describe.skip =
  unreachable === null
    ? describe
    : (((name: string, fn?: () => void) =>
        // Skipped only without a reachable Postgres on a developer's machine; covered in CI, where
        // CONVEYOR_REQUIRE_SERVICES=1 makes an unreachable Postgres fail instead of skipping.
        describe.skip(
          `SKIPPED, LOUDLY: Postgres unreachable at ${DATABASE_URL} (${unreachable}); set DATABASE_URL — ${name}`,
          fn,
        )) as typeof describe.skip);

/** A fresh schema name for one test file. */
export function testSchema(prefix: string): string {
  return `cv_test_${prefix}_${randomBytes(4).toString('hex')}`;
}

/** Drop a schema made by a test (and everything in it). */
export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}
