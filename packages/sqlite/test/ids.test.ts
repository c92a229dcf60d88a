import { closeBackend } from '@conveyor/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { generatedAbove, generatedBelow, generatedId, generatedSeq } from '../src/ids';
import { createSqliteBackend, type SqliteBackend } from '../src/index';
import { tempDir } from './helpers';

/**
 * Generated ids are derived from the row's seq and stored nowhere; caller ids live in `custom_id`. These cases pin
 * down the corners where the two kinds meet.
 */
let tmp: ReturnType<typeof tempDir>;
let backend: SqliteBackend;

beforeEach(() => {
  tmp = tempDir();
  backend = createSqliteBackend({ connection: tmp.file() });
});

afterEach(async () => {
  await closeBackend(backend);
  tmp.cleanup();
});

describe('job ids', () => {
  it('round-trips the generated form and rejects anything else', () => {
    expect(generatedId(1)).toBe('0000000000000001');
    expect(generatedSeq('000000000000002a')).toBe(42);
    for (const id of ['000000000000002A', '2a', '0000000000000000', 'x000000000000001', '00000000000000001']) {
      expect(generatedSeq(id)).toBeNull();
    }
  });

  it('generates increasing ids that every by-id operation finds', async () => {
    const q = backend.queue;
    const [a, b] = await q.enqueueMany([
      { queue: 'q', type: 't', payload: 1 },
      { queue: 'q', type: 't', payload: 2 },
    ]);
    const single = await q.enqueue({ queue: 'q', type: 't', payload: 3 });
    const ids = [a?.job.id, b?.job.id, single.job.id] as string[];
    expect(ids.every((id) => generatedSeq(id) !== null)).toBe(true);
    expect([...ids].sort()).toEqual(ids);
    expect((await q.getJob(ids[1] as string))?.payload).toBe(2);
    const claimed = await q.claim({ queues: ['q'], workerId: 'w', limit: 3, leaseMs: 60_000 });
    expect(claimed.map((c) => c.id)).toEqual(ids);
    const acks = await q.complete(claimed.map((c) => ({ jobId: c.id, token: c.token, result: c.payload })));
    expect(acks.every((r) => r.ok)).toBe(true);
    expect((await q.getJob(ids[2] as string))?.state).toBe('completed');
  });

  it('never hands out the id of a removed job again', async () => {
    const q = backend.queue;
    const first = await q.enqueue({ queue: 'q', type: 't', payload: 1 });
    await q.remove(first.job.id);
    const second = await q.enqueue({ queue: 'q', type: 't', payload: 2 });
    expect(second.job.id).not.toBe(first.job.id);
    expect(await q.getJob(first.job.id)).toBeNull();
  });

  it('treats a caller id of the generated form as the job it names, or as a new caller id', async () => {
    const q = backend.queue;
    const generated = await q.enqueue({ queue: 'q', type: 't', payload: 'g' });
    // Naming an existing generated job deduplicates to it.
    const again = await q.enqueue({ queue: 'q', type: 't', payload: 'other', id: generated.job.id });
    expect(again.deduplicated).toBe(true);
    expect(again.job.payload).toBe('g');
    // A generated-form id ahead of the counter is stored as a caller id, and no generated job gets it later.
    const ahead = generatedId(5);
    const custom = await q.enqueue({ queue: 'q', type: 't', payload: 'c', id: ahead });
    expect(custom).toMatchObject({ deduplicated: false, job: { id: ahead } });
    const later = await q.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ queue: 'q', type: 't', payload: i })));
    expect(later.map((r) => r.job.id)).not.toContain(ahead);
    expect((await q.getJob(ahead))?.payload).toBe('c');
    // Every by-id path finds it.
    const claimed = await q.claim({ queues: ['q'], workerId: 'w', limit: 10, leaseMs: 60_000 });
    const mine = claimed.find((c) => c.id === ahead);
    expect(mine?.payload).toBe('c');
    expect((await q.extendLeases([{ jobId: ahead, token: mine?.token as number }], 1000))[0]?.ok).toBe(true);
    expect((await q.complete([{ jobId: ahead, token: mine?.token as number, result: 1 }]))[0]?.ok).toBe(true);
    expect((await q.getJob(ahead))?.state).toBe('completed');
    // A caller id that is not of the generated form.
    const named = await q.enqueue({ queue: 'q', type: 't', payload: 'n', id: 'order-17' });
    expect(named.job.id).toBe('order-17');
    expect((await q.enqueue({ queue: 'q', type: 't', payload: 'x', id: 'order-17' })).deduplicated).toBe(true);
    expect((await q.getJob('order-17'))?.payload).toBe('n');
  });

  it('lists jobs of one millisecond by id, caller and generated ids mixed', async () => {
    let now = 1_000_000;
    const fixed = createSqliteBackend({ connection: tmp.file('fixed.db'), clock: () => now });
    try {
      const q = fixed.queue;
      await q.enqueueMany([
        { queue: 'q', type: 't', payload: 1 },
        { queue: 'q', type: 't', payload: 2, id: 'zeta' },
        { queue: 'q', type: 't', payload: 3 },
        { queue: 'q', type: 't', payload: 4, id: '0' },
        { queue: 'q', type: 't', payload: 5, id: 'ffffffffffffffff' },
      ]);
      now++;
      await q.enqueue({ queue: 'q', type: 't', payload: 6 });
      const all = (await q.listJobs({ queue: 'q', limit: 100 })).items;
      const expected = [...all].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0));
      expect(all.map((j) => j.id)).toEqual(expected.map((j) => j.id));
      // Paging two at a time gives the same order.
      const paged: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await q.listJobs({ queue: 'q', limit: 2, cursor });
        paged.push(...page.items.map((j) => j.id));
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(paged).toEqual(expected.map((j) => j.id));
    } finally {
      await closeBackend(fixed);
    }
  });
});

