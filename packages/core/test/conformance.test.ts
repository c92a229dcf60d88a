import { runConformanceSuite } from '@conveyor/adapters-conformance';
import { createMemoryBackend } from '@conveyor/core';

// The memory adapters are the reference implementation: they run the whole suite, the model at 200 runs.
runConformanceSuite({
  name: 'memory',
  createBackend: ({ clock }) => createMemoryBackend({ clock: clock.now }),
  modelRuns: 200,
});
