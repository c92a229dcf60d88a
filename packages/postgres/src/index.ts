/**
 * @conveyor/postgres — the Conveyor backend on Postgres (`pg`): SKIP LOCKED batch claims with fencing tokens,
 * LISTEN/NOTIFY events and wake-ups, transactional enqueue, counter-row counts and versioned migrations.
 */
export type { PostgresBackend, PostgresBackendOptions } from './backend';
export { createPostgresBackend } from './backend';
export type { Queryable } from './context';
export { PgContext } from './context';
export { PostgresEventBus, packEvents } from './event-bus';
export { Listener } from './listener';
export { PostgresMetricsAdapter } from './metrics-adapter';
export { MIGRATIONS, migrate, SCHEMA_VERSION } from './migrations';
export type { PostgresOptions } from './options';
export { POSTGRES_CAPABILITIES } from './options';
export type { EnqueueOptions, TransactionalEnqueuer } from './queue-adapter';
export { PostgresQueueAdapter } from './queue-adapter';
export { PostgresStorageAdapter } from './storage-adapter';
