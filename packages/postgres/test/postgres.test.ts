import {
  type ClaimedJob,
  type ConveyorEvent,
  closeBackend,
  encodeCursor,
  initBackend,
  isConveyorError,
  silentLogger,
} from '@conveyor/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPostgresBackend,
  MIGRATIONS,
  migrate,
  type PostgresBackend,
  packEvents,
  SCHEMA_VERSION,
} from '../src/index';
import { DATABASE_URL, describePg, dropSchema, testSchema } from './helpers';

/** Build `schema` as migration `version` left it (the migrations up to it, recorded), to test the next ones on it. */
async function schemaAtVersion(pool: pg.Pool, schema: string, version: number): Promise<void> {
  const S = `"${schema}"`;
  await pool.query(`CREATE SCHEMA ${S}`);
  await pool.query(
    `CREATE TABLE ${S}.migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
  );
  for (const m of MIGRATIONS.filter((m) => m.version <= version)) {
    await pool.query(m.sql(S, schema));
    await pool.query(`INSERT INTO ${S}.migrations (version, description) VALUES ($1, $2)`, [m.version, m.description]);
  }
}

/**
 * Have auto_explain send the plan of every statement this client runs, nested ones included, back to it as a notice,
 * and collect the plans whose text contains `needle` into `plans`.
 */
async function explainPlans(client: pg.Client | pg.PoolClient, needle: string, plans: string[]): Promise<void> {
  client.on('notice', (notice) => {
    if (typeof notice.message === 'string' && notice.message.includes(needle)) plans.push(notice.message);
  });
  await client.query(
    `LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0; SET auto_explain.log_nested_statements = on;
     SET client_min_messages = log`,
  );
}

const waitFor = async (probe: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
};

describe('packEvents', () => {
  const event = (n: number, size: number): ConveyorEvent => ({
    id: String(n),
    type: 'job.completed',
    timestamp: new Date(0).toISOString(),
    data: { blob: 'x'.repeat(size) },
  });

  it('packs events into NOTIFY payloads under 8000 bytes, in order, and sets oversized ones apart', () => {
    const events = [event(1, 3000), event(2, 3000), event(3, 3000), event(4, 9000), event(5, 10)];
    const { payloads, oversized } = packEvents(events, 'origin');
    for (const p of payloads) expect(Buffer.byteLength(p)).toBeLessThan(8000);
    const ids = payloads.flatMap((p) => (JSON.parse(p) as { e: ConveyorEvent[] }).e.map((e) => e.id));
    expect(ids).toEqual(['1', '2', '3', '5']);
    expect(oversized.map((o) => (JSON.parse(o) as ConveyorEvent).id)).toEqual(['4']);
  });
});

describePg('postgres specifics', () => {
  describe('migrations', () => {
    const schema = testSchema('migrate');
    afterAll(() => dropSchema(schema));

    it('five pools migrating the same schema at once end with one schema at the current version', async () => {
      const pools = Array.from({ length: 5 }, () => new pg.Pool({ connectionString: DATABASE_URL, max: 2 }));
      try {
        await Promise.all(pools.map((pool) => migrate(pool, schema, silentLogger)));
        const { rows } = await (pools[0] as pg.Pool).query<{ version: number }>(
          `SELECT version FROM "${schema}".migrations ORDER BY version`,
        );
        expect(rows.map((r) => r.version)).toEqual(Array.from({ length: SCHEMA_VERSION }, (_, i) => i + 1));
        // And again, from five fresh backends initialising together: the fast path, nothing re-applied.
        const backends = Array.from({ length: 5 }, () =>
          createPostgresBackend({ connectionString: DATABASE_URL, schema, poolSize: 2 }),
        );
        await Promise.all(backends.map((b) => initBackend(b)));
        await Promise.all(backends.map((b) => closeBackend(b)));
      } finally {
        await Promise.all(pools.map((p) => p.end()));
      }
    });

    it('refuses a schema migrated by a newer version', async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      try {
        await pool.query(`INSERT INTO "${schema}".migrations (version, description) VALUES (9999, 'future')`);
        const error = await migrate(pool, schema, silentLogger).catch((e: unknown) => e);
        expect(isConveyorError(error, 'CONFIG_INVALID')).toBe(true);
      } finally {
        await pool.query(`DELETE FROM "${schema}".migrations WHERE version = 9999`);
        await pool.end();
      }
    });
  });

  describe('migration 7 (executions keyed by started_at, id)', () => {
    const schema = testSchema('migrate7');
    afterAll(() => dropSchema(schema));

    it('keeps the records of a version 6 schema, one per id, and lists them through the new keys', async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      const S = `"${schema}"`;
      try {
        // A schema as version 6 left it, with records in it.
        await schemaAtVersion(pool, schema, 6);
        await pool.query(
          `INSERT INTO ${S}.executions (id, job_id, queue, type, attempt, status, started_at, finished_at, duration_ms)
           SELECT 'e' || g, 'job' || (g % 3), 'q', 't', 1, 'success', 1000 + g, 1005 + g, 5 FROM generate_series(1, 9) g`,
        );
        await migrate(pool, schema, silentLogger);
        const { rows: keys } = await pool.query<{ def: string }>(
          `SELECT pg_get_indexdef(indexrelid) AS def FROM pg_index WHERE indrelid = '${S}.executions'::regclass ORDER BY 1`,
        );
        expect(keys.map((k) => k.def.replace(/^.* USING btree /, ''))).toEqual([
          '(job_id, started_at DESC, id DESC)',
          '(started_at, id)',
        ]);
        const backend = createPostgresBackend({ connectionString: DATABASE_URL, schema, poolSize: 1 });
        try {
          await initBackend(backend);
          const page = await backend.storage.listExecutions('job0', { limit: 10 });
          expect(page.items.map((r) => r.id)).toEqual(['e9', 'e6', 'e3']);
          const recent = await backend.storage.recentExecutions({ limit: 2 });
          expect(recent.map((r) => r.id)).toEqual(['e9', 'e8']);
          // A record written again is still kept once.
          const again = page.items[0];
          if (again === undefined) throw new Error('no record');
          await backend.storage.recordExecutions([again, { ...again }]);
          expect((await backend.storage.summarizeExecutions('job0')).totalExecutions).toBe(3);
          expect(await backend.storage.cleanupExecutions(1009)).toBe(3);
          expect((await backend.storage.recentExecutions({ limit: 100 })).map((r) => r.id)).toEqual([
            'e9',
            'e8',
            'e7',
            'e6',
            'e5',
            'e4',
          ]);
        } finally {
          await closeBackend(backend);
        }
      } finally {
        await pool.end();
      }
    });
  });

  describe('migration 8 (metric folds grouped in one statement)', () => {
    const schema = testSchema('migrate8');
    afterAll(() => dropSchema(schema));

    it('folds the same log into the same buckets as version 7, and folds a log left by version 7', async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      const S = `"${schema}"`;
      // Every kind, durations and waits on, between and beyond the histogram bounds, counts above 1, two queues, two
      // minutes and two hours.
      const logRows = `INSERT INTO ${S}.metric_log (kinds, queues, types, ats, durations, waits, counts)
        SELECT array_agg((ARRAY['enqueued','started','completed','failed','retried','stalled','timeout'])[1 + g % 7]),
          array_agg(CASE WHEN g % 3 = 0 THEN 'qa' ELSE 'qb' END), array_agg('t' || (g % 2)),
          array_agg(3600000000::double precision + (g % 4) * 61000 + (g / 50) * 3600000),
          array_agg((ARRAY[0, 1, 1.5, 2, 5, 7, 1000, 4000000, -3])[1 + g % 9]::double precision),
          array_agg((ARRAY[0.5, 2, 10, 3600000, 9000000, 20])[1 + g % 6]::double precision),
          array_agg(CASE WHEN g % 5 = 0 THEN 3 END::double precision)
        FROM generate_series(1, 400) AS g GROUP BY g % 8`;
      const buckets = async () =>
        (
          await pool.query(
            `SELECT granularity, start, queue, type, sum(enqueued) AS enqueued, sum(started) AS started,
               sum(completed) AS completed, sum(failed) AS failed, sum(retried) AS retried, sum(stalled) AS stalled,
               sum(timeout) AS timeout, ${S}.add_counts_all(array_agg(duration_counts)) AS duration_counts,
               sum(duration_count) AS duration_count, round(sum(duration_sum)::numeric, 6) AS duration_sum,
               max(duration_max) AS duration_max, ${S}.add_counts_all(array_agg(wait_counts)) AS wait_counts,
               sum(wait_count) AS wait_count, round(sum(wait_sum)::numeric, 6) AS wait_sum, max(wait_max) AS wait_max
             FROM ${S}.metric_buckets GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4`,
          )
        ).rows;
      try {
        await schemaAtVersion(pool, schema, 7);
        await pool.query(
          `CREATE FUNCTION ${S}.add_counts_all(a double precision[][]) RETURNS double precision[] LANGUAGE sql AS
           $$ SELECT array_agg(s ORDER BY i) FROM (SELECT i, sum(a[k][i]) AS s FROM generate_subscripts(a, 1) k,
             generate_subscripts(a, 2) i GROUP BY i) x $$`,
        );
        await pool.query(logRows);
        await pool.query(`SELECT ${S}.fold_metrics(1000)`);
        const before = await buckets();
        expect(before.length).toBeGreaterThan(10);
        await pool.query(`DELETE FROM ${S}.metric_buckets`);
        // A log written by version 7 and not folded yet: version 8 folds it.
        await pool.query(logRows);
        await migrate(pool, schema, silentLogger);
        expect((await pool.query(`SELECT ${S}.fold_metrics(3)::int AS n`)).rows[0]?.n).toBe(3);
        expect((await pool.query(`SELECT ${S}.fold_metrics(1000)::int AS n`)).rows[0]?.n).toBe(5);
        expect(await buckets()).toEqual(before);
        // add_metrics (used by MetricsAdapter.record) writes the same buckets too.
        await pool.query(`DELETE FROM ${S}.metric_buckets`);
        await pool.query(logRows);
        await pool.query(
          `WITH l AS (DELETE FROM ${S}.metric_log RETURNING *)
           SELECT ${S}.add_metrics(2, array_agg(kind), array_agg(queue), array_agg(type), array_agg(at), array_agg(dur),
             array_agg(wait), array_agg(n))
           FROM l,
             unnest(l.kinds, l.queues, l.types, l.ats, l.durations, l.waits, l.counts) AS u(kind, queue, type, at, dur, wait, n)`,
        );
        expect(await buckets()).toEqual(before);
      } finally {
        await pool.end();
      }
    });
  });

  describe('migration 9 (count triggers skip statements that count themselves)', () => {
    const schema = testSchema('migrate9');
    afterAll(() => dropSchema(schema));

    it('keeps the counts of a version 8 schema, and its triggers keep counting statements that do not count', async () => {
      const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      const S = `"${schema}"`;
      const insert = (from: number, to: number) =>
        pool.query(
          `INSERT INTO ${S}.jobs (id, queue, type, state, priority, max_attempts, created_at, run_at, payload,
             remove_on_complete, remove_on_fail)
           SELECT 'j' || g, 'q', 't', 'waiting', 0, 1, g, g, '{}', 'false', 'false' FROM generate_series(${from}, ${to}) g`,
        );
      const counts = async () =>
        (
          await pool.query<{ state: string; n: number }>(
            `SELECT state, sum(delta)::int AS n FROM ${S}.count_deltas GROUP BY state HAVING sum(delta) <> 0 ORDER BY state`,
          )
        ).rows;
      try {
        await schemaAtVersion(pool, schema, 8);
        await insert(1, 10);
        await migrate(pool, schema, silentLogger);
        // Plain statements (what a process of an older release sends) are counted by the triggers.
        await insert(11, 15);
        await pool.query(`UPDATE ${S}.jobs SET state = 'completed' WHERE id IN ('j1', 'j2', 'j3')`);
        await pool.query(`DELETE FROM ${S}.jobs WHERE id = 'j4'`);
        expect(await counts()).toEqual([
          { state: 'completed', n: 3 },
          { state: 'waiting', n: 11 },
        ]);
        // A statement carrying the mark is left alone; the next statement of its transaction is counted again.
        await pool.query('BEGIN');
        await pool.query(
          `WITH t AS MATERIALIZED (SELECT set_config('conveyor.counted', statement_timestamp()::text, true) AS c)
           UPDATE ${S}.jobs SET state = 'failed' FROM t WHERE id = 'j5'`,
        );
        await pool.query(`UPDATE ${S}.jobs SET state = 'failed' WHERE id = 'j6'`);
        await pool.query('COMMIT');
        expect(await counts()).toEqual([
          { state: 'completed', n: 3 },
          { state: 'failed', n: 1 },
          { state: 'waiting', n: 10 },
        ]);
      } finally {
        await pool.end();
      }
    });
  });

  describe('with a backend', () => {
    const schema = testSchema('specifics');
    let backend: PostgresBackend;
    let other: PostgresBackend;
    let admin: pg.Pool;

    beforeAll(async () => {
      backend = createPostgresBackend({ connectionString: DATABASE_URL, schema, poolSize: 3 });
      other = createPostgresBackend({ connectionString: DATABASE_URL, schema, poolSize: 2 });
      await initBackend(backend);
      await initBackend(other);
      admin = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
    });

    afterAll(async () => {
      await closeBackend(backend);
      await closeBackend(other);
      await admin.end();
      await dropSchema(schema);
    });

    it('a claim lost to a crash (row and token sequence set back) never hands its token out again', async () => {
      // A claim commits without waiting for its WAL flush, so a server crash may undo it together with the sequence
      // state it used. Simulate both: the job back to waiting with its earlier token, the sequence set back.
      const { job } = await backend.queue.enqueue({ queue: 'tokens', type: 't', payload: 1 });
      const [{ last_value: before }] = (
        await admin.query<{ last_value: string }>(`SELECT last_value FROM "${schema}".lease_tokens`)
      ).rows as [{ last_value: string }];
      const [lost] = await backend.queue.claim({ queues: ['tokens'], limit: 1, leaseMs: 30_000, workerId: 'a' });
      expect(lost?.id).toBe(job.id);
      await admin.query(`UPDATE "${schema}".jobs SET state = 'waiting', token = 0, attempt = 0 WHERE id = $1`, [
        job.id,
      ]);
      await admin.query(`SELECT setval('"${schema}".lease_tokens', $1)`, [before]);
      await new Promise((resolve) => setTimeout(resolve, 5));
      const [again] = await backend.queue.claim({ queues: ['tokens'], limit: 1, leaseMs: 30_000, workerId: 'b' });
      expect(again?.id).toBe(job.id);
      expect(again?.token).not.toBe(lost?.token);
      expect(again?.token).toBeGreaterThan(lost?.token as number);
      expect(Number.isSafeInteger(again?.token)).toBe(true);
      // The worker still holding the lost claim is refused; the new lease completes.
      const [stale] = await backend.queue.complete([{ jobId: job.id, token: lost?.token as number, result: 1 }]);
      expect(stale?.ok).toBe(false);
      const [fresh] = await backend.queue.complete([{ jobId: job.id, token: again?.token as number, result: 2 }]);
      expect(fresh?.ok).toBe(true);
    });

    it('tokens of one claim are distinct, and a job claimed again gets a greater token', async () => {
      await backend.queue.enqueueMany(
        Array.from({ length: 300 }, (_, i) => ({ queue: 'tokens2', type: 't', payload: i })),
      );
      const first = await backend.queue.claim({ queues: ['tokens2'], limit: 300, leaseMs: 30_000, workerId: 'a' });
      expect(new Set(first.map((j) => j.token)).size).toBe(300);
      await backend.queue.release(first.map((j) => ({ jobId: j.id, token: j.token })));
      const second = await backend.queue.claim({ queues: ['tokens2'], limit: 300, leaseMs: 30_000, workerId: 'a' });
      const earlier = new Map(first.map((j) => [j.id, j.token]));
      for (const j of second) expect(j.token).toBeGreaterThan(earlier.get(j.id) as number);
      await backend.queue.release(second.map((j) => ({ jobId: j.id, token: j.token })));
    });

    it('a job enqueued in the caller transaction exists only once it commits, and its event arrives then', async () => {
      const seen: ConveyorEvent[] = [];
      const stop = other.events.subscribe((e) => {
        if (e.type === 'job.enqueued') seen.push(e);
      });
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        const { job } = await backend.queue.withClient(client).enqueue({ queue: 'tx', type: 'commit', payload: 1 });
        expect(await backend.queue.getJob(job.id)).toBeNull();
        await new Promise((resolve) => setTimeout(resolve, 100));
        expect(seen).toHaveLength(0);
        await client.query('COMMIT');
        expect((await backend.queue.getJob(job.id))?.state).toBe('waiting');
        await waitFor(() => seen.some((e) => e.jobId === job.id), 'the job.enqueued event after commit');
      } finally {
        client.release();
        stop();
      }
    });

    it('a job enqueued in a transaction that rolls back never exists and sends no event', async () => {
      const seen: ConveyorEvent[] = [];
      const stop = other.events.subscribe((e) => seen.push(e));
      const client = await admin.connect();
      try {
        await client.query('BEGIN');
        const [a, b] = await backend.queue.enqueueMany(
          [
            { queue: 'tx', type: 'rollback', payload: 1 },
            { queue: 'tx', type: 'rollback', payload: 2 },
          ],
          { client },
        );
        await client.query('ROLLBACK');
        expect(await backend.queue.getJob(a?.job.id as string)).toBeNull();
        expect(await backend.queue.getJob(b?.job.id as string)).toBeNull();
        // A later event from the same bus arrives; nothing from the rolled-back transaction came before it.
        await backend.events.publish([
          { id: 'marker', type: 'queue.paused', timestamp: new Date().toISOString(), queue: 'tx', data: {} },
        ]);
        await waitFor(() => seen.some((e) => e.id === 'marker'), 'the marker event');
        expect(seen.filter((e) => e.type === 'job.enqueued')).toHaveLength(0);
        expect((await backend.queue.counts('tx'))['tx']?.waiting).toBe(1);
      } finally {
        client.release();
        stop();
      }
    });

    it('heartbeats and acks over the same leases never deadlock, and acks answer in the caller order', async () => {
      const n = 300;
      await backend.queue.enqueueMany(
        Array.from({ length: n }, (_, i) => ({ queue: 'locks', type: 'lock-order', payload: i })),
      );
      const claimed = await backend.queue.claim({ queues: ['locks'], workerId: 'w-locks', limit: n, leaseMs: 60_000 });
      expect(claimed).toHaveLength(n);
      const leases = claimed.map((j) => ({ jobId: j.id, token: j.token }));
      const reversed = [...leases].reverse();
      // Rounds of a heartbeat over every lease (reverse order) racing acks of slices (forward order) on other
      // connections. Without the adapter keeping heartbeats apart from acks, these lock rows in different orders,
      // deadlock, and Postgres fails one statement (40P01).
      const extends_: Promise<unknown>[] = [];
      const acks: Promise<{ jobId: string; ok: boolean }[]>[] = [];
      for (let i = 0; i < n; i += 50) {
        extends_.push(backend.queue.extendLeases(reversed, 60_000));
        acks.push(backend.queue.complete(leases.slice(i, i + 50).map((l) => ({ ...l, result: null }))));
      }
      await Promise.all(extends_);
      const results = (await Promise.all(acks)).flat();
      expect(results.map((r) => r.jobId)).toEqual(leases.map((l) => l.jobId));
      expect(results.every((r) => r.ok)).toBe(true);
      // A batch out of order answers in its own order (the statement itself runs in id order).
      const more = await backend.queue.enqueueMany(
        Array.from({ length: 4 }, (_, i) => ({ queue: 'locks', type: 'lock-order', payload: i })),
      );
      const again = await backend.queue.claim({ queues: ['locks'], workerId: 'w-locks', limit: 4, leaseMs: 60_000 });
      const shuffled = [again[2], again[0], again[3], again[1]].map((j) => ({
        jobId: (j as ClaimedJob).id,
        token: (j as ClaimedJob).token,
        result: null,
      }));
      const answers = await backend.queue.complete([...shuffled, shuffled[0] as (typeof shuffled)[number]]);
      expect(answers.map((r) => [r.jobId, r.ok])).toEqual([
        ...shuffled.map((s) => [s.jobId, true]),
        [shuffled[0]?.jobId, false],
      ]);
      expect(more).toHaveLength(4);
    });

    it('a job removed at once on completion is removed whichever adapter claimed it; a lost lease stays lost', async () => {
      await backend.queue.enqueueMany([
        { queue: 'removal', type: 'gone', payload: 1, removeOnComplete: true },
        { queue: 'removal', type: 'kept', payload: 2 },
        { queue: 'removal', type: 'gone', payload: 3, removeOnComplete: true },
      ]);
      // Claimed by the other backend: this one has no hint that the first and third are removed on completion.
      const claimed = await other.queue.claim({ queues: ['removal'], workerId: 'w-r', limit: 3, leaseMs: 60_000 });
      expect(claimed).toHaveLength(3);
      const lost = {
        jobId: (claimed[1] as ClaimedJob).id,
        token: (claimed[1] as ClaimedJob).token + 1000,
        result: null,
      };
      const results = await backend.queue.complete([
        ...claimed.map((j) => ({ jobId: j.id, token: j.token, result: null })),
        lost,
      ]);
      expect(results.map((r) => r.ok)).toEqual([true, true, true, false]);
      const states = await Promise.all(
        claimed.map(async (j) => (await backend.queue.getJob(j.id))?.state ?? 'removed'),
      );
      expect(states).toEqual(claimed.map((j) => (j.type === 'gone' ? 'removed' : 'completed')));
      // Claimed by this backend, the removal goes straight to the statement with the DELETE.
      await backend.queue.enqueue({ queue: 'removal', type: 'gone', payload: 4, removeOnComplete: true });
      const [own] = await backend.queue.claim({ queues: ['removal'], workerId: 'w-r', limit: 1, leaseMs: 60_000 });
      const [done] = await backend.queue.complete([
        { jobId: (own as ClaimedJob).id, token: (own as ClaimedJob).token, result: null },
      ]);
      expect(done?.ok).toBe(true);
      expect(await backend.queue.getJob((own as ClaimedJob).id)).toBeNull();
      expect((await backend.queue.counts('removal'))['removal']).toMatchObject({ active: 0, completed: 1 });
    });

    it('counts match the jobs table after statements that count themselves and statements the triggers count', async () => {
      const q = 'counted';
      const truth = async () => {
        const { rows } = await admin.query<{ state: string; n: number }>(
          `SELECT state, count(*)::int AS n FROM "${schema}".jobs WHERE queue = $1 GROUP BY state`,
          [q],
        );
        const out: Record<string, number> = {};
        for (const r of rows) out[r.state] = r.n;
        return out;
      };
      const counted = async () => {
        const c = (await backend.queue.counts(q))[q] ?? {};
        return Object.fromEntries(Object.entries(c).filter(([, n]) => n !== 0));
      };
      // Enqueue: plain batch, a batch with unique keys (one clash), one delayed, one removed at once on completion.
      await backend.queue.enqueueMany(Array.from({ length: 6 }, (_, i) => ({ queue: q, type: 't', payload: i })));
      await backend.queue.enqueueMany([
        { queue: q, type: 't', payload: 'u1', uniqueKey: 'k1' },
        { queue: q, type: 't', payload: 'u2', uniqueKey: 'k1' },
        { queue: q, type: 't', payload: 'rm', removeOnComplete: true, removeOnFail: true, maxAttempts: 1 },
      ]);
      await backend.queue.enqueue({ queue: q, type: 't', payload: 'later', delayMs: 60_000 });
      expect(await counted()).toEqual(await truth());
      const claimed = await backend.queue.claim({ queues: [q], workerId: 'w-c', limit: 6, leaseMs: 60_000 });
      expect(await counted()).toEqual(await truth());
      const [a, b, c, d, e] = claimed as ClaimedJob[];
      const lease = (j: ClaimedJob | undefined) => ({ jobId: (j as ClaimedJob).id, token: (j as ClaimedJob).token });
      await backend.queue.complete([
        { ...lease(a), result: 1 },
        { ...lease(b), result: 2 },
      ]);
      await backend.queue.fail([
        { ...lease(c), error: { message: 'again', code: null, stack: null }, retryDelayMs: 1 },
        { ...lease(d), error: { message: 'final', code: null, stack: null }, retryDelayMs: null },
      ]);
      await backend.queue.release([lease(e)]);
      expect(await counted()).toEqual(await truth());
      // The rest, through the triggers and the statements again: removal on completion and on failure included.
      const rest = await backend.queue.claim({ queues: [q], workerId: 'w-c', limit: 20, leaseMs: 60_000 });
      const removable = rest.filter((j) => j.payload === 'rm');
      expect(removable).toHaveLength(1);
      await backend.queue.fail(
        removable.map((j) => ({ ...lease(j), error: { message: 'x', code: null, stack: null }, retryDelayMs: null })),
      );
      await backend.queue.complete(rest.filter((j) => j.payload !== 'rm').map((j) => ({ ...lease(j), result: null })));
      const waiting = (await backend.queue.listJobs({ queue: q, state: 'scheduled', limit: 10 })).items;
      for (const j of waiting) await backend.queue.cancel(j.id);
      expect(await counted()).toEqual(await truth());
    });

    it('events cross processes (two pools), and an event over 8000 bytes goes through the overflow table', async () => {
      const seen: ConveyorEvent[] = [];
      const stop = other.events.subscribe((e) => seen.push(e));
      const big = 'y'.repeat(20_000);
      await backend.events.publish([
        { id: 'small', type: 'job.progress', timestamp: new Date().toISOString(), data: { n: 1 } },
        { id: 'large', type: 'job.progress', timestamp: new Date().toISOString(), data: { big } },
      ]);
      await waitFor(() => seen.length >= 2, 'both events');
      expect(seen.map((e) => e.id)).toEqual(['small', 'large']);
      expect(seen[1]?.data['big']).toBe(big);
      stop();
    });

    it('knows whether anyone watches events in any process, and keeps knowing across a reconnect', async () => {
      // Only runtime-internal listeners (a worker's wake-up): nobody watches.
      const offInternal = backend.events.subscribe(() => undefined, { internal: true });
      await waitFor(
        () => backend.events.hasWatchers() === false && other.events.hasWatchers() === false,
        'no watchers',
      );
      // A dashboard in "another process" subscribes: the first bus sees it within about a second.
      const offWatcher = other.events.subscribe(() => undefined);
      expect(other.events.hasWatchers()).toBe(true);
      await waitFor(() => backend.events.hasWatchers(), 'the watcher seen from the other bus');
      // Its LISTEN connection dies and comes back: the watch is taken again.
      const pid = other.events.listenerPid();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(() => {
        const now = other.events.listenerPid();
        return now !== null && now !== pid;
      }, 'a new LISTEN connection');
      await new Promise((resolve) => setTimeout(resolve, 1100));
      await waitFor(() => backend.events.hasWatchers(), 'the watcher seen again after the reconnect');
      offWatcher();
      await waitFor(() => backend.events.hasWatchers() === false, 'the watcher gone');
      offInternal();
    });

    it('the LISTEN connection reconnects by itself after pg_terminate_backend, and events flow again', async () => {
      const seen: string[] = [];
      const stop = other.events.subscribe((e) => seen.push(e.id));
      const pid = other.events.listenerPid();
      expect(pid).not.toBeNull();
      await admin.query('SELECT pg_terminate_backend($1)', [pid]);
      await waitFor(() => {
        const now = other.events.listenerPid();
        return now !== null && now !== pid;
      }, 'a new LISTEN connection');
      await waitFor(async () => {
        await backend.events.publish([
          { id: `after-${Date.now()}`, type: 'job.progress', timestamp: new Date().toISOString(), data: {} },
        ]);
        await new Promise((resolve) => setTimeout(resolve, 50));
        return seen.some((id) => id.startsWith('after-'));
      }, 'an event after the reconnect');
      stop();
    });
  });

  describe('cost at scale', () => {
    const schema = testSchema('plans');
    const ROWS = 200_000;
    let backend: PostgresBackend;
    let admin: pg.Pool;

    beforeAll(async () => {
      backend = createPostgresBackend({ connectionString: DATABASE_URL, schema, poolSize: 2 });
      await initBackend(backend);
      admin = new pg.Pool({ connectionString: DATABASE_URL, max: 1 });
      // Bulk-load straight into the table (the triggers keep the counters), spread over states and two queues.
      await admin.query(
        `INSERT INTO "${schema}".jobs (id, queue, type, state, priority, max_attempts, created_at, run_at,
           finished_at, finish_seq, payload, remove_on_complete, remove_on_fail)
         SELECT 'j' || g, CASE WHEN g % 10 = 0 THEN 'b' ELSE 'a' END, 'bulk',
           (ARRAY['waiting','completed','completed','failed','scheduled'])[1 + g % 5], 0, 3, g, g,
           CASE WHEN g % 5 IN (1, 2, 3) THEN g END, CASE WHEN g % 5 IN (1, 2, 3) THEN g END,
           '{"n":1}', 'false', 'false'
         FROM generate_series(1, ${ROWS}) AS g`,
      );
      await admin.query(`ANALYZE "${schema}".jobs`);
    }, 120_000);

    afterAll(async () => {
      await closeBackend(backend);
      await admin.end();
      await dropSchema(schema);
    });

    async function plan(sql: string, values: unknown[] = []): Promise<string> {
      const { rows } = await admin.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${sql}`, values);
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    }

    it(`counts read the counter rows, never the ${ROWS}-row jobs table`, async () => {
      const counts = await backend.queue.counts();
      expect(counts['a']?.waiting).toBe(20_000);
      expect(counts['b']?.waiting).toBe(20_000);
      expect(counts['a']?.completed).toBe(80_000);
      expect(counts['a']?.failed).toBe(40_000);
      const text = await plan(
        `SELECT queue, state, sum(n) FROM (SELECT queue, state, n FROM "${schema}".queue_counts
         UNION ALL SELECT queue, state, delta FROM "${schema}".count_deltas) x GROUP BY queue, state`,
      );
      expect(text).not.toMatch(/jobs/);
    });

    it('a dashboard page (queue + state, newest first) is an index range scan with a limit', async () => {
      const text = await plan(
        `SELECT id FROM "${schema}".jobs j WHERE j.queue = 'a' AND j.state = 'completed'
         ORDER BY j.created_at DESC, j.id DESC LIMIT 51`,
      );
      expect(text).toMatch(/Index (Only )?Scan Backward using jobs_list/);
      expect(text).not.toMatch(/Seq Scan on jobs/);
      const page = await backend.queue.listJobs({ queue: 'a', state: 'completed', limit: 50 });
      expect(page.items).toHaveLength(50);
      const next = await backend.queue.listJobs({ queue: 'a', state: 'completed', limit: 50, cursor: page.nextCursor });
      expect(next.items[0]?.createdAt).toBeLessThan(page.items[49]?.createdAt as number);
    });

    it('active jobs are listed from the lease index (the list indexes leave them out), never by a scan', async () => {
      await admin.query(
        `UPDATE "${schema}".jobs SET state = 'active', lease_expires_at = 1000 + seq, token = seq
         WHERE id IN ('j5', 'j15', 'j20', 'j25')`,
      );
      try {
        const text = await plan(
          `SELECT id FROM "${schema}".jobs j WHERE j.state = 'active' AND j.queue = ANY ('{a}'::text[])
           ORDER BY j.created_at DESC, j.id DESC LIMIT 51`,
        );
        expect(text).toMatch(/jobs_leases/);
        expect(text).not.toMatch(/Seq Scan on jobs/);
        const page = await backend.queue.listJobs({ queue: 'a', state: 'active', limit: 2 });
        expect(page.items.map((j) => j.id)).toEqual(['j25', 'j15']);
        const next = await backend.queue.listJobs({ queue: 'a', state: 'active', limit: 2, cursor: page.nextCursor });
        expect(next.items.map((j) => j.id)).toEqual(['j5']);
        const byType = await backend.queue.listJobs({ type: 'bulk', limit: 3 });
        expect(byType.items.map((j) => j.id)).toEqual(['j200000', 'j199999', 'j199998']);
        // Every state of a queue, merged: the active one (j20) sits between two others.
        const all = await backend.queue.listJobs({ queue: 'b', limit: 3, cursor: encodeCursor([31, 'j31']) });
        expect(all.items.map((j) => [j.id, j.state])).toEqual([
          ['j30', 'waiting'],
          ['j20', 'active'],
          ['j10', 'waiting'],
        ]);
      } finally {
        await admin.query(
          `UPDATE "${schema}".jobs SET state = 'waiting', lease_expires_at = NULL WHERE id IN ('j5', 'j15', 'j20', 'j25')`,
        );
      }
    });

    it('the claim finds ready jobs through the partial ready index, not a scan', async () => {
      const text = await plan(
        `SELECT id FROM "${schema}".jobs j WHERE j.queue = 'a' AND j.state = 'waiting'
         ORDER BY j.priority DESC, j.run_at, j.seq LIMIT 100 FOR UPDATE SKIP LOCKED`,
      );
      expect(text).toMatch(/Index Scan using jobs_ready/);
      const due = await plan(
        `SELECT id FROM "${schema}".jobs j WHERE j.queue = 'a' AND j.state IN ('scheduled','retrying')
         AND j.run_at <= 1000 ORDER BY j.run_at, j.seq LIMIT 1000`,
      );
      expect(due).toMatch(/Index Scan using jobs_delayed/);
    });

    it('execution history reads walk an index: a job newest first, and the recent list backwards on the key', async () => {
      await admin.query(
        `INSERT INTO "${schema}".executions (id, job_id, queue, type, attempt, status, started_at, finished_at, duration_ms)
         SELECT 'x' || g, 'j' || (g % 50000), CASE WHEN g % 10 = 0 THEN 'b' ELSE 'a' END, 'bulk', 1, 'success', g, g + 1, 1
         FROM generate_series(1, ${ROWS}) AS g`,
      );
      await admin.query(`ANALYZE "${schema}".executions`);
      const byJob = await plan(
        `SELECT id FROM "${schema}".executions WHERE job_id = 'j7' ORDER BY started_at DESC, id DESC LIMIT 21`,
      );
      expect(byJob).toMatch(/Index Scan on executions_job|Index Scan using executions_job/);
      expect(byJob).not.toMatch(/Seq Scan/);
      const recent = await plan(
        `SELECT id FROM "${schema}".executions WHERE queue = 'b' ORDER BY started_at DESC, id DESC LIMIT 21`,
      );
      expect(recent).toMatch(/Index Scan Backward using executions_pkey/);
      expect(recent).not.toMatch(/Seq Scan|Sort/);
      const old = await plan(
        `SELECT started_at, id FROM "${schema}".executions WHERE started_at < 1000 AND finished_at < 1000 LIMIT 1000`,
      );
      expect(old).toMatch(/Index Scan using executions_pkey/);
    });

    it('retention and clean delete in short batches through the finished index', async () => {
      const text = await plan(
        `SELECT id FROM "${schema}".jobs WHERE queue = 'a' AND state = 'completed' AND finished_at <= 1000000
         ORDER BY finish_seq LIMIT 1000`,
      );
      expect(text).toMatch(/Index Scan using jobs_finished/);
      const removed = await backend.queue.clean({ queue: 'a', state: 'failed', limit: 2500 });
      expect(removed).toBe(2500);
    });
  });

  describe('a heartbeat over thousands of leases', () => {
    const schema = testSchema('heartbeat');
    const LEASES = 3000;
    let pool: pg.Pool;
    let backend: PostgresBackend;
    const plans: string[] = [];

    beforeAll(async () => {
      // The backend's own pool, with auto_explain sending the plan of every lease extension back to this test.
      pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });
      pool.on('connect', (client) => {
        void explainPlans(client, 'SET lease_expires_at', plans).catch(() => {});
      });
      backend = createPostgresBackend({ pool, schema });
      await initBackend(backend);
      // A table the size of a real one (200,000 finished jobs of about 400 bytes): there the plan costed for ten
      // leases probes the key per lease and joins by nested loop (measured: 390 ms for these 3,000 leases).
      const admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      try {
        await admin.query(
          `INSERT INTO "${schema}".jobs (id, queue, type, state, priority, max_attempts, created_at, run_at, finished_at,
             finish_seq, payload, remove_on_complete, remove_on_fail)
           SELECT 'done' || g, 'hb', 't', 'completed', 0, 3, g, g, g, g, to_jsonb(repeat('x', 360)), 'false', 'false'
           FROM generate_series(1, 200000) AS g`,
        );
      } finally {
        await admin.end();
      }
    }, 60_000);

    afterAll(async () => {
      await closeBackend(backend);
      await pool.end();
      await dropSchema(schema);
    });

    it('joins the leases to their rows by hash, whatever ran before (no nested loop over every pair)', async () => {
      await backend.queue.enqueueMany(
        Array.from({ length: LEASES }, (_, i) => ({ queue: 'hb', type: 't', payload: i })),
      );
      const jobs = await backend.queue.claim({ queues: ['hb'], limit: LEASES, leaseMs: 30_000, workerId: 'w' });
      expect(jobs).toHaveLength(LEASES);
      const leases = jobs.map((j) => ({ jobId: j.id, token: j.token }));
      // Postgres plans a prepared statement for its arguments five times, then keeps a generic plan when that looks
      // cheaper: one costed for ten leases, which looks cheaper than the real ones. The seventh heartbeat shows which.
      for (let i = 0; i < 6; i++) await backend.queue.extendLeases(leases, 30_000);
      plans.length = 0;
      const extended = await backend.queue.extendLeases(leases, 30_000);
      expect(extended.every((r) => r.ok)).toBe(true);
      expect(plans).toHaveLength(1);
      expect(plans[0]).toMatch(/Hash Join/);
      expect(plans[0]).not.toMatch(/Join Filter/);
      await backend.queue.release(leases);
    });
  });

  describe('claims on a table that was never analyzed', () => {
    const schema = testSchema('unanalyzed');
    const ROWS = 50_000;
    let backend: PostgresBackend;
    let admin: pg.Client;
    const plans: string[] = [];

    beforeAll(async () => {
      backend = createPostgresBackend({ connectionString: DATABASE_URL, schema, poolSize: 2 });
      await initBackend(backend);
      // Filled faster than autovacuum analyzes it (or with autovacuum off): no statistics at all.
      admin = new pg.Client({ connectionString: DATABASE_URL });
      await admin.connect();
      await admin.query(
        `INSERT INTO "${schema}".jobs (id, queue, type, state, priority, max_attempts, created_at, run_at, payload,
           remove_on_complete, remove_on_fail)
         SELECT 'j' || g, 'a', 'bulk', CASE WHEN g % 2 = 0 THEN 'waiting' ELSE 'scheduled' END, g % 3, 3, g, g,
           '{"n":1}', 'false', 'false'
         FROM generate_series(1, ${ROWS}) AS g`,
      );
      // The plan of every statement run inside the claim functions comes back to this session.
      await explainPlans(admin, `"${schema}".jobs`, plans);
    }, 60_000);

    afterAll(async () => {
      await admin.end();
      await closeBackend(backend);
      await dropSchema(schema);
    });

    it('has no statistics on jobs (what the functions guard against)', async () => {
      const { rows } = await admin.query<{ n: string }>(
        `SELECT count(*) AS n FROM pg_stats WHERE schemaname = $1 AND tablename = 'jobs'`,
        [schema],
      );
      expect(Number(rows[0]?.n)).toBe(0);
    });

    it('reads ready and due jobs in index order, stopping at the limit, also once the plan is generic', async () => {
      // This session steers the planner off index scans, which a claim statement's own plan would follow: the same
      // read outside the functions becomes the hazard (every ready job read, then sorted). The functions keep their
      // settings. plpgsql plans a statement for its arguments five times, then may keep a generic plan: both seen.
      await admin.query(`SET enable_indexscan = off`);
      plans.length = 0;
      await admin.query(
        `SELECT j.ctid FROM "${schema}".jobs j WHERE j.queue = 'a' AND j.state = 'waiting'
         ORDER BY j.priority DESC, j.run_at, j.seq LIMIT 100 FOR UPDATE SKIP LOCKED`,
      );
      expect(plans[0]).toMatch(/Sort/);
      for (let i = 0; i < 7; i++) {
        plans.length = 0;
        await admin.query(`BEGIN`);
        const ready = await admin.query<{ seq: string }>(
          `SELECT seq FROM "${schema}".claim_ready('a', 100, NULL) AS c(row_ctid, id, priority, run_at, seq, queue, state)`,
        );
        const due = await admin.query<{ id: string }>(
          `SELECT id FROM "${schema}".claim_due_window('a', 1000, 1000, NULL)`,
        );
        await admin.query(`ROLLBACK`);
        expect(ready.rows).toHaveLength(100);
        expect(due.rows).toHaveLength(500);
        const [readyPlan, duePlan] = plans;
        expect(readyPlan).toMatch(/Index Scan using jobs_ready/);
        expect(duePlan).toMatch(/Index Scan using jobs_delayed/);
        for (const plan of [readyPlan, duePlan]) expect(plan).not.toMatch(/Bitmap|Sort|Seq Scan/);
      }
      await admin.query(`RESET enable_indexscan`);
    });

    it('claims in priority order from the unanalyzed table', async () => {
      const jobs = await backend.queue.claim({ queues: ['a'], limit: 5, leaseMs: 30_000, workerId: 'w' });
      expect(jobs.map((j) => j.priority)).toEqual([2, 2, 2, 2, 2]);
      // Due scheduled jobs (odd ids, run_at in the past) rank with the waiting ones by priority, then due time.
      expect(jobs.map((j) => j.id)).toEqual(['j2', 'j5', 'j8', 'j11', 'j14']);
    });
  });
});
