import { closeBackend, initBackend, Queue, Worker } from '@conveyor/core';
import { createPostgresBackend, type PostgresBackend } from '@conveyor/postgres';
import pg from 'pg';
import type { BenchTarget, BenchTargetFactory } from '../types';

const QUEUE = 'bench';
const TYPE = 'noop';
const SCHEMA = 'bench_conveyor';
/** Jobs per store call when pre-loading for the process scenario. */
const PRELOAD_BATCH = 5000;
const DATABASE_URL = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function dropSchema(): Promise<void> {
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * Conveyor on Postgres, through the runtime's Queue (enqueue) and Worker (process, no-op handler), in its own schema
 * of the same database the graphile-worker and pg-boss targets use. Retention is the default (completed jobs kept),
 * so every completion is an UPDATE, not a DELETE.
 */
class ConveyorPostgresTarget implements BenchTarget {
  readonly name = 'conveyor-postgres';
  private backend: PostgresBackend | null = null;
  private queue: Queue | null = null;

  async setup(): Promise<void> {
    await dropSchema();
    this.backend = createPostgresBackend({ connectionString: DATABASE_URL, schema: SCHEMA, poolSize: 8 });
    await initBackend(this.backend);
    this.queue = new Queue(QUEUE, { backend: this.backend });
  }

  private parts(): { backend: PostgresBackend; queue: Queue } {
    if (this.backend === null || this.queue === null) throw new Error('conveyor-postgres: setup() was not called');
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

  async process(n: number, payload: unknown, concurrency: number): Promise<{ seconds: number; cpuSeconds: number }> {
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
    // Timed from here: the pre-load above is not part of the processing rate.
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const worker = new Worker(QUEUE, { [TYPE]: async () => {} }, { backend, concurrency });
    worker.on('completed', () => {
      if (++completed === n) finish();
    });
    await worker.start();
    await finished;
    await worker.close();
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  }

  async teardown(): Promise<void> {
    if (this.queue !== null) await this.queue.close();
    if (this.backend !== null) await closeBackend(this.backend);
    this.queue = null;
    this.backend = null;
    await dropSchema();
  }
}

const factory: BenchTargetFactory = () => new ConveyorPostgresTarget();
export default factory;
