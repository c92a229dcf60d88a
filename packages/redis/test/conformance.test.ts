import { runConformanceSuite } from '@conveyor/adapters-conformance';
import { afterAll, describe, it } from 'vitest';
import { createRedisBackend } from '../src/index';
import { deleteKeys, REDIS_URL, redisAvailable, skippedTitle, testPrefix } from './helpers';

/**
 * The shared suite, unchanged. Every backend gets its own key prefix on the shared Redis (so checks never see each
 * other's keys) and the suite's hand-moved clock. 200 model runs (as the memory reference runs) keep this file well under a minute on the shared
 * 2-core machine; every key is deleted afterwards.
 */
const availability = await redisAvailable();
const prefix = testPrefix('conformance');
let n = 0;

if (availability.ok) {
  afterAll(() => deleteKeys(prefix).then(() => undefined));
  runConformanceSuite({
    name: 'redis',
    createBackend: ({ clock }) =>
      createRedisBackend({
        connection: REDIS_URL,
        prefix: `${prefix}-${++n}`,
        clock: clock.now,
        connectionName: 'conveyor-test-conformance',
      }),
    modelRuns: 200,
    timeoutMs: 60_000,
  });
} else {
  describe(skippedTitle('conformance: redis', availability.reason), () => {
    // The loud placeholder when Redis is unreachable on a developer's machine. Covered in CI, which sets
    // CONVEYOR_REQUIRE_SERVICES=1: redisAvailable() then throws instead, so the suite always runs there.
    it.skip('the shared conformance suite', () => {});
  });
}
