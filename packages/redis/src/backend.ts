import type { Backend } from '@conveyor/core';
import { RedisConnection } from './connection';
import { RedisEventBus } from './event-bus';
import { RedisMetricsAdapter } from './metrics-adapter';
import type { RedisBackendOptions } from './options';
import { RedisQueueAdapter } from './queue-adapter';
import { RedisStorageAdapter } from './storage-adapter';

/** The four Redis adapters, typed as their classes (usable wherever a {@link Backend} is expected). */
export interface RedisBackend extends Backend {
  queue: RedisQueueAdapter;
  storage: RedisStorageAdapter;
  metrics: RedisMetricsAdapter;
  events: RedisEventBus;
}

/**
 * A complete backend on one Redis: the four adapters share one command connection (closed when the last of them
 * closes) and the event bus opens one more for its blocking reader while it has subscribers.
 *
 * @example
 * const backend = createRedisBackend({ connection: process.env.REDIS_URL, prefix: 'myapp' });
 * await initBackend(backend);
 */
export function createRedisBackend(options: RedisBackendOptions = {}): RedisBackend {
  const connection = new RedisConnection(options);
  return {
    queue: new RedisQueueAdapter(connection),
    storage: new RedisStorageAdapter(connection),
    metrics: new RedisMetricsAdapter(connection),
    events: new RedisEventBus(connection),
  };
}
