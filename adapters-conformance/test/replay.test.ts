import { describe, expect, it } from 'vitest';
import { createTestClock, runModel, TEST_EPOCH } from '../src/index';
import { countsOffByOne, healthy } from './broken-adapters';

/** Pull `seed`, `path` and the commands' `replayPath` out of fast-check's failure report. */
function replayInfo(message: string) {
  const seed = /seed: (-?\d+)/.exec(message)?.[1];
  const path = /path: "([^"]+)"/.exec(message)?.[1];
  const replayPath = /replayPath="([^"]+)"/.exec(message)?.[1];
  const counterexample = /Counterexample: (.*)/.exec(message)?.[1];
  if (seed === undefined || path === undefined) throw new Error(`no seed/path in the report:\n${message}`);
  return { seed: Number(seed), path, replayPath, counterexample };
}

describe('model regressions', () => {
  it('a failing run is replayed exactly from the seed and path fast-check prints', async () => {
    const failure = await runModel(countsOffByOne, { runs: 50 }).then(
      () => null,
      (error: unknown) => String(error instanceof Error ? error.message : error),
    );
    expect(failure).not.toBeNull();
    const info = replayInfo(failure as string);
    expect(info.replayPath).toBeDefined();
    const replayed = await runModel(countsOffByOne, {
      seed: info.seed,
      path: info.path,
      replayPath: info.replayPath ?? '',
    }).then(
      () => null,
      (error: unknown) => String(error instanceof Error ? error.message : error),
    );
    expect(replayed).not.toBeNull();
    expect(replayInfo(replayed as string).counterexample).toBe(info.counterexample);
    // The same sequence passes once the bug is gone: that is what a regression entry asserts forever after.
    // replayPath is what makes this reliable: without it, fc.commands re-derives the shrink tree from which
    // commands ran, and the path can lead elsewhere.
    await expect(
      runModel(healthy, { seed: info.seed, path: info.path, replayPath: info.replayPath ?? '' }),
    ).resolves.toBeUndefined();
  });
});

describe('test clock', () => {
  it('starts at the fixed epoch, moves only forward, and rejects bad moves', () => {
    const clock = createTestClock();
    expect(clock.now()).toBe(TEST_EPOCH);
    expect(new Date(TEST_EPOCH).toISOString()).toBe('2030-01-01T00:00:00.000Z');
    clock.advance(1500);
    expect(clock.now()).toBe(TEST_EPOCH + 1500);
    clock.set(TEST_EPOCH + 10_000);
    expect(clock.now()).toBe(TEST_EPOCH + 10_000);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.set(TEST_EPOCH)).toThrow(/only move forward/);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    const { now } = createTestClock(42);
    expect(now()).toBe(42); // detached: safe to pass as `clock: clock.now`
  });
});
