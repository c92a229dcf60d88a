import type { EventBus } from './events';
import type { MetricsAdapter } from './metrics-adapter';
import type { QueueAdapter } from './queue-adapter';
import type { StorageAdapter } from './storage-adapter';

/** The four contracts of one store, as every adapter package returns them (`createSqliteBackend()`, …). */
export interface Backend {
  queue: QueueAdapter;
  storage: StorageAdapter;
  metrics: MetricsAdapter;
  events: EventBus;
}

/** Initialise every part of a backend (idempotent). */
export async function initBackend(backend: Backend): Promise<void> {
  await backend.queue.init();
  await backend.storage.init();
  await backend.metrics.init();
  await backend.events.init();
}

/** Close every part of a backend; parts that share a connection must tolerate being closed twice. */
export async function closeBackend(backend: Backend): Promise<void> {
  await backend.events.close();
  await backend.metrics.close();
  await backend.storage.close();
  await backend.queue.close();
}
