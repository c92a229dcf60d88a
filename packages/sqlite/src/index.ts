/**
 * @conveyor/sqlite — Conveyor's queue, execution history, metrics and event bus in one SQLite file
 * (better-sqlite3). Several processes on one machine can share the file.
 */
export type { SqliteBackend } from './backend';
export { createSqliteBackend } from './backend';
export { SQLITE_CAPABILITIES } from './capabilities';
export { SqliteEventBus } from './event-bus';
export { SqliteMetricsAdapter } from './metrics-adapter';
export type { Migration } from './migrations';
export { MIGRATIONS, SCHEMA_VERSION } from './migrations';
export { SqliteQueueAdapter } from './queue-adapter';
export { SqliteStorageAdapter } from './storage-adapter';
export type { SqliteBackendOptions } from './store';
export { SqliteStore } from './store';
