/**
 * @conveyor/core — contracts (queue, storage, metrics, events), the runtime (Queue, Worker, Scheduler), the
 * framework-agnostic dashboard handler, and the in-memory adapters.
 */
export * from './contracts/index';
export * from './dashboard/index';
export * from './memory/index';
export * from './node/index';
export * from './runtime/index';
export * from './util/index';
