/** The in-memory reference adapters of the four contracts, and `createMemoryBackend()`. */
export type { MemoryBackend, MemoryBackendOptions } from './backend';
export { createMemoryBackend } from './backend';
export { MemoryEventBus } from './event-bus';
export { MemoryMetricsAdapter } from './metrics-adapter';
export type { MemoryAdapterOptions } from './options';
export { MEMORY_CAPABILITIES } from './options';
export type { MemoryInlineSink, MemoryQueueOptions } from './queue-adapter';
export { MemoryQueueAdapter } from './queue-adapter';
export type { MemoryStorageOptions } from './storage-adapter';
export { MemoryStorageAdapter } from './storage-adapter';
