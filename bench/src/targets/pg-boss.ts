import PgBoss from 'pg-boss';
import type { BenchTarget, BenchTargetFactory } from '../types';
import { DATABASE_URL, dropSchema } from './pg-schema';

const QUEUE = 'bench';
const SCHEMA = 'bench_pgboss';
/** Jobs per insert call when pre-loading for the process scenario. */
const PRELOAD_BATCH = 5000;
/** Jobs fetched (and completed) per round trip by each work() loop. */
const FETCH_BATCH = 100;

/**
 * pg-boss 10: `send` for single enqueue, `insert` for bulk, and `work()` loops fetching `FETCH_BATCH` jobs per poll
 * (its handler receives an array and completes the batch in one statement). v10 has no per-worker concurrency option,
 * so `concurrency` becomes ceil(concurrency / FETCH_BATCH) parallel work() loops, polling every 0.5 s (its minimum).
 */
class PgBossTarget implements BenchTarget {
  readonly name = 'pg-boss';
  private boss: PgBoss | null = null;

  async setup(): Promise<void> {
    await dropSchema(SCHEMA);
    this.boss = new PgBoss({
      connectionString: DATABASE_URL,
      schema: SCHEMA,
      max: 8,
      supervise: false,
      schedule: false,
    });
    this.boss.on('error', () => {});
    await this.boss.start();
    await this.boss.createQueue(QUEUE);
  }

  private parts(): PgBoss {
    if (this.boss === null) throw new Error('pg-boss: setup() was not called');
    return this.boss;
  }

  async enqueueSingle(n: number, payload: unknown, parallel: number): Promise<void> {
    const boss = this.parts();
    let next = 0;
    const lane = async () => {
      while (next < n) {
        next++;
        await boss.send(QUEUE, payload as object);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  }

  async enqueueBulk(n: number, payload: unknown, batch: number): Promise<void> {
    const boss = this.parts();
    for (let done = 0; done < n; done += batch) {
      const size = Math.min(batch, n - done);
      await boss.insert(Array.from({ length: size }, () => ({ name: QUEUE, data: payload as object })));
    }
  }

  async process(n: number, payload: unknown, concurrency: number): Promise<{ seconds: number; cpuSeconds: number }> {
    const boss = this.parts();
    for (let done = 0; done < n; done += PRELOAD_BATCH) {
      const size = Math.min(PRELOAD_BATCH, n - done);
      await boss.insert(Array.from({ length: size }, () => ({ name: QUEUE, data: payload as object })));
    }
    let completed = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // Timed from here: the pre-load above is not part of the processing rate.
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const loops = Math.max(1, Math.ceil(concurrency / FETCH_BATCH));
    const batchSize = Math.max(1, Math.min(FETCH_BATCH, concurrency));
    for (let i = 0; i < loops; i++) {
      await boss.work(QUEUE, { batchSize, pollingIntervalSeconds: 0.5 }, async (jobs) => {
        completed += jobs.length;
        if (completed >= n) setImmediate(finish);
      });
    }
    await finished;
    await boss.offWork(QUEUE);
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  }

  async teardown(): Promise<void> {
    if (this.boss !== null) await this.boss.stop({ graceful: true, wait: true });
    this.boss = null;
    await dropSchema(SCHEMA);
  }
}

const factory: BenchTargetFactory = () => new PgBossTarget();
export default factory;
