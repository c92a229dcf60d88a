import { Logger, makeWorkerUtils, type Runner, run, runMigrations, type WorkerUtils } from 'graphile-worker';
import type { BenchTarget, BenchTargetFactory } from '../types';
import { DATABASE_URL, dropSchema } from './pg-schema';

const TASK = 'noop';
const SCHEMA = 'bench_graphile';
/** Jobs per addJobs call when pre-loading for the process scenario. */
const PRELOAD_BATCH = 5000;
/** Per-job INFO lines to the console would dominate a no-op benchmark; every target runs silent. */
const silent = new Logger(() => () => {});

/**
 * graphile-worker 0.17 with its batching on, as its performance docs recommend for many short jobs: a local queue
 * (jobs fetched and locked in batches) and batched completions (`completeJobBatchDelay`/`failJobBatchDelay`).
 * Bulk enqueue uses `addJobs` (one statement per batch); single enqueue `addJob`.
 */
class GraphileWorkerTarget implements BenchTarget {
  readonly name = 'graphile-worker';
  private utils: WorkerUtils | null = null;

  async setup(): Promise<void> {
    await dropSchema(SCHEMA);
    await runMigrations({ connectionString: DATABASE_URL, schema: SCHEMA, logger: silent });
    this.utils = await makeWorkerUtils({ connectionString: DATABASE_URL, schema: SCHEMA, logger: silent });
  }

  private parts(): WorkerUtils {
    if (this.utils === null) throw new Error('graphile-worker: setup() was not called');
    return this.utils;
  }

  async enqueueSingle(n: number, payload: unknown, parallel: number): Promise<void> {
    const utils = this.parts();
    let next = 0;
    const lane = async () => {
      while (next < n) {
        next++;
        await utils.addJob(TASK, payload as object);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, parallel) }, lane));
  }

  async enqueueBulk(n: number, payload: unknown, batch: number): Promise<void> {
    const utils = this.parts();
    for (let done = 0; done < n; done += batch) {
      const size = Math.min(batch, n - done);
      await utils.addJobs(Array.from({ length: size }, () => ({ identifier: TASK, payload: payload as object })));
    }
  }

  async process(n: number, payload: unknown, concurrency: number): Promise<{ seconds: number; cpuSeconds: number }> {
    const utils = this.parts();
    for (let done = 0; done < n; done += PRELOAD_BATCH) {
      const size = Math.min(PRELOAD_BATCH, n - done);
      await utils.addJobs(Array.from({ length: size }, () => ({ identifier: TASK, payload: payload as object })));
    }
    let completed = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // Timed from here: the pre-load above is not part of the processing rate.
    const wall = performance.now();
    const cpu = process.cpuUsage();
    const runner: Runner = await run({
      connectionString: DATABASE_URL,
      schema: SCHEMA,
      concurrency,
      noHandleSignals: true,
      logger: silent,
      pollInterval: 1000,
      maxPoolSize: Math.max(10, concurrency + 2),
      preset: {
        worker: {
          localQueue: { size: Math.max(concurrency + 1, 500) },
          completeJobBatchDelay: 2,
          failJobBatchDelay: 2,
        },
      },
      taskList: {
        [TASK]: async () => {
          if (++completed === n) finish();
        },
      },
    });
    await finished;
    // stop() flushes the batched completions: the jobs are gone from the table when it resolves.
    await runner.stop();
    const used = process.cpuUsage(cpu);
    return { seconds: (performance.now() - wall) / 1000, cpuSeconds: (used.user + used.system) / 1e6 };
  }

  async teardown(): Promise<void> {
    if (this.utils !== null) await this.utils.release();
    this.utils = null;
    await dropSchema(SCHEMA);
  }
}

const factory: BenchTargetFactory = () => new GraphileWorkerTarget();
export default factory;
