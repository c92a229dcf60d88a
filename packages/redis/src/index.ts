/**
 * @conveyor/redis — the Redis backend of Conveyor (ioredis): every multi-key operation is one Lua script, claims
 * and acks are batched, times come from the Redis server, events travel over a capped stream.
 */
export type { RedisBackend } from './backend';
export { createRedisBackend } from './backend';
export type { LuaScript, RedisClient } from './connection';
export { RedisConnection } from './connection';
export type { RedisSubscribeOptions } from './event-bus';
export { RedisEventBus } from './event-bus';
export { RedisMetricsAdapter } from './metrics-adapter';
export type { RedisBackendOptions, RedisClusterSeeds } from './options';
export { REDIS_CAPABILITIES } from './options';
export { RedisQueueAdapter } from './queue-adapter';
export { RedisStorageAdapter } from './storage-adapter';
