import type { AdapterCapabilities, Clock, Logger } from '@conveyor/core';
import { ConveyorError, conveyorMessage, DEFAULT_CAPABILITIES } from '@conveyor/core';
import type { Cluster, Redis } from 'ioredis';

/** Options of {@link createRedisBackend} and of each Redis adapter class. */
export interface RedisBackendOptions {
  /**
   * Where Redis is: a `redis://` / `rediss://` URL, or an ioredis client you created (and keep owning: the backend
   * never quits a client it did not create; it duplicates it once for the blocking event reader). For a Redis
   * Cluster give `{ cluster: ['host:port', …] }` (seed nodes; the backend creates and closes the cluster client;
   * credentials and TLS are taken from the first seed's URL) or an ioredis `Cluster` client: the backend then
   * keeps every key of the prefix in one hash slot (see the README's "Redis Cluster").
   * @default 'redis://127.0.0.1:6379'
   */
  connection?: string | Redis | Cluster | RedisClusterSeeds;
  /**
   * Namespace of every key. Per-queue keys are `{prefix:queue}:…`, the rest `{prefix}:…` (see the README's key
   * layout); on a Redis Cluster every key is `{prefix}:…`. Two backends with different prefixes on one Redis never
   * see each other.
   * @default 'conveyor'
   */
  prefix?: string;
  /**
   * Where diagnostics go (the adapter never writes to the console).
   * @default silentLogger
   */
  logger?: Logger;
  /**
   * Replaces the server's clock (tests only: the conformance suite moves time with it). When unset, every time comes
   * from Redis itself (`TIME` inside the scripts), so clock skew between worker machines changes nothing.
   * @default undefined (server time)
   */
  clock?: Clock;
  /**
   * Refuse to start (`CONFIG_INVALID`) when Redis may evict keys (`maxmemory-policy` other than `noeviction`);
   * when false the adapter only warns through the logger, since eviction silently loses jobs.
   * @default false
   */
  requireNoEviction?: boolean;
  /**
   * `CLIENT SETNAME` of the connections this backend opens, so they can be found in `CLIENT LIST`.
   * Ignored for a client you pass in.
   * @default 'conveyor'
   */
  connectionName?: string;
  /**
   * Approximate number of entries the event stream keeps (`XADD MAXLEN ~`); each entry holds up to 100 events of
   * one publish. This bounds the stream's memory and how far back a reconnecting SSE client can resume.
   * @default 1_000
   */
  eventStreamMaxLen?: number;
}

/** Seed nodes of a Redis Cluster the backend connects to (and closes) itself. */
export interface RedisClusterSeeds {
  /** `host:port` or `redis://[user:password@]host:port` (`rediss://` for TLS); one reachable node is enough. */
  cluster: readonly string[];
}

/** The component name in messages: `[conveyor] [redis] …`. */
export const COMPONENT = 'redis';

/** What the Redis backend can do. Search over payloads would be a scan, so it is not offered. */
export const REDIS_CAPABILITIES: AdapterCapabilities = Object.freeze({
  ...DEFAULT_CAPABILITIES,
  search: false,
  crossProcessEvents: true,
  transactionalEnqueue: false,
  multiProcess: true,
  pushWakeup: false,
  inlineRecords: true,
});

export function redisError(code: ConveyorError['code'], sentence: string, cause?: unknown): ConveyorError {
  return new ConveyorError(code, conveyorMessage(COMPONENT, sentence), cause === undefined ? {} : { cause });
}

export function validationError(sentence: string): ConveyorError {
  return redisError('VALIDATION_FAILED', sentence);
}

export function closedError(what: string): ConveyorError {
  return redisError(
    'ADAPTER_CLOSED',
    `the ${what} was closed. Create a new backend with createRedisBackend() to keep working.`,
  );
}

/** `limit` of a list query: an integer in 1–1000. */
export function checkLimit(limit: number, max = 1000): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw validationError(`limit must be an integer from 1 to ${max}, got ${String(limit)}. Pass a smaller page size.`);
  }
}
