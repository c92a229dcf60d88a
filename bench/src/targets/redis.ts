import { randomBytes } from 'node:crypto';
import { closeBackend, Queue, Worker } from '@conveyor/core';
import { createRedisBackend, type RedisBackend } from '@conveyor/redis';
import { Redis } from 'ioredis';
import type { BenchTarget, BenchTargetFactory, ProcessTiming } from '../types';

const QUEUE = 'bench';
const TYPE = 'noop';
/** Jobs per store call when pre-loading for the process scenario (not part of the timed figure's meaning). */
const PRELOAD_BATCH = 1000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Conveyor on Redis: the runtime's Queue for enqueueing and its Worker (no-op handler) for processing, under a
 * fresh random key prefix on the same Redis as the BullMQ target; teardown deletes that prefix's keys.
 */
class ConveyorRedisTarget implements BenchTarget {
  readonly name = 'conveyor-redis';
  private prefix = '';
  private backend: RedisBackend | null = null;
  private queue: Queue | null = null;

  async setup(): Promise<void> {
    this.prefix = `bench-conveyor-${randomBytes(4).toString('hex')}`;
    this.backend = createRedisBackend({ connection: REDIS_URL, prefix: this.prefix, connectionName: 'conveyor-bench' });
    await this.backend.queue.init();
    this.queue = new Queue(QUEUE, { backend: this.backend });
  }

  private parts(): { backend: RedisBackend; queue: Queue } {
    if (this.backend === null || this.queue === null) throw new Error('conveyor-redis: setup() was not called');
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
    let completed = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // Timed from here: the processing phase alone, measured the same way for both targets.
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = new Worker(QUEUE, { [TYPE]: async () => {} }, { backend, concurrency });
    worker.on('completed', () => {
      if (++completed === n) finish();
    });
    await worker.start();
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await worker.close();
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  }

  async teardown(): Promise<void> {
    if (this.queue !== null) await this.queue.close();
    if (this.backend !== null) await closeBackend(this.backend);
    this.queue = null;
    this.backend = null;
    if (this.prefix !== '') await deleteByPattern(`{${this.prefix}*`);
  }
}

/** Delete the keys of one bench run (SCAN is fine here: teardown, never a timed path). */
export async function deleteByPattern(pattern: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await client.unlink(...keys);
    } while (cursor !== '0');
  } finally {
    client.disconnect();
  }
}

const factory: BenchTargetFactory = () => new ConveyorRedisTarget();
export default factory;
