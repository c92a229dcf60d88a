import type { Backend } from '../contracts/backend';
import { MemoryEventBus } from './event-bus';
import { MemoryMetricsAdapter } from './metrics-adapter';
import { MemoryQueueAdapter } from './queue-adapter';
import type { MemoryStorageOptions } from './storage-adapter';
import { MemoryStorageAdapter } from './storage-adapter';

/** Options of {@link createMemoryBackend}; the clock and logger are shared by the four adapters. */
export interface MemoryBackendOptions extends MemoryStorageOptions {
  /**
   * The queue adapter writes execution records, metrics and events with each enqueue, claim and ack
   * (`capabilities.inlineRecords`), as the networked adapters do; the runtime then buffers none of them.
   * @default false
   */
  inlineRecords?: boolean;
}

/** The four memory adapters, typed as their classes (and usable wherever a {@link Backend} is expected). */
export interface MemoryBackend extends Backend {
  queue: MemoryQueueAdapter;
  storage: MemoryStorageAdapter;
  metrics: MemoryMetricsAdapter;
  events: MemoryEventBus;
}

/**
 * A complete backend in this process's memory: for tests, demos and single-process apps that can lose their jobs on
 * restart. Nothing is shared with other processes.
 *
 * @example
 * const backend = createMemoryBackend();
 * await initBackend(backend);
 */
export function createMemoryBackend(options: MemoryBackendOptions = {}): MemoryBackend {
  const storage = new MemoryStorageAdapter(options);
  const metrics = new MemoryMetricsAdapter(options);
  const events = new MemoryEventBus(options);
  const queue = new MemoryQueueAdapter(
    options.inlineRecords === true ? { ...options, inline: { storage, metrics, events } } : options,
  );
  return { queue, storage, metrics, events };
}
