import { closeBackend, createMemoryBackend, initBackend, type MemoryBackend, Queue, Worker } from '@conveyor/core';
import type { BenchTarget, BenchTargetFactory, ProcessTiming } from '../types';

const QUEUE = 'bench';
const TYPE = 'noop';
/** Jobs per store call when pre-loading the process scenario (pre-loading is not timed). */
const PRELOAD_BATCH = 1000;

/**
 * Conveyor on the in-memory backend: the runtime's Queue for enqueueing and its Worker with a no-op handler for
 * processing, so the figures include everything a user pays for (validation, batching, execution records, metrics,
 * events), not just the adapter.
 */
class ConveyorMemoryTarget implements BenchTarget {
  readonly name = 'conveyor-memory';
  private backend: MemoryBackend | null = null;
  private queue: Queue | null = null;

  async setup(): Promise<void> {
    // Keep at most as many execution records as a big run writes, so eviction does not skew the figures.
    this.backend = createMemoryBackend({ maxExecutions: 1_000_000 });
    await initBackend(this.backend);
    this.queue = new Queue(QUEUE, { backend: this.backend });
  }

  private parts(): { backend: MemoryBackend; queue: Queue } {
    if (this.backend === null || this.queue === null) throw new Error('conveyor-memory: setup() was not called');
    return { backend: this.backend, queue: this.queue };
  }

  async enqueueSingle(n: number, payload: unknown, parallel: number): Promise<void> {
    const { queue } = this.parts();
    let next = 0;
    const lane = async () => {
      while (next < n) {
        next++;
        await queue.enqueue(TYPE, payload);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  }

  async enqueueBulk(n: number, payload: unknown, batch: number): Promise<void> {
    const { queue } = this.parts();
    for (let done = 0; done < n; done += batch) {
      const size = Math.min(batch, n - done);
      await queue.enqueueBulk(Array.from({ length: size }, () => ({ type: TYPE, payload })));
    }
  }

  async process(n: number, payload: unknown, concurrency: number): Promise<ProcessTiming> {
    const { backend } = this.parts();
    for (let done = 0; done < n; done += PRELOAD_BATCH) {
      const size = Math.min(PRELOAD_BATCH, n - done);
      await backend.queue.enqueueMany(Array.from({ length: size }, () => ({ queue: QUEUE, type: TYPE, payload })));
    }
    return processWith(backend, n, concurrency);
  }

  async teardown(): Promise<void> {
    if (this.queue !== null) await this.queue.close();
    if (this.backend !== null) await closeBackend(this.backend);
    this.queue = null;
    this.backend = null;
  }
}

/** Run a Worker with a no-op handler until `n` jobs completed; returns the timing of that phase alone. */
export async function processWith(
  backend: ConstructorParameters<typeof Worker>[2]['backend'],
  n: number,
  concurrency: number,
): Promise<ProcessTiming> {
  let completed = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  // The pre-load's garbage is not the processing phase's: collect it first when the bench made gc() available.
  (globalThis as { gc?: () => void }).gc?.();
  const worker = new Worker(QUEUE, { [TYPE]: async () => {} }, { backend, concurrency });
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

const factory: BenchTargetFactory = () => new ConveyorMemoryTarget();
export default factory;
