import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { createSqliteBackend } from '../src/index';
import { tempDir } from './helpers';

let tmp: ReturnType<typeof tempDir> | null = null;

afterEach(() => {
  tmp?.cleanup();
  tmp = null;
});

describe('backend options', () => {
  it('walAutocheckpoint sets the WAL checkpoint size: 4000 pages unless given, 0 turns it off, bad values refused', async () => {
    tmp = tempDir();
    for (const [given, expected] of [
      [undefined, 4000],
      [250, 250],
      [0, 0],
    ] as const) {
      const db = new Database(tmp.file(`wal-${String(given)}.db`));
      const backend = createSqliteBackend({ connection: db, walAutocheckpoint: given });
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
});
