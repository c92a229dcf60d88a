import { createMemoryBackend } from '@conveyor/core';
import type { BenchTargetFactory } from '../types';
import { conveyorTarget } from './conveyor';

/** Conveyor on the in-memory backend. */
const factory: BenchTargetFactory = () =>
  conveyorTarget('conveyor-memory', {
    // Keep at most as many execution records as a big run writes, so eviction does not skew the figures.
    open: () => createMemoryBackend({ maxExecutions: 1_000_000 }),
  });
export default factory;
