import { type ConveyorEvent, closeBackend } from '@conveyor/core';
import { afterAll, describe, expect, it } from 'vitest';
import { createSqliteBackend, MIGRATIONS } from '../src/index';
import { spawnFixture, tempDir } from './helpers';

const tmp = tempDir('conveyor-sqlite-mp-');
afterAll(() => tmp.cleanup());

function event(id: string, type: ConveyorEvent['type']): ConveyorEvent {
  return { id, type, timestamp: new Date().toISOString(), queue: 'q', data: { n: id } };
}

describe('several connections and processes on one file', () => {
  it('delivers events to another process and back, in order, through the events table', async () => {
    const dbFile = tmp.file('events.db');
    const backend = createSqliteBackend({ connection: dbFile, eventPollMs: 20 });
    await backend.events.init();
    const received: ConveyorEvent[] = [];
    const unsubscribe = backend.events.subscribe((e) => received.push(e));
    const peer = spawnFixture('event-peer.ts', [dbFile]);
    try {
      await peer.waitFor((l) => l === 'ready', 30_000);
      const ids = Array.from({ length: 50 }, (_, i) => `e${i}`);
      await backend.events.publish(ids.map((id) => event(id, 'job.enqueued')));
      await backend.events.publish([event('ping', 'queue.paused')]);
      await peer.waitFor((l) => l === 'got ping');
      // In order and exactly once; the peer also hears its own echo (a subscriber receives its own process's events).
      const heard = peer.lines.filter((l) => l.startsWith('got ') && l !== 'got ping-echo');
      expect(heard).toEqual([...ids, 'ping'].map((id) => `got ${id}`));
      // The echo comes back from the other process; the publisher's own events reach it at once, once.
      const deadline = Date.now() + 10_000;
      while (!received.some((e) => e.id === 'ping-echo') && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 10));
      expect(received.map((e) => e.id)).toEqual([...ids, 'ping', 'ping-echo']);
      expect(received.at(-1)?.type).toBe('queue.resumed');
    } finally {
      unsubscribe();
      peer.proc.kill('SIGTERM');
      await peer.exited;
      await closeBackend(backend);
    }
  });

  it('hasWatchers: true only while a subscriber that is not internal exists, in this process or another', async () => {
    const dbFile = tmp.file('watchers.db');
    const backend = createSqliteBackend({ connection: dbFile, eventPollMs: 20 });
    await backend.events.init();
    const bus = backend.events;
    /** Polls hasWatchers() (it answers from a read at most a second old) until it gives `want`. */
    const settles = async (want: boolean, ms = 10_000) => {
      const deadline = Date.now() + ms;
      while (bus.hasWatchers?.() !== want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return bus.hasWatchers?.();
    };
    // A worker's wake-up listener alone: nobody watches.
    const stopInternal = bus.subscribe(() => {}, { internal: true });
    expect(await settles(false)).toBe(false);
    // A watcher here: true at once; gone: false again.
    const stopWatcher = bus.subscribe(() => {});
    expect(bus.hasWatchers?.()).toBe(true);
    stopWatcher();
    expect(await settles(false)).toBe(false);

    // Another process with only an internal listener: still unwatched, yet it still gets the events it listens for.
    const internalPeer = spawnFixture('event-peer.ts', [dbFile, 'internal']);
    const watcherPeer = spawnFixture('event-peer.ts', [dbFile]);
    try {
      await internalPeer.waitFor((l) => l === 'ready', 30_000);
      await new Promise((r) => setTimeout(r, 1_200));
      expect(await settles(false)).toBe(false);
      await bus.publish([event('to-internal', 'job.enqueued')]);
      await internalPeer.waitFor((l) => l === 'got to-internal');

      // Another process subscribes as a watcher: seen within about a second; once it leaves, unwatched again.
      await watcherPeer.waitFor((l) => l === 'ready', 30_000);
      expect(await settles(true)).toBe(true);
      watcherPeer.proc.kill('SIGTERM');
      await watcherPeer.exited;
      expect(await settles(false)).toBe(false);
    } finally {
      for (const peer of [internalPeer, watcherPeer]) {
        peer.proc.kill('SIGTERM');
        await peer.exited;
      }
      stopInternal();
      await closeBackend(backend);
    }
  });

  it('keeps the events table near its cap while another connection listens, and writes nothing when none does', async () => {
    const file = tmp.file('cap.db');
    const backend = createSqliteBackend({ connection: file, eventRetention: 100 });
    await backend.events.init();
    const { Database } = await import('./sqlite-handle');
    const rowsNow = () => {
      const db = new Database(file, { readonly: true });
      const n = db.prepare('SELECT count(*) FROM conveyor_events').pluck().get() as number;
      db.close();
      return n;
    };
    // Alone (only this connection's own listener): events reach local listeners, no shared rows are written.
    const local: string[] = [];
    const unsubscribe = backend.events.subscribe((e) => local.push(e.id));
    await backend.events.publish([event('alone', 'job.started')]);
    expect(local).toEqual(['alone']);
    expect(rowsNow()).toBe(0);
    unsubscribe();

    const listener = createSqliteBackend({ connection: file });
    const stop = listener.events.subscribe(() => {});
    for (let i = 0; i < 10; i++) {
      await backend.events.publish(Array.from({ length: 100 }, (_, j) => event(`c${i}-${j}`, 'job.started')));
    }
    const rows = rowsNow();
    // Pruned every 256 rows down to the newest 100: never more than 100 + 256 rows.
    expect(rows).toBeLessThanOrEqual(356);
    expect(rows).toBeGreaterThanOrEqual(100);
    stop();
    await closeBackend(listener);
    await closeBackend(backend);
  });

  it('applies migrations once when several connections open a new file at the same moment', async () => {
    const dbFile = tmp.file('migrate.db');
    const backends = Array.from({ length: 4 }, () => createSqliteBackend({ connection: dbFile }));
    await Promise.all(backends.map((b) => b.queue.init()));
    const { Database } = await import('./sqlite-handle');
    const db = new Database(dbFile, { readonly: true });
    const versions = db.prepare('SELECT version FROM conveyor_migrations ORDER BY version').pluck().all();
    db.close();
    expect(versions).toEqual(MIGRATIONS.map((m) => m.version));
    await Promise.all(backends.map((b) => closeBackend(b)));
  });

  it('never hands the same job to two connections claiming at once', async () => {
    const dbFile = tmp.file('claims.db');
    const producer = createSqliteBackend({ connection: dbFile });
    await producer.queue.init();
    await producer.queue.enqueueMany(Array.from({ length: 600 }, (_, i) => ({ queue: 'q', type: 't', payload: i })));
    const consumers = Array.from({ length: 3 }, () => createSqliteBackend({ connection: dbFile }));
    const claimed = await Promise.all(
      consumers.map(async (c, i) => {
        const ids: string[] = [];
        for (;;) {
          const jobs = await c.queue.claim({ queues: ['q'], workerId: `w${i}`, limit: 7, leaseMs: 60_000 });
          if (jobs.length === 0) return ids;
          ids.push(...jobs.map((j) => j.id));
          await new Promise((r) => setImmediate(r));
        }
      }),
    );
    const all = claimed.flat();
    expect(all).toHaveLength(600);
    expect(new Set(all).size).toBe(600);
    expect((await producer.queue.counts('q')).q?.active).toBe(600);
    await Promise.all([producer, ...consumers].map((b) => closeBackend(b)));
  });

  it('leaves a Database it was given open, and rejects calls after close with ADAPTER_CLOSED', async () => {
    const { Database } = await import('./sqlite-handle');
    const db = new Database(':memory:');
    const backend = createSqliteBackend({ connection: db });
    await backend.queue.enqueue({ queue: 'q', type: 't', payload: 1 });
    await closeBackend(backend);
    expect(db.open).toBe(true);
    expect(db.prepare('SELECT count(*) FROM conveyor_jobs').pluck().get()).toBe(1);
    await expect(backend.queue.getJob('x')).rejects.toMatchObject({ code: 'ADAPTER_CLOSED' });
    await expect(backend.events.publish([])).rejects.toMatchObject({ code: 'ADAPTER_CLOSED' });
    db.close();
  });
});
