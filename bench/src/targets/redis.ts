import { randomBytes } from 'node:crypto';
import { createRedisBackend } from '@conveyor/redis';
import { Redis } from 'ioredis';
import type { BenchTargetFactory } from '../types';
import { conveyorTarget } from './conveyor';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Conveyor on Redis, under a fresh random key prefix on the same Redis as the BullMQ target; teardown deletes that
 * prefix's keys.
 */
const factory: BenchTargetFactory = () => {
  const prefix = `bench-conveyor-${randomBytes(4).toString('hex')}`;
  return conveyorTarget('conveyor-redis', {
    open: () => createRedisBackend({ connection: REDIS_URL, prefix, connectionName: 'conveyor-bench' }),
    cleanup: () => deleteByPattern(`{${prefix}*`),
  });
};
export default factory;

/** Delete the keys of one bench run (SCAN is fine here: teardown, never a timed path). */
export async function deleteByPattern(pattern: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}
