import type { Backend } from '@conveyor/core';
import { PgContext } from './context';
import { PostgresEventBus } from './event-bus';
import { PostgresMetricsAdapter } from './metrics-adapter';
import type { PostgresOptions } from './options';
import { PostgresQueueAdapter } from './queue-adapter';
import { PostgresStorageAdapter } from './storage-adapter';

/** Options of {@link createPostgresBackend}: one pool, schema, clock and logger shared by the four adapters. */
export interface PostgresBackendOptions extends PostgresOptions {}

/** The four Postgres adapters, typed as their classes (usable wherever a {@link Backend} is expected). */
export interface PostgresBackend extends Backend {
  queue: PostgresQueueAdapter;
  storage: PostgresStorageAdapter;
  metrics: PostgresMetricsAdapter;
  events: PostgresEventBus;
}

/**
 * A complete backend on Postgres. The four adapters share one pool and one LISTEN connection; the pool (when created
 * here from `connectionString`) ends when the last adapter closes.
 *
 * @example
 * const backend = createPostgresBackend({ connectionString: process.env.DATABASE_URL });
 * await initBackend(backend); // runs the migrations once, under an advisory lock
 */
export function createPostgresBackend(options: PostgresBackendOptions): PostgresBackend {
  const ctx = new PgContext(options);
  return {
    queue: new PostgresQueueAdapter(ctx),
    storage: new PostgresStorageAdapter(ctx),
    metrics: new PostgresMetricsAdapter(ctx),
    events: new PostgresEventBus(ctx),
  };
}
