import { randomBytes } from 'node:crypto';
import { type Job, Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import type { BenchTarget, BenchTargetFactory, ProcessTiming } from '../types';
import { deleteByPattern } from './redis';

const QUEUE = 'bench';
const TYPE = 'noop';
const PRELOAD_BATCH = 1000;
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * BullMQ 5 on the same Redis, with its recommended setup: one shared connection for the Queue, a dedicated one
 * (maxRetriesPerRequest: null) for the Worker, a no-op processor at the same concurrency. Jobs are kept after
 * completion (BullMQ's default, like Conveyor's `removeOnComplete: false`). Its own random prefix; teardown deletes
 * it.
 */
class BullmqTarget implements BenchTarget {
  readonly name = 'bullmq';
  private prefix = '';
  private connection: Redis | null = null;
  private queue: Queue | null = null;

  async setup(): Promise<void> {
    this.prefix = `bench-bullmq-${randomBytes(4).toString('hex')}`;
    this.connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    this.queue = new Queue(QUEUE, { connection: this.connection, prefix: this.prefix });
    await this.queue.waitUntilReady();
  }

  private q(): Queue {
    if (this.queue === null) throw new Error('bullmq: setup() was not called');
    return this.queue;
  }

  async enqueueSingle(n: number, payload: unknown, parallel: number): Promise<void> {
    const queue = this.q();
    let next = 0;
    const lane = async () => {
      while (next < n) {
        next++;
        await queue.add(TYPE, payload);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  }

  async enqueueBulk(n: number, payload: unknown, batch: number): Promise<void> {
    const queue = this.q();
    for (let done = 0; done < n; done += batch) {
      const size = Math.min(batch, n - done);
      await queue.addBulk(Array.from({ length: size }, () => ({ name: TYPE, data: payload })));
    }
  }

  async process(n: number, payload: unknown, concurrency: number): Promise<ProcessTiming> {
    const queue = this.q();
    for (let done = 0; done < n; done += PRELOAD_BATCH) {
      const size = Math.min(PRELOAD_BATCH, n - done);
      await queue.addBulk(Array.from({ length: size }, () => ({ name: TYPE, data: payload })));
    }
    let completed = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // The pre-load's garbage is not the processing phase's: collect it first, as the Conveyor targets do.
    (globalThis as { gc?: () => void }).gc?.();
    // Timed from here: the processing phase alone, measured the same way for both targets.
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const workerConnection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const worker = new Worker(QUEUE, async (_job: Job) => {}, {
      connection: workerConnection,
      prefix: this.prefix,
      concurrency,
    });
    worker.on('completed', () => {
      if (++completed === n) finish();
    });
    await worker.waitUntilReady();
    await finished;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    await worker.close();
    workerConnection.disconnect();
    return { seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
  }

  async teardown(): Promise<void> {
    if (this.queue !== null) {
      await this.queue.obliterate({ force: true }).catch(() => undefined);
      await this.queue.close();
    }
    this.connection?.disconnect();
    this.queue = null;
    this.connection = null;
    if (this.prefix !== '') await deleteByPattern(`${this.prefix}:*`);
  }
}

const factory: BenchTargetFactory = () => new BullmqTarget();
export default factory;
