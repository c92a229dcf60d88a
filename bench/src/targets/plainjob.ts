import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { better, defineQueue, defineWorker } from 'plainjob';
import type { BenchTarget, BenchTargetFactory } from '../types';

type PlainQueue = ReturnType<typeof defineQueue>;

const TYPE = 'noop';
const PRELOAD_BATCH = 1000;
const silent = { error() {}, warn() {}, info() {}, debug() {} };

/**
 * plainjob as its README sets it up for Node: better-sqlite3 on a WAL file (plainjob sets WAL, synchronous=NORMAL
 * and busy_timeout itself), `add` / `addMany` to enqueue, `defineWorker` with a no-op processor. plainjob's API is
 * synchronous, so `parallel` changes nothing for enqueueSingle. Its worker runs one job at a time; for `concurrency`
 * the target starts that many workers on the one queue (interleaving at each await), its fairest reading of
 * concurrency. Completion is counted with `onCompleted` (no polling cost on either side).
 */
class PlainjobTarget implements BenchTarget {
  readonly name = 'plainjob';
  private dir = '';
  private db: Database.Database | null = null;
  private queue: PlainQueue | null = null;

  async setup(): Promise<void> {
    this.dir = mkdtempSync(join(tmpdir(), 'conveyor-bench-plainjob-'));
    this.db = new Database(join(this.dir, 'queue.db'));
    this.queue = defineQueue({ connection: better(this.db), logger: silent });
  }

  private q(): PlainQueue {
    if (this.queue === null) throw new Error('plainjob: setup() was not called');
    return this.queue;
  }

  async enqueueSingle(n: number, payload: unknown, _parallel: number): Promise<void> {
    const queue = this.q();
    for (let i = 0; i < n; i++) queue.add(TYPE, payload);
  }

  async enqueueBulk(n: number, payload: unknown, batch: number): Promise<void> {
    const queue = this.q();
    for (let done = 0; done < n; done += batch) {
      queue.addMany(
        TYPE,
        Array.from({ length: Math.min(batch, n - done) }, () => payload),
      );
    }
  }

  async process(n: number, payload: unknown, concurrency: number): Promise<void> {
    const queue = this.q();
    for (let done = 0; done < n; done += PRELOAD_BATCH) {
      queue.addMany(
        TYPE,
        Array.from({ length: Math.min(PRELOAD_BATCH, n - done) }, () => payload),
      );
    }
    let completed = 0;
    let finish!: () => void;
    const finished = new Promise<void>((resolve) => {
      finish = resolve;
    });
    const workers = Array.from({ length: Math.max(1, concurrency) }, () =>
      defineWorker(TYPE, async () => {}, {
        queue,
        logger: silent,
        pollIntervall: 10,
        onCompleted: () => {
          if (++completed === n) finish();
        },
      }),
    );
    for (const worker of workers) void worker.start();
    await finished;
    await Promise.all(workers.map((worker) => worker.stop()));
  }

  async teardown(): Promise<void> {
    this.queue?.close();
    if (this.db?.open) this.db.close();
    this.queue = null;
    this.db = null;
    if (this.dir !== '') rmSync(this.dir, { recursive: true, force: true });
  }
}

const factory: BenchTargetFactory = () => new PlainjobTarget();
export default factory;