describe('id bounds as seq bounds (the list index keys generated jobs by seq)', () => {
  it('generatedId(seq) < id exactly when seq < generatedBelow(id), and > id exactly when seq > generatedAbove(id)', () => {
    const alphabet = ['0', '1', '7', '9', ':', 'A', 'a', 'b', 'f', 'g', '-', '~', '\u00e9'];
    let state = 42;
    const rand = (n: number): number => {
      state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
      return state % n;
    };
    const seqs = [1, 2, 15, 16, 17, 255, 256, 4095, 65_535, 1_000_000, 2 ** 40, Number.MAX_SAFE_INTEGER];
    const ids: string[] = [
      '',
      '0',
      'f',
      'ffffffffffffffff',
      'ffffffffffffffff0',
      '0000000000000000',
      '00000000000000010',
    ];
    for (const seq of seqs) {
      const g = generatedId(seq);
      ids.push(g, `${g}x`, g.slice(0, 15), `${g.slice(0, 15)}g`, `${g.slice(0, 12)}-`, generatedId(seq + 1));
    }
    for (let i = 0; i < 400; i++) {
      const length = 13 + rand(6);
      // Mostly leading zeros, so the bound lands among small seqs.
      ids.push(
        Array.from({ length }, (_, k) =>
          k < 10 && rand(4) > 0 ? '0' : (alphabet[rand(alphabet.length)] as string),
        ).join(''),
      );
    }
    for (const id of ids) {
      const below = generatedBelow(id);
      const above = generatedAbove(id);
      for (const seq of [...seqs, below - 1, below, below + 1, above - 1, above, above + 1]) {
        if (!(seq >= 1 && seq <= Number.MAX_SAFE_INTEGER)) continue;
        const g = generatedId(seq);
        expect(g < id, `${g} < ${id}`).toBe(seq < below);
        expect(g > id, `${g} > ${id}`).toBe(seq > above);
      }
    }
  });
});
