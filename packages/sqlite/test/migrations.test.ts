import {
  closeBackend,
  createMemoryBackend,
  emptyHistogram,
  GRANULARITIES,
  type Histogram,
  type MetricEvent,
  observe,
} from '@conveyor/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteBackend, MIGRATIONS } from '../src/index';
import { tempDir } from './helpers';

const tmp = tempDir('conveyor-sqlite-migrations-');
afterAll(() => tmp.cleanup());

/** A WAL file as migration `version` left it (the migrations up to it, recorded), open for the test's old rows. */
function fileAtVersion(file: string, version: number): Database.Database {
  const old = new Database(file);
  old.pragma('journal_mode = WAL');
  old.exec(
    'CREATE TABLE conveyor_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
  );
  const record = old.prepare('INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (?, ?, 0)');
  for (const step of MIGRATIONS.filter((m) => m.version <= version)) {
    old.exec(step.sql);
    record.run(step.version, step.name);
  }
  return old;
}

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
    const old = fileAtVersion(file, 2);
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
    expect(names).toContain('conveyor_jobs_list');
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

  it('upgrades a version-3 file to seq-keyed jobs: every stored id still names its job, new ids are generated', async () => {
    const file = tmp.file('v3.db');
    // Version-3 rows written by hand (generated ids were UUIDs then).
    const old = fileAtVersion(file, 3);
    const insert = old.prepare(`INSERT INTO conveyor_jobs (id, queue, type, payload, state, priority, attempt,
      max_attempts, remove_on_complete, remove_on_fail, created_at, run_at) VALUES (?, 'q', 't', ?, 'waiting', 0, 0, 3,
      'false', 'false', ?, ?)`);
    insert.run('018f0000-0000-7000-8000-000000000001', '1', 1000, 1000);
    insert.run('custom-2', '2', 1001, 1001);
    old.exec("INSERT INTO conveyor_counts (queue, state, n) VALUES ('q', 'waiting', 2)");
    old.exec("INSERT INTO conveyor_queues (name) VALUES ('q')");
    old.close();

    const backend = createSqliteBackend({ connection: file });
    const q = backend.queue;
    expect((await q.getJob('018f0000-0000-7000-8000-000000000001'))?.payload).toBe(1);
    expect((await q.getJob('custom-2'))?.payload).toBe(2);
    const added = await q.enqueue({ queue: 'q', type: 't', payload: 3 });
    expect(added.job.id).toMatch(/^[0-9a-f]{16}$/);
    expect((await q.enqueue({ queue: 'q', type: 't', payload: 9, id: 'custom-2' })).deduplicated).toBe(true);
    expect((await q.listJobs({ queue: 'q', limit: 10 })).items.map((j) => j.payload)).toEqual([3, 2, 1]);
    const claimed = await q.claim({ queues: ['q'], workerId: 'w', limit: 10, leaseMs: 60_000 });
    expect(claimed.map((c) => c.payload)).toEqual([1, 2, 3]);
    const acks = await q.complete(claimed.map((c) => ({ jobId: c.id, token: c.token })));
    expect(acks.every((a) => a.ok)).toBe(true);
    expect((await q.counts('q')).q?.completed).toBe(3);
    await closeBackend(backend);
  });

  it('upgrades version-4 metric rows (JSON per queue and type) to summable columns with roll-ups', async () => {
    const file = tmp.file('v4-metrics.db');
    const old = fileAtVersion(file, 4);
    // Version 4 stored one row per (granularity, bucket, queue, type) with JSON counters and histograms.
    const t = 1_700_006_400_000; // a day boundary
    const events: MetricEvent[] = [
      { kind: 'enqueued', queue: 'a', type: 'x', at: t + 1_000, count: 3 },
      { kind: 'completed', queue: 'a', type: 'x', at: t + 2_000, durationMs: 7 },
      { kind: 'completed', queue: 'a', type: 'y', at: t + 61_000, durationMs: 300 },
      { kind: 'started', queue: 'b', type: 'x', at: t + 3_600_000, waitMs: 40 },
      { kind: 'failed', queue: 'b', type: 'y', at: t + 3_600_000, durationMs: 2 },
    ];
    const insert = old.prepare(
      'INSERT INTO conveyor_metrics (granularity, bucket, queue, type, counters, duration, wait) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const [granularity, { ms }] of Object.entries(GRANULARITIES)) {
      const cells = new Map<string, { counters: Record<string, number>; duration: Histogram; wait: Histogram }>();
      for (const e of events) {
        const bucket = Math.floor(e.at / ms) * ms;
        const key = JSON.stringify([bucket, e.queue, e.type]);
        const cell = cells.get(key) ?? { counters: {}, duration: emptyHistogram(), wait: emptyHistogram() };
        cell.counters[e.kind] = (cell.counters[e.kind] ?? 0) + (e.count ?? 1);
        if (e.durationMs !== undefined) observe(cell.duration, e.durationMs);
        if (e.waitMs !== undefined) observe(cell.wait, e.waitMs);
        cells.set(key, cell);
      }
      for (const [key, c] of cells) {
        const [bucket, queue, type] = JSON.parse(key) as [number, string, string];
        insert.run(
          granularity,
          bucket,
          queue,
          type,
          JSON.stringify(c.counters),
          JSON.stringify(c.duration),
          JSON.stringify(c.wait),
        );
      }
    }
    old.close();

    const backend = createSqliteBackend({ connection: file });
    const reference = createMemoryBackend();
    await reference.metrics.record(events);
    for (const granularity of ['minute', 'hour', 'day'] as const) {
      const base = { granularity, from: t, to: t + 86_400_000 };
      for (const filter of [{}, { queue: 'a' }, { type: 'y' }, { queue: 'b', type: 'x' }]) {
        expect(await backend.metrics.series({ ...base, ...filter })).toEqual(
          (await reference.metrics.series({ ...base, ...filter })).filter(
            (b) => b.enqueued + b.started + b.completed + b.failed > 0,
          ),
        );
        for (const groupBy of [undefined, 'queue' as const, 'type' as const]) {
          expect(await backend.metrics.totals({ ...base, ...filter, groupBy })).toEqual(
            await reference.metrics.totals({ ...base, ...filter, groupBy }),
          );
        }
      }
    }
    await closeBackend(backend);
    await closeBackend(reference);
  });

  it('upgrades version-5 metric rows: a timeout counter that old rows read as 0 and new events add to', async () => {
    const file = tmp.file('v5-metrics.db');
    const old = fileAtVersion(file, 5);
    const t = 1_700_006_400_000; // a day boundary
    // Version 5's rows: one failed attempt of (a, x) at t, in its pair row and the three roll-ups, per granularity.
    const insert = old.prepare(
      'INSERT INTO conveyor_metric_buckets (granularity, queue, type, bucket, failed) VALUES (?, ?, ?, ?, 1)',
    );
    for (const granularity of Object.keys(GRANULARITIES)) {
      for (const [queue, type] of [
        ['a', 'x'],
        ['a', ''],
        ['', 'x'],
        ['', ''],
      ]) {
        insert.run(granularity, queue, type, t);
      }
    }
    old
      .prepare("INSERT INTO conveyor_metric_keys (queue, type) VALUES ('a', 'x'), ('a', ''), ('', 'x'), ('', '')")
      .run();
    old.close();

    const backend = createSqliteBackend({ connection: file });
    const reference = createMemoryBackend();
    await reference.metrics.record([{ kind: 'failed', queue: 'a', type: 'x', at: t, count: 1 }]);
    const base = { granularity: 'minute' as const, from: t, to: t + 86_400_000 };
    const [before] = await backend.metrics.series(base);
    expect(before?.failed).toBe(1);
    expect(before?.timeout).toBe(0);
    const later: MetricEvent[] = [
      { kind: 'timeout', queue: 'a', type: 'x', at: t, count: 1 },
      { kind: 'timeout', queue: 'b', type: 'x', at: t + 3_600_000, count: 2 },
    ];
    await backend.metrics.record(later);
    await reference.metrics.record(later);
    for (const granularity of ['minute', 'hour', 'day'] as const) {
      for (const filter of [{}, { queue: 'a' }, { type: 'x' }, { queue: 'b', type: 'x' }]) {
        const query = { ...base, granularity, ...filter };
        expect(await backend.metrics.series(query)).toEqual(
          (await reference.metrics.series(query)).filter((b) => b.failed + b.timeout > 0),
        );
        for (const groupBy of [undefined, 'queue' as const, 'type' as const]) {
          expect(await backend.metrics.totals({ ...query, groupBy })).toEqual(
            await reference.metrics.totals({ ...query, groupBy }),
          );
        }
      }
    }
    await closeBackend(backend);
    await closeBackend(reference);
  });

  it('upgrades version-6 subscriber rows: a process of an older version counts as a watcher', async () => {
    const file = tmp.file('v6-subscribers.db');
    const old = fileAtVersion(file, 6);
    // A subscriber of an older version: its row cannot say whether it watches.
    old
      .prepare(
        "INSERT INTO conveyor_subscribers (origin, seen_at) VALUES ('older', CAST(unixepoch('subsec') * 1000 AS INTEGER))",
      )
      .run();
    old.close();

    const backend = createSqliteBackend({ connection: file });
    await backend.events.init();
    const settled = async () => {
      backend.events.hasWatchers?.();
      await new Promise((r) => setTimeout(r, 1_100));
      backend.events.hasWatchers?.();
      await new Promise((r) => setTimeout(r, 20));
      return backend.events.hasWatchers?.();
    };
    expect(await settled()).toBe(true);
    const db = new Database(file);
    db.prepare("UPDATE conveyor_subscribers SET watching = 0 WHERE origin = 'older'").run();
    db.close();
    expect(await settled()).toBe(false);
    await closeBackend(backend);
  });
  it('upgrades version-7 jobs to state codes and split list indexes: every job, field, order and id survives', async () => {
    const file = tmp.file('v7-jobs.db');
    const old = fileAtVersion(file, 7);
    // Version-7 rows as that version wrote them: generated ids (custom_id NULL) and caller ids, every state, text
    // retention options, and a removed job at the end (the rowid counter is ahead of the last row).
    const insert = old.prepare(`INSERT INTO conveyor_jobs (custom_id, queue, type, payload, state, priority, attempt,
      max_attempts, unique_key, remove_on_complete, remove_on_fail, created_at, run_at, finished_at, finish_seq,
      worker_id, lease_expires_at, token) VALUES (?, 'q', ?, ?, ?, ?, ?, 3, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    const far = Date.now() + 3_600_000;
    const rows: Array<[string | null, string, string, number, string | null, string, string, number, number]> = [
      // custom id, type, state, priority, unique key, remove on complete, remove on fail, created at, run at
      [null, 't', 'waiting', 0, null, 'false', 'false', 1000, 1000],
      ['custom-b', 't', 'waiting', 5, 'key-1', 'true', 'false', 1000, 1000],
      [null, 'u', 'scheduled', 0, null, 'false', '{"count":2}', 1001, far],
      [null, 't', 'retrying', 0, null, 'false', 'false', 1001, 1001],
      ['custom-e', 'u', 'active', 0, null, 'false', 'false', 1002, 1002],
      [null, 't', 'completed', 0, null, '{"age":3600}', 'false', 1002, 1002],
      [null, 'u', 'failed', 0, null, 'false', 'true', 1003, 1003],
      ['00000000000000ff', 't', 'cancelled', 0, null, 'false', 'false', 1003, 1003],
      [null, 't', 'waiting', 0, null, 'false', 'false', 1004, 1004],
    ];
    for (const [customId, type, state, priority, uniqueKey, onComplete, onFail, createdAt, runAt] of rows) {
      const finished = ['completed', 'failed', 'cancelled'].includes(state);
      insert.run(
        customId,
        type,
        JSON.stringify({ state, customId }),
        state,
        priority,
        state === 'waiting' ? 0 : 1,
        uniqueKey,
        onComplete,
        onFail,
        createdAt,
        runAt,
        finished ? createdAt + 5 : null,
        finished ? createdAt : null,
        state === 'active' ? 'w-old' : null,
        state === 'active' ? far : null,
        state === 'active' ? 7 : 0,
      );
    }
    // Version 7 moved the rowid counter past a caller id of the generated form (00000000000000ff = 255).
    old.exec("UPDATE sqlite_sequence SET seq = 255 WHERE name = 'conveyor_jobs'");
    old.exec('DELETE FROM conveyor_jobs WHERE seq = (SELECT max(seq) FROM conveyor_jobs)');
    const counter = 255;
    const counts = old.prepare("INSERT INTO conveyor_counts (queue, state, n) VALUES ('q', ?, ?)");
    for (const state of ['waiting', 'scheduled', 'retrying', 'active', 'completed', 'failed', 'cancelled']) {
      counts.run(state, rows.slice(0, -1).filter((r) => r[2] === state).length);
    }
    old.exec("INSERT INTO conveyor_queues (name) VALUES ('q')");
    old.exec("INSERT INTO conveyor_job_types (queue, type) VALUES ('q', 't'), ('q', 'u')");
    const ids = old.prepare('SELECT id FROM conveyor_jobs ORDER BY seq').pluck().all() as string[];
    expect(ids).toHaveLength(rows.length - 1);
    old.close();

    const backend = createSqliteBackend({ connection: file });
    const q = backend.queue;
    // Every job keeps its id, state and options.
    for (const [i, id] of ids.entries()) {
      const job = await q.getJob(id);
      const [customId, type, state, priority, uniqueKey, onComplete, onFail, createdAt] = rows[i] as (typeof rows)[0];
      expect(job).toMatchObject({
        id: customId ?? id,
        type,
        state,
        priority,
        uniqueKey,
        removeOnComplete: JSON.parse(onComplete),
        removeOnFail: JSON.parse(onFail),
        createdAt,
        payload: { state, customId },
      });
    }
    // Lists: every state, newest first by (createdAt, id), from the new indexes.
    const listed = (await q.listJobs({ queue: 'q', limit: 100 })).items;
    const expected = ids
      .map((id, i) => ({ id, createdAt: (rows[i] as (typeof rows)[0])[7] }))
      .sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0))
      .map((j) => j.id);
    expect(listed.map((j) => j.id)).toEqual(expected);
    const page1 = await q.listJobs({ queue: 'q', limit: 3 });
    const page2 = await q.listJobs({ queue: 'q', limit: 100, cursor: page1.nextCursor });
    expect([...page1.items, ...page2.items].map((j) => j.id)).toEqual(expected);
    expect((await q.listJobs({ queue: 'q', state: 'waiting', limit: 10 })).items.map((j) => j.id)).toEqual(
      expected.filter((id) => ['custom-b', ids[0]].includes(id)),
    );
    expect((await q.counts('q')).q).toEqual({
      waiting: 2,
      scheduled: 1,
      retrying: 1,
      active: 1,
      completed: 1,
      failed: 1,
      cancelled: 1,
    });
    // The unique key is still held by its live job.
    expect((await q.enqueue({ queue: 'q', type: 't', payload: 0, uniqueKey: 'key-1' })).deduplicated).toBe(true);
    // New generated ids continue after the rowid counter: no id is handed out twice.
    const added = await q.enqueue({ queue: 'q', type: 't', payload: 'new' });
    expect(Number.parseInt(added.job.id, 16)).toBe(counter + 1);
    // Claim order: priority, then run at, then insertion (the due waiting and retrying jobs, then the new one).
    const claimed = await q.claim({ queues: ['q'], workerId: 'w', limit: 10, leaseMs: 60_000 });
    expect(claimed.map((c) => c.id)).toEqual(['custom-b', ids[0], ids[3], added.job.id]);
    // Retention read from the migrated text: custom-b is removed on completion.
    const acks = await q.complete(claimed.map((c) => ({ jobId: c.id, token: c.token })));
    expect(acks.every((a) => a.ok)).toBe(true);
    expect(await q.getJob('custom-b')).toBeNull();
    expect((await q.counts('q')).q?.completed).toBe(4);
    // The old active job's lease is still checked against its token.
    expect((await q.extendLeases([{ jobId: 'custom-e', token: 7 }], 1_000))[0]?.ok).toBe(true);
    await closeBackend(backend);
    // SQL written by hand still reads the state as text.
    const db = new Database(file, { readonly: true });
    expect(db.prepare("SELECT count(*) FROM conveyor_jobs WHERE state = 'completed'").pluck().get()).toBe(4);
    db.close();
  });
});
