import { afterAll, describe, it } from 'vitest';
import { describeDashboardApi } from '../../core/test/dashboard/api-suite';
import { createRedisBackend } from '../src/index';
import { deleteKeys, REDIS_URL, redisAvailable, skippedTitle, testPrefix } from './helpers';

// The dashboard's endpoint suite once over Redis: its own key prefix per test, every key deleted afterwards.
const availability = await redisAvailable();
const prefix = testPrefix('dashboard');
let n = 0;

if (availability.ok) {
  afterAll(() => deleteKeys(prefix).then(() => undefined));
  describeDashboardApi('redis', (clock) =>
    createRedisBackend({
      connection: REDIS_URL,
      prefix: `${prefix}-${++n}`,
      clock,
      connectionName: 'conveyor-test-dashboard',
    }),
  );
} else {
  describe(skippedTitle('dashboard API over redis', availability.reason), () => {
    it('needs Redis', () => {});
  });
}
