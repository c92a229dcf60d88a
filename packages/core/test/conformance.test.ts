import { runConformanceSuite } from '@conveyor/adapters-conformance';
import { createMemoryBackend } from '@conveyor/core';

// The memory adapters are the reference implementation: they run the whole suite, the model at 200 runs.
runConformanceSuite({
  name: 'memory',
  createBackend: ({ clock }) => createMemoryBackend({ clock: clock.now }),
  modelRuns: 200,
});

// The same adapters with `inlineRecords`: the queue adapter writes records, metrics and events with its enqueues,
// claims and acks, so the suite's inline-records checks run on the reference implementation too.
runConformanceSuite({
  name: 'memory (inline records)',
  createBackend: ({ clock }) => createMemoryBackend({ clock: clock.now, inlineRecords: true }),
  modelRuns: 50,
});
