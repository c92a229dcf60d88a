import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteBackend } from '../src/index';
import { spawnFixture, tempDir } from './helpers';

let tmp: ReturnType<typeof tempDir> | null = null;

afterEach(() => {
  tmp?.cleanup();
  tmp = null;
});

describe('backend options', () => {
  it('walAutocheckpoint sets the WAL checkpoint size: 16000 pages with the checkpoint thread and 4000 without unless given, 0 turns it off, bad values refused', async () => {
    tmp = tempDir();
    for (const [given, thread, expected] of [
      [undefined, 50, 16000],
      [undefined, 0, 4000],
      [250, 50, 250],
      [0, 0, 0],
    ] as const) {
      const db = new Database(tmp.file(`wal-${String(given)}-${thread}.db`));
      const backend = createSqliteBackend({ connection: db, walAutocheckpoint: given, checkpointIntervalMs: thread });
      await backend.queue.init();
      expect(db.pragma('wal_autocheckpoint', { simple: true })).toBe(expected);
      await backend.queue.close();
      await backend.storage.close();
      await backend.metrics.close();
      await backend.events.close();
      db.close();
    }
    for (const bad of [-1, 1.5]) {
      expect(() => createSqliteBackend({ connection: tmp?.file('bad.db'), walAutocheckpoint: bad })).toThrow(
        /walAutocheckpoint/,
      );
    }
  });

  it('checkpointIntervalMs: a worker thread copies the WAL into the file, and has let go of the file when close() resolves', async () => {
    tmp = tempDir();
    const dir = tmp;
    // The writer itself never checkpoints (walAutocheckpoint 0), so only the thread can grow the database file.
    const run = async (name: string, checkpointIntervalMs: number) => {
      const file = dir.file(name);
      const backend = createSqliteBackend({ connection: file, walAutocheckpoint: 0, checkpointIntervalMs });
      await backend.queue.init();
      const before = statSync(file).size;
      await backend.queue.enqueueMany(
        Array.from({ length: 3000 }, (_, i) => ({ queue: 'q', type: 't', payload: { i, text: 'x'.repeat(200) } })),
      );
      let after = statSync(file).size;
      const started = Date.now();
      // A PASSIVE checkpoint may copy part of the WAL (pages a reader still needs wait for the next one), so with
      // the thread wait until the file holds the jobs' bytes, not merely until it changed; without it, wait 300 ms.
      const done = () => (checkpointIntervalMs === 0 ? after !== before : after > before + 3000 * 200);
      while (!done() && Date.now() - started < (checkpointIntervalMs === 0 ? 300 : 5000)) {
        await new Promise((resolve) => setTimeout(resolve, 10));
        after = statSync(file).size;
      }
      await backend.queue.close();
      await backend.storage.close();
      await backend.metrics.close();
      await backend.events.close();
      return { file, before, after };
    };
    const on = await run('thread.db', 10);
    expect(on.after).toBeGreaterThan(on.before + 3000 * 200);
    // close() resolved only once the thread had closed its connection: the last connection to close removes the
    // WAL and shared-memory files, so they are gone now, with no waiting (a thread still open would keep them, or
    // create them after a cleanup had listed the directory).
    expect(existsSync(`${on.file}-wal`)).toBe(false);
    expect(existsSync(`${on.file}-shm`)).toBe(false);

    const off = await run('no-thread.db', 0);
    expect(off.after).toBe(off.before);

    for (const bad of [-1, 2.5]) {
      expect(() => createSqliteBackend({ connection: dir.file('bad.db'), checkpointIntervalMs: bad })).toThrow(
        /checkpointIntervalMs/,
      );
    }
  });

  it('the checkpoint thread never keeps the process alive: a process that never closes its backend still exits', async () => {
    tmp = tempDir();
    const child = spawnFixture('open-backend.ts', [tmp.file('open.db')]);
    await child.waitFor((line) => line === 'done');
    const code = await Promise.race([
      child.exited,
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000)),
    ]);
    if (code === 'still running after 10 s') child.proc.kill('SIGKILL');
    expect(code).toBe(0);
  }, 30_000);
});
