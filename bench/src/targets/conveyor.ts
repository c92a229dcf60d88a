import { type Backend, closeBackend, initBackend, Queue, Worker } from '@conveyor/core';
import type { BenchTarget, ProcessTiming } from '../types';

const QUEUE = 'bench';
const TYPE = 'noop';

/** How a Conveyor target gets its store: open a fresh one, and remove what it created after. */
export interface ConveyorStore {
  open(): Backend | Promise<Backend>;
  /** Delete the file, schema or keys the run created (after the backend is closed). */
  cleanup?(): void | Promise<void>;
  /** Jobs per store call when pre-loading the process scenario (pre-loading is not timed). @default 1000 */
  preloadBatch?: number;
}

/**
 * Conveyor on one backend, driven the same way for every backend: the runtime's Queue for enqueueing and its
 * Worker with a no-op handler for processing, so the figures include everything a user pays for (validation,
 * batching, execution records, metrics, events), not just the adapter.
 */
export function conveyorTarget(name: string, store: ConveyorStore): BenchTarget {
  let backend: Backend | null = null;
  let queue: Queue | null = null;
  const parts = () => {
    if (backend === null || queue === null) throw new Error(`${name}: setup() was not called`);
    return { backend, queue };
  };
  return {
    name,
    async setup() {
      backend = await store.open();
      await initBackend(backend);
      queue = new Queue(QUEUE, { backend });
    },
    async enqueueSingle(n, payload, parallel) {
      const { queue: q } = parts();
      let next = 0;
      const lane = async () => {
        while (next < n) {
          next++;
          await q.enqueue(TYPE, payload);
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
    },
    async enqueueBulk(n, payload, batch) {
      const { queue: q } = parts();
      for (let done = 0; done < n; done += batch) {
        const size = Math.min(batch, n - done);
        await q.enqueueBulk(Array.from({ length: size }, () => ({ type: TYPE, payload })));
      }
    },
    async process(n, payload, concurrency) {
      const { backend: b } = parts();
      const preload = store.preloadBatch ?? 1000;
      for (let done = 0; done < n; done += preload) {
        const size = Math.min(preload, n - done);
        await b.queue.enqueueMany(Array.from({ length: size }, () => ({ queue: QUEUE, type: TYPE, payload })));
      }
      return processWith(b, n, concurrency);
    },
    async teardown() {
      if (queue !== null) await queue.close();
      if (backend !== null) await closeBackend(backend);
      queue = null;
      backend = null;
      await store.cleanup?.();
    },
  };
}

/** Run a Worker with a no-op handler until `n` jobs completed; returns the timing of that phase alone. */
export async function processWith(backend: Backend, n: number, concurrency: number): Promise<ProcessTiming> {
  let completed = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // The pre-load's garbage is not the processing phase's: collect it first when the bench made gc() available.
  (globalThis as { gc?: () => void }).gc?.();
  const prefetch = Number(process.env.BENCH_PREFETCH ?? 0);
  const worker = new Worker(QUEUE, { [TYPE]: async () => {} }, { backend, concurrency, prefetch });
  worker.on('completed', () => {
    if (++completed === n) finish();
  });
  const cpu = process.cpuUsage();
  const started = performance.now();
  await worker.start();
  await finished;
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await worker.close();
  return { seconds, cpuSeconds: (used.user + used.system) / 1e6 };
}
