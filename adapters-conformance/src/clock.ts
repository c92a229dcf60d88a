import type { Clock } from '@conveyor/core';

/** 2030-01-01T00:00:00.000Z: a fixed, round start so failures are reproducible and easy to read. */
export const TEST_EPOCH = Date.UTC(2030, 0, 1);

/**
 * A clock the suite moves by hand. Pass `clock.now` as the adapter's `clock` option; the suite calls `advance`
 * to expire leases and reach `runAt`s without sleeping.
 */
export interface TestClock {
  /** The current time in ms. A bound function: pass it as is (`{ clock: clock.now }`). */
  readonly now: Clock;
  /** Move time forward by `ms` (must be ≥ 0: store time never goes back). */
  advance(ms: number): void;
  /** Jump to an absolute time (ms), at or after the current one. */
  set(ms: number): void;
}

/**
 * A {@link TestClock} starting at `start`.
 * @param start First reading in ms. @default TEST_EPOCH (2030-01-01T00:00:00Z)
 */
export function createTestClock(start: number = TEST_EPOCH): TestClock {
  let current = start;
  return {
    now: () => current,
    advance(ms: number) {
      if (!Number.isFinite(ms) || ms < 0) {
        throw new RangeError(`[conveyor] [conformance] clock.advance(${ms}): pass a finite number of ms ≥ 0.`);
      }
      current += ms;
    },
    set(ms: number) {
      if (!Number.isFinite(ms) || ms < current) {
        throw new RangeError(
          `[conveyor] [conformance] clock.set(${ms}): time may only move forward (it is ${current}); pass a later time.`,
        );
      }
      current = ms;
    },
  };
}
