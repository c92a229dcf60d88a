import { closeBackend } from '@conveyor/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteBackend, MIGRATIONS } from '../src/index';
import { tempDir } from './helpers';

const tmp = tempDir('conveyor-sqlite-migrations-');
afterAll(() => tmp.cleanup());

function indexes(file: string): string[] {
  const db = new Database(file, { readonly: true });
  const names = db
    .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'conveyor_%' ORDER BY name")
    .pluck()
    .all() as string[];
  db.close();
  return names;
}

describe('migrations', () => {
  it('upgrades a version-2 file in place: drops the write-path indexes of version 3 and keeps every job listable', async () => {
    const file = tmp.file('v2.db');
    const old = new Database(file);
    old.pragma('journal_mode = WAL');
    old.exec(
      'CREATE TABLE conveyor_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    for (const step of MIGRATIONS.filter((m) => m.version <= 2)) {
      old.exec(step.sql);
      old
        .prepare('INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (?, ?, 0)')
        .run(step.version, step.name);
    }
    old.close();
    expect(indexes(file)).toContain('conveyor_jobs_list_type');

    const backend = createSqliteBackend({ connection: file });
    await backend.queue.enqueueMany([
      { queue: 'q', type: 'a', payload: 1 },
      { queue: 'q', type: 'b', payload: 2 },
      { queue: 'q', type: 'a', payload: 3, delayMs: 60_000 },
    ]);
    const names = indexes(file);
    expect(names).not.toContain('conveyor_jobs_list_type');
    expect(names).not.toContain('conveyor_executions_queue');
    expect(names).toContain('conveyor_jobs_list_state');
    const page = await backend.queue.listJobs({ queue: 'q', type: 'a', limit: 10 });
    expect(page.items.map((j) => j.payload).sort()).toEqual([1, 3]);
    await closeBackend(backend);

    // A second open applies nothing more.
    const again = createSqliteBackend({ connection: file });
    await again.queue.init();
    await closeBackend(again);
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT version FROM conveyor_migrations ORDER BY version').pluck().all()).toEqual(
      MIGRATIONS.map((m) => m.version),
    );
    db.close();
  });
});
