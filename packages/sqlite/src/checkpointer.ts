import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { Logger } from '@conveyor/core';

/**
 * The thread's program (CommonJS, run with `eval`): its own connection to the file, a PASSIVE checkpoint every
 * `intervalMs`, and a last one before it closes. PASSIVE never waits for a lock and never blocks the writer; a
 * failure is reported once and the thread stops, leaving checkpoints to the writer's `wal_autocheckpoint`.
 */
const THREAD_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
let db = null;
let timer = null;
const stop = () => {
  if (timer !== null) clearInterval(timer);
  timer = null;
  if (db !== null && db.open) db.close();
  db = null;
};
const tick = () => {
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort.postMessage({ error: String((error && error.message) || error) });
    stop();
  }
};
try {
  db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 0');
  timer = setInterval(tick, workerData.intervalMs);
} catch (error) {
  parentPort.postMessage({ error: String((error && error.message) || error) });
  stop();
}
parentPort.on('message', () => {
  if (db !== null) tick();
  stop();
  parentPort.close();
});
`;

/**
 * Copies the WAL back into the database file from a worker thread, so the writing thread does not do it inside a
 * commit. A checkpoint is mostly waiting for the disk (two syncs); done by the writer, every commit that reaches
 * `wal_autocheckpoint` pages stalls for it. The writer keeps its `wal_autocheckpoint` as a backstop: when this
 * thread keeps up, the WAL restarts before reaching it.
 */
export class BackgroundCheckpointer {
  private readonly worker: Worker;
  private stopped = false;
  /** Resolves once the thread has exited. */
  readonly exited: Promise<void>;

  constructor(file: string, intervalMs: number, logger: Logger) {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: { driver, file, intervalMs } });
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (message: { error?: string }) => {
      if (message.error !== undefined) {
        logger.warn(
          '[conveyor] [sqlite] background checkpoints stopped; commits checkpoint the WAL themselves (wal_autocheckpoint)',
          { error: message.error },
        );
      }
    });
    this.worker.on('error', (error) => {
      logger.warn(
        '[conveyor] [sqlite] the background checkpoint thread failed; commits checkpoint the WAL themselves',
        {
          error: error.message,
        },
      );
    });
    // Last: a 'message' listener refs the worker again, and the thread must never keep the process alive.
    this.worker.unref();
  }

  /**
   * Ask the thread for a last checkpoint and to close its connection; resolves once it has exited, so that nothing
   * of this process touches the file (or creates its `-wal` and `-shm` files) afterwards. The thread holds the
   * process from here until it exits: a program that awaits `close()` and ends must not cut its last checkpoint off.
   */
  stop(): Promise<void> {
    if (!this.stopped) {
      this.stopped = true;
      this.worker.ref();
      this.worker.postMessage('stop');
    }
    return this.exited;
  }
}
