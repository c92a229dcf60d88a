import type { NewJob } from '../../src/contracts/job';
import type { MemoryBackend } from '../../src/memory/index';
import { createMemoryBackend } from '../../src/memory/index';

/** A clock moved by hand. */
export interface FakeClock {
  (): number;
  advance(ms: number): void;
  set(ms: number): void;
}

export function fakeClock(start = Date.UTC(2030, 0, 1)): FakeClock {
  let now = start;
  const clock = (() => now) as FakeClock;
  clock.advance = (ms) => {
    now += ms;
  };
  clock.set = (ms) => {
    now = ms;
  };
  return clock;
}

export function backendWithClock(): { backend: MemoryBackend; clock: FakeClock } {
  const clock = fakeClock();
  return { backend: createMemoryBackend({ clock }), clock };
}

export function job(overrides: Partial<NewJob> = {}): NewJob {
  return { queue: 'q', type: 'send', payload: { n: 1 }, ...overrides };
}
