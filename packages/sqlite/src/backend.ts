import type { Backend } from '@conveyor/core';
import { SqliteEventBus } from './event-bus';
import { SqliteMetricsAdapter } from './metrics-adapter';
import { SqliteQueueAdapter } from './queue-adapter';
import { SqliteStorageAdapter } from './storage-adapter';
import type { SqliteBackendOptions } from './store';
import { SqliteStore } from './store';

/** The four contracts on one SQLite connection, as the runtime and the dashboard take them. */
export interface SqliteBackend extends Backend {
  queue: SqliteQueueAdapter;
  storage: SqliteStorageAdapter;
  metrics: SqliteMetricsAdapter;
  events: SqliteEventBus;
}

/**
 * Open (or adopt) a SQLite database and return the four adapters sharing its connection. The schema is created or
 * upgraded on `init()` (or on first use); the connection closes when all four are closed, unless it was passed in.
 *
 * @example
 * const backend = createSqliteBackend({ connection: './conveyor.db' });
 */
export function createSqliteBackend(options: SqliteBackendOptions = {}): SqliteBackend {
  const store = new SqliteStore(options);
  return {
    queue: new SqliteQueueAdapter(store),
    storage: new SqliteStorageAdapter(store),
    metrics: new SqliteMetricsAdapter(store),
    events: new SqliteEventBus(store),
  };
}
