import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { closeBackend, Queue, Worker } from '@conveyor/core';
import { createSqliteBackend, type SqliteBackend } from '@conveyor/sqlite';
import type { BenchTarget, BenchTargetFactory } from '../types';

const QUEUE = 'bench';
const TYPE = 'noop';
/** Jobs per store call when pre-loading for the process scenario (not timed separately by the harness). */
const PRELOAD_BATCH = 1000;

/**
 * Conveyor on SQLite: a fresh WAL file in a temp directory per run (the same kind of file the plainjob target
 * uses), the runtime's Queue for enqueueing and its Worker with a no-op handler for processing.
 */
class ConveyorSqliteTarget implements BenchTarget {
  readonly name = 'conveyor-sqlite';
  private dir = '';
  private backend: SqliteBackend | null = null;
  private queue: Queue | null = null;

  async setup(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-sqlite-'));
    this.backend = createSqliteBackend({ connection: join(this.dir, 'queue.db') });
    await this.backend.queue.init();
    this.queue = new Queue(QUEUE, { backend: this.backend });
  }

  private parts(): { backend: SqliteBackend; queue: Queue } {
    if (this.backend === null || this.queue === null) throw new Error('conveyor-sqlite: setup() was not called');
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

  async process(n: number, payload: unknown, concurrency: number): Promise<void> {
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
    const worker = new Worker(QUEUE, { [TYPE]: async () => {} }, { backend, concurrency });
    worker.on('completed', () => {
      if (++completed === n) finish();
    });
    await worker.start();
    await finished;
    await worker.close();
  }

  async teardown(): Promise<void> {
    if (this.queue !== null) await this.queue.close();
    if (this.backend !== null) await closeBackend(this.backend);
    this.queue = null;
    this.backend = null;
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }
}

const factory: BenchTargetFactory = () => new ConveyorSqliteTarget();
export default factory;
