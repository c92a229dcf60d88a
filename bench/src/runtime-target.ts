import { Queue } from '@conveyor/core';
import { createNullBackend } from './null-backend';
import { processWith } from './targets/conveyor';
import type { BenchTarget } from './types';

/**
 * `--adapter runtime`: Conveyor's Queue and Worker over {@link createNullBackend}, a store that does nothing. The
 * figures are the runtime's own ceiling (validation, claim loop, batching, records, metrics), the most any adapter
 * can reach through it; the gap to `conveyor-memory` is what the memory adapters cost.
 */
export function createRuntimeOnlyTarget(): BenchTarget {
  let backend = createNullBackend();
  let queue = new Queue('bench', { backend });
  return {
    name: 'conveyor-runtime-only',
    async setup() {
      backend = createNullBackend();
      queue = new Queue('bench', { backend });
    },
    async enqueueSingle(n, payload, parallel) {
      let next = 0;
      const lane = async () => {
        while (next < n) {
          next++;
          await queue.enqueue('noop', payload);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
    },
    async enqueueBulk(n, payload, batch) {
      for (let done = 0; done < n; done += batch) {
        const size = Math.min(batch, n - done);
        await queue.enqueueBulk(Array.from({ length: size }, () => ({ type: 'noop', payload })));
      }
    },
    async process(n, payload, concurrency) {
      backend.load(n, payload);
      return processWith(backend, n, concurrency);
    },
    async teardown() {
      await queue.close();
    },
  };
}
