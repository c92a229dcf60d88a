import type { Logger } from '@conveyor/core';
import { ConveyorError, conveyorMessage, HISTOGRAM_BOUNDS_MS, HISTOGRAM_SLOTS } from '@conveyor/core';
import type pg from 'pg';
import { COMPONENT } from './options';

/** One schema version: SQL run once, in order, inside the migration transaction. `S` is the quoted schema. */
interface Migration {
  version: number;
  description: string;
  sql: (S: string, schema: string) => string;
}

const PENDING = `('waiting','scheduled','retrying','active')`;

/** `ARRAY[…]` items: an upsert's stored histogram plus the new one, slot by slot (no function call per row). */
function addSlots(column: string): string {
  return Array.from(
    { length: HISTOGRAM_SLOTS },
    (_, i) => `coalesce(mb.${column}[${i + 1}], 0) + coalesce(excluded.${column}[${i + 1}], 0)`,
  ).join(', ');
}

/** `ARRAY[…]` items: the summed count of each histogram slot, from a column holding each row's slot. */
function slots(column: string): string {
  return Array.from({ length: HISTOGRAM_SLOTS }, (_, i) => `coalesce(sum(n) FILTER (WHERE ${column} = ${i}), 0)`).join(
    ', ',
  );
}

/** The counter columns `add_metrics` writes from version 3 on (version 3 added `timeout`). */
const ADD_METRICS_COUNTERS = ['enqueued', 'started', 'completed', 'failed', 'retried', 'stalled', 'timeout'] as const;

/** `add_metrics`'s signature and declarations, the same in every version from 3 on; the body follows. */
function addMetricsSignatureSql(S: string): string {
  return `CREATE OR REPLACE FUNCTION ${S}.add_metrics(p_shard integer, kinds text[], queues text[], types text[],
  ats double precision[], durations double precision[], waits double precision[], counts double precision[])
RETURNS bigint LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  written bigint;
BEGIN`;
}

/**
 * The start of every `add_metrics` version from 3 on: the signature, and the events unpacked (`m`) with their
 * histogram slots (`s`); each version continues the WITH list from there.
 */
function addMetricsHeadSql(S: string): string {
  return `${addMetricsSignatureSql(S)}
  WITH m AS (
    SELECT m.kind, m.queue, m.type, m.at, coalesce(m.n, 1) AS n,
      CASE WHEN m.kind IN ('completed', 'failed') THEN m.dur END AS dur,
      CASE WHEN m.kind = 'started' THEN m.wait END AS wait
    FROM unnest(kinds, queues, types, ats, durations, waits, counts) AS m(kind, queue, type, at, dur, wait, n)
  ), s AS MATERIALIZED (
    SELECT m.*, CASE WHEN dur IS NOT NULL THEN ${S}.hist_slot(dur) END AS ds,
      CASE WHEN wait IS NOT NULL THEN ${S}.hist_slot(wait) END AS ws
    FROM m
`;
}

/**
 * The end of every `add_metrics` version: add the aggregated rows `b` into their bucket shard (insert, or sum into
 * the row already there) and return how many rows were written.
 */
function upsertBucketsSql(
  S: string,
  counters: readonly string[],
  tail = `  SELECT count(*) INTO written FROM up;
  RETURN written;`,
): string {
  return `  ), up AS (
    INSERT INTO ${S}.metric_buckets AS mb (granularity, start, queue, type, shard, ${counters.join(', ')},
      duration_counts, duration_count, duration_sum, duration_max, wait_counts, wait_count, wait_sum, wait_max)
    SELECT granularity, start, queue, type, p_shard, ${counters.join(', ')},
      duration_counts, duration_count, duration_sum, duration_max, wait_counts, wait_count, wait_sum, wait_max
    FROM b ORDER BY granularity, start, queue, type
    ON CONFLICT (granularity, start, queue, type, shard) DO UPDATE SET
      ${counters.map((c) => `${c} = mb.${c} + excluded.${c}`).join(', ')},
      duration_counts = ARRAY[${addSlots('duration_counts')}],
      duration_count = mb.duration_count + excluded.duration_count,
      duration_sum = mb.duration_sum + excluded.duration_sum,
      duration_max = greatest(mb.duration_max, excluded.duration_max),
      wait_counts = ARRAY[${addSlots('wait_counts')}],
      wait_count = mb.wait_count + excluded.wait_count,
      wait_sum = mb.wait_sum + excluded.wait_sum,
      wait_max = greatest(mb.wait_max, excluded.wait_max)
    RETURNING 1
  )
${tail}
END
$$;`;
}

/**
 * `add_metrics` as of version 3 (every counter, `timeout` included): aggregate metric events into the buckets of
 * every granularity on one shard, rows in key order so concurrent writers never deadlock. Replaces version 2's
 * function of the same signature, so `fold_metrics` keeps calling it unchanged.
 */
function addMetricsSql(S: string): string {
  const counters = ADD_METRICS_COUNTERS;
  return `${addMetricsHeadSql(S)}  ), b AS (
    SELECT g.name AS granularity, (floor(s.at / g.ms) * g.ms)::bigint AS start, s.queue, s.type,
      ${counters.map((c) => `coalesce(sum(n) FILTER (WHERE kind = '${c}'), 0) AS ${c}`).join(',\n      ')},
      ARRAY[${slots('ds')}]::double precision[] AS duration_counts,
      coalesce(sum(n) FILTER (WHERE dur IS NOT NULL), 0) AS duration_count,
      coalesce(sum(dur * n), 0) AS duration_sum,
      greatest(coalesce(max(dur), 0), 0) AS duration_max,
      ARRAY[${slots('ws')}]::double precision[] AS wait_counts,
      coalesce(sum(n) FILTER (WHERE wait IS NOT NULL), 0) AS wait_count,
      coalesce(sum(wait * n), 0) AS wait_sum,
      greatest(coalesce(max(wait), 0), 0) AS wait_max
    FROM s CROSS JOIN (VALUES ('minute', 60000::double precision), ('hour', 3600000), ('day', 86400000)) AS g(name, ms)
    GROUP BY 1, 2, 3, 4
${upsertBucketsSql(S, counters)}`;
}

/**
 * The CTE `b` of versions 5 and 8: the minute bucket rows `mm` as they are, plus the hour and day rows summed from
 * them (every counter, histogram slot and sum adds up; maxima take the max). `alias` names the granularity list,
 * which must not clash with the CTEs before it (version 8 has a CTE `g`). Released migrations' text stays the same.
 */
function minuteRollupSql(alias: string): string {
  const sumSlots = (column: string) =>
    Array.from({ length: HISTOGRAM_SLOTS }, (_, i) => `sum(mm.${column}[${i + 1}])`).join(', ');
  return `  ), b AS (
    SELECT 'minute'::text AS granularity, mm.* FROM mm
    UNION ALL
    SELECT ${alias}.name, (floor(mm.start / ${alias}.ms) * ${alias}.ms)::bigint, mm.queue, mm.type,
      ${ADD_METRICS_COUNTERS.map((c) => `sum(mm.${c})`).join(', ')},
      ARRAY[${sumSlots('duration_counts')}]::double precision[], sum(mm.duration_count), sum(mm.duration_sum),
      max(mm.duration_max),
      ARRAY[${sumSlots('wait_counts')}]::double precision[], sum(mm.wait_count), sum(mm.wait_sum), max(mm.wait_max)
    FROM mm CROSS JOIN (VALUES ('hour', 3600000::double precision), ('day', 86400000)) AS ${alias}(name, ms)
    GROUP BY 1, 2, 3, 4
`;
}

/**
 * `add_metrics` as of version 5: the same result as {@link addMetricsSql}, cheaper. The events are aggregated once,
 * into minute buckets (every counter and histogram slot is an aggregate, so that is the costly step), and the hour and
 * day buckets are summed from those few minute rows instead of from every event again.
 */
function addMetricsRolledUpSql(S: string): string {
  const counters = ADD_METRICS_COUNTERS;
  return `${addMetricsHeadSql(S)}  ), mm AS MATERIALIZED (
    SELECT (floor(s.at / 60000) * 60000)::bigint AS start, s.queue, s.type,
      ${counters.map((c) => `coalesce(sum(n) FILTER (WHERE kind = '${c}'), 0) AS ${c}`).join(',\n      ')},
      ARRAY[${slots('ds')}]::double precision[] AS duration_counts,
      coalesce(sum(n) FILTER (WHERE dur IS NOT NULL), 0) AS duration_count,
      coalesce(sum(dur * n), 0) AS duration_sum,
      greatest(coalesce(max(dur), 0), 0) AS duration_max,
      ARRAY[${slots('ws')}]::double precision[] AS wait_counts,
      coalesce(sum(n) FILTER (WHERE wait IS NOT NULL), 0) AS wait_count,
      coalesce(sum(wait * n), 0) AS wait_sum,
      greatest(coalesce(max(wait), 0), 0) AS wait_max
    FROM s GROUP BY 1, 2, 3
${minuteRollupSql('g')}${upsertBucketsSql(S, counters)}`;
}

/**
 * The histogram slot of `v` (NULL for NULL), as `hist_slot` and core's `histogramSlot`: the number of bounds below
 * it, a value equal to a bound counting in that bound's slot. One `width_bucket` binary search over the negated
 * bounds (it counts the bounds >= v) instead of a CASE of every bound, which the planner inlines once per bound.
 */
function slotSql(v: string): string {
  const n = HISTOGRAM_BOUNDS_MS.length;
  const negated = [...HISTOGRAM_BOUNDS_MS].reverse().map((b) => -b);
  return `CASE WHEN ${v} = 'NaN'::double precision THEN ${n} ELSE ${n} - width_bucket(-${v}, '{${negated.join(',')}}'::double precision[]) END`;
}

/**
 * From version 8 on: the CTEs turning metric events `m` (kind, queue, type, start — the minute —, n, dur, wait) into
 * bucket rows `b` for {@link upsertBucketsSql}, in two steps. The events are first grouped by (minute, queue, type,
 * kind, duration slot, wait slot) with five plain aggregates each — 20,000 events of one queue and type make a few
 * dozen groups — and only those groups go through the forty-odd filtered aggregates of a bucket row (every counter
 * and histogram slot); the hour and day rows are summed from the minute rows.
 */
function groupedBucketsSql(S: string, tail?: string): string {
  const counters = ADD_METRICS_COUNTERS;
  const slotSums = (column: string) =>
    Array.from({ length: HISTOGRAM_SLOTS }, (_, i) => `coalesce(sum(g.n) FILTER (WHERE g.${column} = ${i}), 0)`).join(
      ', ',
    );
  return `  ), g AS MATERIALIZED (
    SELECT m.start, m.queue, m.type, m.kind, ${slotSql('m.dur')} AS ds, ${slotSql('m.wait')} AS ws,
      sum(m.n) AS n, sum(m.dur * m.n) AS dur_sum, max(m.dur) AS dur_max, sum(m.wait * m.n) AS wait_sum,
      max(m.wait) AS wait_max
    FROM m GROUP BY 1, 2, 3, 4, 5, 6
  ), mm AS MATERIALIZED (
    SELECT g.start, g.queue, g.type,
      ${counters.map((c) => `coalesce(sum(g.n) FILTER (WHERE g.kind = '${c}'), 0) AS ${c}`).join(',\n      ')},
      ARRAY[${slotSums('ds')}]::double precision[] AS duration_counts,
      coalesce(sum(g.n) FILTER (WHERE g.ds IS NOT NULL), 0) AS duration_count,
      coalesce(sum(g.dur_sum), 0) AS duration_sum,
      greatest(coalesce(max(g.dur_max), 0), 0) AS duration_max,
      ARRAY[${slotSums('ws')}]::double precision[] AS wait_counts,
      coalesce(sum(g.n) FILTER (WHERE g.ws IS NOT NULL), 0) AS wait_count,
      coalesce(sum(g.wait_sum), 0) AS wait_sum,
      greatest(coalesce(max(g.wait_max), 0), 0) AS wait_max
    FROM g GROUP BY 1, 2, 3
${minuteRollupSql('gr')}${upsertBucketsSql(S, counters, tail)}`;
}

/** The events of one unnested metric batch as {@link groupedBucketsSql} reads them (`u` is the unnest alias). */
const EVENT_COLUMNS = `u.kind, u.queue, u.type, (floor(u.at / 60000) * 60000)::bigint AS start, coalesce(u.n, 1) AS n,
      CASE WHEN u.kind IN ('completed', 'failed') THEN u.dur END AS dur,
      CASE WHEN u.kind = 'started' THEN u.wait END AS wait`;

/** `add_metrics` as of version 8 (see {@link groupedBucketsSql}): same signature and buckets as before. */
function addMetricsGroupedSql(S: string): string {
  return `${addMetricsSignatureSql(S)}
  WITH m AS (
    SELECT ${EVENT_COLUMNS}
    FROM unnest(kinds, queues, types, ats, durations, waits, counts) AS u(kind, queue, type, at, dur, wait, n)
${groupedBucketsSql(S)}`;
}

/**
 * `fold_metrics` as of version 8: the log rows it takes are grouped straight into buckets in one statement. Before,
 * their events were unnested, gathered into seven arrays and handed to `add_metrics`, which unnested them again
 * (each pass over 20,000 events cost about as much as the grouping itself). Same signature and result.
 */
function foldMetricsGroupedSql(S: string): string {
  return `CREATE OR REPLACE FUNCTION ${S}.fold_metrics(max_rows integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  p_shard integer := floor(random() * 8)::integer;
  written bigint;
  moved bigint;
BEGIN
  WITH log AS (
    DELETE FROM ${S}.metric_log WHERE id IN (
      SELECT id FROM ${S}.metric_log ORDER BY id LIMIT max_rows FOR UPDATE SKIP LOCKED
    ) RETURNING kinds, queues, types, ats, durations, waits, counts
  ), m AS (
    SELECT ${EVENT_COLUMNS}
    FROM log, unnest(log.kinds, log.queues, log.types, log.ats, log.durations, log.waits, log.counts)
      AS u(kind, queue, type, at, dur, wait, n)
${groupedBucketsSql(
  S,
  `  SELECT (SELECT count(*) FROM log), (SELECT count(*) FROM up) INTO moved, written;
  RETURN moved;`,
)}`;
}

/** The count trigger functions from version 9 on, and what each appends when the statement did not count itself. */
const COUNT_TRIGGERS: readonly (readonly [string, (S: string) => string])[] = [
  [
    'jobs_counted_insert',
    (S) => `INSERT INTO ${S}.count_deltas (queue, state, delta)
    SELECT queue, state, count(*) FROM new_rows GROUP BY queue, state;`,
  ],
  [
    'jobs_counted_update',
    (S) => `INSERT INTO ${S}.count_deltas (queue, state, delta)
    SELECT queue, state, sum(d) FROM (
      SELECT queue, state, 1 AS d FROM new_rows
      UNION ALL
      SELECT queue, state, -1 FROM old_rows
    ) x GROUP BY queue, state HAVING sum(d) <> 0;`,
  ],
  [
    'jobs_counted_delete',
    (S) => `INSERT INTO ${S}.count_deltas (queue, state, delta)
    SELECT queue, state, -count(*) FROM old_rows GROUP BY queue, state;`,
  ],
];

/**
 * The versioned migrations. Append only: a released migration never changes (a new version fixes it).
 *
 * Times are bigint milliseconds so the adapter's optional test clock and database time (`now_ms(NULL)`) mix
 * freely; text keys use the "C" collation so ordering by id matches JavaScript's string order.
 */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'jobs, counters, schedules, executions, workers, metrics, event overflow',
    sql: (S, schema) => `
CREATE FUNCTION ${S}.now_ms(override bigint) RETURNS bigint LANGUAGE sql STABLE AS
  $$ SELECT coalesce(override, floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint) $$;

CREATE SEQUENCE ${S}.lease_tokens AS bigint;
-- Order in which jobs reach a finished state: retention keeps "the N most recently finished" by it.
CREATE SEQUENCE ${S}.finish_order AS bigint;

CREATE TABLE ${S}.jobs (
  id text COLLATE "C" PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,
  queue text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  state text NOT NULL CHECK (state IN ('waiting','scheduled','retrying','active','completed','failed','cancelled')),
  priority double precision NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL,
  token bigint NOT NULL DEFAULT 0,
  -- bit 1: remove at once on completion, bit 2: on failure; bit 4 / 8: a count or age rule to apply.
  retention smallint NOT NULL DEFAULT 0,
  created_at bigint NOT NULL,
  run_at bigint NOT NULL,
  started_at bigint,
  finished_at bigint,
  finish_seq bigint,
  lease_expires_at bigint,
  worker_id text,
  unique_key text COLLATE "C",
  timeout_ms double precision,
  payload jsonb,
  backoff jsonb,
  remove_on_complete jsonb NOT NULL,
  remove_on_fail jsonb NOT NULL,
  meta jsonb,
  result jsonb,
  last_error jsonb,
  progress jsonb
) WITH (autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.02);

-- The one full secondary index: newest-first pages per (queue, state); listJobs merges states and queues from it.
CREATE INDEX jobs_list ON ${S}.jobs (queue, state, created_at DESC, id DESC);
-- Claim order among waiting jobs.
CREATE INDEX jobs_ready ON ${S}.jobs (queue, priority DESC, run_at, seq) WHERE state = 'waiting';
-- Delayed jobs by due time: the claim takes the due ones, the range stops at store-now.
CREATE INDEX jobs_delayed ON ${S}.jobs (queue, run_at, seq) WHERE state IN ('scheduled','retrying');
-- Expired leases for the stalled sweep.
CREATE INDEX jobs_leases ON ${S}.jobs (lease_expires_at) WHERE state = 'active';
-- A unique key is held while its job is pending, per queue.
CREATE UNIQUE INDEX jobs_unique_key ON ${S}.jobs (queue, unique_key) WHERE unique_key IS NOT NULL AND state IN ${PENDING};
-- Finished jobs in finishing order: retention, clean, retryFailed.
CREATE INDEX jobs_finished ON ${S}.jobs (queue, state, finish_seq) WHERE state IN ('completed','failed','cancelled');

-- Counts by state: folded totals plus an append-only log of deltas written by statement triggers. Appending never
-- contends on a hot row; fold_counts() moves the log into the totals in small batches.
CREATE TABLE ${S}.queue_counts (
  queue text COLLATE "C" NOT NULL,
  state text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (queue, state)
);
CREATE TABLE ${S}.count_deltas (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  queue text COLLATE "C" NOT NULL,
  state text NOT NULL,
  delta bigint NOT NULL
);

CREATE FUNCTION ${S}.jobs_counted_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${S}.count_deltas (queue, state, delta)
    SELECT queue, state, count(*) FROM new_rows GROUP BY queue, state;
  RETURN NULL;
END $$;
CREATE FUNCTION ${S}.jobs_counted_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${S}.count_deltas (queue, state, delta)
    SELECT queue, state, sum(d) FROM (
      SELECT queue, state, 1 AS d FROM new_rows
      UNION ALL
      SELECT queue, state, -1 FROM old_rows
    ) x GROUP BY queue, state HAVING sum(d) <> 0;
  RETURN NULL;
END $$;
CREATE FUNCTION ${S}.jobs_counted_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO ${S}.count_deltas (queue, state, delta)
    SELECT queue, state, -count(*) FROM old_rows GROUP BY queue, state;
  RETURN NULL;
END $$;
CREATE TRIGGER jobs_counted_insert AFTER INSERT ON ${S}.jobs REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ${S}.jobs_counted_insert();
CREATE TRIGGER jobs_counted_update AFTER UPDATE ON ${S}.jobs REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ${S}.jobs_counted_update();
CREATE TRIGGER jobs_counted_delete AFTER DELETE ON ${S}.jobs REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION ${S}.jobs_counted_delete();

-- Move up to max_rows deltas into the totals. Concurrent folds skip each other's rows; totals rows are updated in
-- key order so two folds never deadlock.
CREATE FUNCTION ${S}.fold_counts(max_rows integer) RETURNS bigint LANGUAGE sql AS $$
  WITH moved AS (
    DELETE FROM ${S}.count_deltas WHERE id IN (
      SELECT id FROM ${S}.count_deltas ORDER BY id LIMIT max_rows FOR UPDATE SKIP LOCKED
    ) RETURNING queue, state, delta
  ), folded AS (
    INSERT INTO ${S}.queue_counts AS c (queue, state, n)
      SELECT queue, state, sum(delta) FROM moved GROUP BY queue, state ORDER BY queue, state
    ON CONFLICT (queue, state) DO UPDATE SET n = c.n + excluded.n
    RETURNING 1
  )
  SELECT count(*) FROM moved
$$;

-- Oldest waiting runAt of a queue: one index probe per distinct priority (a loose index scan), never a scan.
CREATE FUNCTION ${S}.oldest_waiting(q text) RETURNS bigint LANGUAGE plpgsql STABLE AS $$
DECLARE
  p double precision;
  r bigint;
  best bigint;
BEGIN
  SELECT priority, run_at INTO p, r FROM ${S}.jobs
    WHERE queue = q AND state = 'waiting' ORDER BY priority DESC, run_at, seq LIMIT 1;
  WHILE FOUND LOOP
    best := least(best, r);
    SELECT priority, run_at INTO p, r FROM ${S}.jobs
      WHERE queue = q AND state = 'waiting' AND priority < p ORDER BY priority DESC, run_at, seq LIMIT 1;
  END LOOP;
  RETURN best;
END $$;

CREATE TABLE ${S}.queues (
  name text COLLATE "C" PRIMARY KEY,
  paused boolean NOT NULL DEFAULT false
);

CREATE TABLE ${S}.schedules (
  name text COLLATE "C" PRIMARY KEY,
  cron text NOT NULL,
  timezone text NOT NULL,
  job jsonb NOT NULL,
  last_fired_at bigint,
  next_run_at bigint,
  paused boolean NOT NULL DEFAULT false
);

CREATE TABLE ${S}.executions (
  id text COLLATE "C" PRIMARY KEY,
  job_id text COLLATE "C" NOT NULL,
  queue text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  attempt integer NOT NULL,
  status text NOT NULL,
  started_at double precision NOT NULL,
  finished_at double precision NOT NULL,
  duration_ms double precision NOT NULL,
  worker_id text,
  result jsonb,
  error jsonb
);
CREATE INDEX executions_job ON ${S}.executions (job_id, started_at DESC, id DESC);
CREATE INDEX executions_recent ON ${S}.executions (started_at DESC, id DESC);

CREATE TABLE ${S}.workers (
  id text COLLATE "C" PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  queues text[] NOT NULL,
  concurrency integer NOT NULL,
  started_at double precision NOT NULL,
  last_seen_at bigint NOT NULL,
  active_jobs integer NOT NULL DEFAULT 0,
  executions bigint NOT NULL DEFAULT 0,
  succeeded bigint NOT NULL DEFAULT 0,
  failed bigint NOT NULL DEFAULT 0,
  total_duration_ms double precision NOT NULL DEFAULT 0
);

CREATE FUNCTION ${S}.add_counts(a double precision[], b double precision[]) RETURNS double precision[] LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce(array_agg(coalesce(x, 0) + coalesce(y, 0) ORDER BY i), '{}')
  FROM unnest(a, b) WITH ORDINALITY AS t(x, y, i)
$$;

CREATE TABLE ${S}.metric_buckets (
  granularity text NOT NULL,
  start bigint NOT NULL,
  queue text COLLATE "C" NOT NULL,
  type text COLLATE "C" NOT NULL,
  enqueued double precision NOT NULL DEFAULT 0,
  started double precision NOT NULL DEFAULT 0,
  completed double precision NOT NULL DEFAULT 0,
  failed double precision NOT NULL DEFAULT 0,
  retried double precision NOT NULL DEFAULT 0,
  stalled double precision NOT NULL DEFAULT 0,
  duration_counts double precision[] NOT NULL,
  duration_count double precision NOT NULL,
  duration_sum double precision NOT NULL,
  duration_max double precision NOT NULL,
  wait_counts double precision[] NOT NULL,
  wait_count double precision NOT NULL,
  wait_sum double precision NOT NULL,
  wait_max double precision NOT NULL,
  PRIMARY KEY (granularity, start, queue, type)
);

-- Events too large for one NOTIFY (8000 bytes): the notification carries the row id, listeners read the body.
CREATE TABLE ${S}.event_overflow (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  body text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON SCHEMA ${S} IS 'Conveyor job queue (${schema}); managed by @conveyor/postgres migrations.';
`,
  },
  {
    version: 2,
    description:
      'metric log and sharded buckets summed in SQL, for history written inside claims and acks; jobs by type',
    sql: (S) => `
-- Writers spread over shards so two transactions recording the same bucket never wait on one row; reads sum them.
ALTER TABLE ${S}.metric_buckets ADD COLUMN shard smallint NOT NULL DEFAULT 0;
ALTER TABLE ${S}.metric_buckets DROP CONSTRAINT metric_buckets_pkey;
ALTER TABLE ${S}.metric_buckets ADD PRIMARY KEY (granularity, start, queue, type, shard);
ALTER TABLE ${S}.metric_buckets SET (fillfactor = 50);

-- Jobs of one type newest first, per queue: listJobs by type without a state.
CREATE INDEX jobs_type_list ON ${S}.jobs (queue, type, created_at DESC, id DESC);

-- The histogram slot of a value, as core's histogramSlot: the number of bounds below it.
CREATE FUNCTION ${S}.hist_slot(v double precision) RETURNS integer LANGUAGE sql IMMUTABLE AS
  $$ SELECT CASE ${HISTOGRAM_BOUNDS_MS.map((b, i) => `WHEN v <= ${b} THEN ${i}`).join(' ')} ELSE ${HISTOGRAM_BOUNDS_MS.length} END $$;

-- Add metric events (as MetricsAdapter.record) into the buckets of every granularity, on one shard. Rows in key
-- order, so concurrent writers never deadlock. PL/pgSQL: its plan is made once per connection, not on every call.
CREATE FUNCTION ${S}.add_metrics(p_shard integer, kinds text[], queues text[], types text[], ats double precision[],
  durations double precision[], waits double precision[], counts double precision[]) RETURNS bigint
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  written bigint;
BEGIN
  WITH m AS (
    SELECT m.kind, m.queue, m.type, m.at, coalesce(m.n, 1) AS n,
      CASE WHEN m.kind IN ('completed', 'failed') THEN m.dur END AS dur,
      CASE WHEN m.kind = 'started' THEN m.wait END AS wait
    FROM unnest(kinds, queues, types, ats, durations, waits, counts) AS m(kind, queue, type, at, dur, wait, n)
  ), s AS MATERIALIZED (
    SELECT m.*, CASE WHEN dur IS NOT NULL THEN ${S}.hist_slot(dur) END AS ds,
      CASE WHEN wait IS NOT NULL THEN ${S}.hist_slot(wait) END AS ws
    FROM m
  ), b AS (
    SELECT g.name AS granularity, (floor(s.at / g.ms) * g.ms)::bigint AS start, s.queue, s.type,
      coalesce(sum(n) FILTER (WHERE kind = 'enqueued'), 0) AS enqueued,
      coalesce(sum(n) FILTER (WHERE kind = 'started'), 0) AS started,
      coalesce(sum(n) FILTER (WHERE kind = 'completed'), 0) AS completed,
      coalesce(sum(n) FILTER (WHERE kind = 'failed'), 0) AS failed,
      coalesce(sum(n) FILTER (WHERE kind = 'retried'), 0) AS retried,
      coalesce(sum(n) FILTER (WHERE kind = 'stalled'), 0) AS stalled,
      ARRAY[${slots('ds')}]::double precision[] AS duration_counts,
      coalesce(sum(n) FILTER (WHERE dur IS NOT NULL), 0) AS duration_count,
      coalesce(sum(dur * n), 0) AS duration_sum,
      greatest(coalesce(max(dur), 0), 0) AS duration_max,
      ARRAY[${slots('ws')}]::double precision[] AS wait_counts,
      coalesce(sum(n) FILTER (WHERE wait IS NOT NULL), 0) AS wait_count,
      coalesce(sum(wait * n), 0) AS wait_sum,
      greatest(coalesce(max(wait), 0), 0) AS wait_max
    FROM s CROSS JOIN (VALUES ('minute', 60000::double precision), ('hour', 3600000), ('day', 86400000)) AS g(name, ms)
    GROUP BY 1, 2, 3, 4
  ), up AS (
    INSERT INTO ${S}.metric_buckets AS mb (granularity, start, queue, type, shard, enqueued, started, completed,
      failed, retried, stalled, duration_counts, duration_count, duration_sum, duration_max, wait_counts, wait_count,
      wait_sum, wait_max)
    SELECT granularity, start, queue, type, p_shard, enqueued, started, completed, failed, retried, stalled,
      duration_counts, duration_count, duration_sum, duration_max, wait_counts, wait_count, wait_sum, wait_max
    FROM b ORDER BY granularity, start, queue, type
    ON CONFLICT (granularity, start, queue, type, shard) DO UPDATE SET
      enqueued = mb.enqueued + excluded.enqueued, started = mb.started + excluded.started,
      completed = mb.completed + excluded.completed, failed = mb.failed + excluded.failed,
      retried = mb.retried + excluded.retried, stalled = mb.stalled + excluded.stalled,
      duration_counts = ARRAY[${addSlots('duration_counts')}],
      duration_count = mb.duration_count + excluded.duration_count,
      duration_sum = mb.duration_sum + excluded.duration_sum,
      duration_max = greatest(mb.duration_max, excluded.duration_max),
      wait_counts = ARRAY[${addSlots('wait_counts')}],
      wait_count = mb.wait_count + excluded.wait_count,
      wait_sum = mb.wait_sum + excluded.wait_sum,
      wait_max = greatest(mb.wait_max, excluded.wait_max)
    RETURNING 1
  )
  SELECT count(*) INTO written FROM up;
  RETURN written;
END
$$;

-- Metric events written by claims, acks and enqueues, one row per statement (append only: no row two writers
-- wait on, one index entry). fold_metrics moves them into the buckets; readers fold first.
CREATE TABLE ${S}.metric_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kinds text[] NOT NULL,
  queues text[] NOT NULL,
  types text[] NOT NULL,
  ats double precision[] NOT NULL,
  durations double precision[],
  waits double precision[],
  counts double precision[]
);

-- Fold up to max_rows log rows (oldest first) into the buckets. Concurrent folds skip each other's rows.
CREATE FUNCTION ${S}.fold_metrics(max_rows integer) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  moved bigint;
  k text[];
  q text[];
  ty text[];
  a double precision[];
  d double precision[];
  w double precision[];
  c double precision[];
BEGIN
  WITH m AS (
    DELETE FROM ${S}.metric_log WHERE id IN (
      SELECT id FROM ${S}.metric_log ORDER BY id LIMIT max_rows FOR UPDATE SKIP LOCKED
    ) RETURNING kinds, queues, types, ats, durations, waits, counts
  ), e AS (
    SELECT u.* FROM m, unnest(m.kinds, m.queues, m.types, m.ats, m.durations, m.waits, m.counts)
      AS u(kind, queue, type, at, dur, wait, n)
  )
  SELECT (SELECT count(*) FROM m), array_agg(kind), array_agg(queue), array_agg(type), array_agg(at), array_agg(dur),
    array_agg(wait), array_agg(n)
  INTO moved, k, q, ty, a, d, w, c FROM e;
  IF moved > 0 THEN
    PERFORM ${S}.add_metrics(floor(random() * 8)::integer, k, q, ty, a, d, w, c);
  END IF;
  RETURN moved;
END
$$;
`,
  },
  {
    version: 3,
    description: 'timeout counter in the metric buckets',
    sql: (S) => `
-- Attempts that ended by timeout (a subset of failed + retried). Existing rows read 0; adding a column with a constant
-- default rewrites nothing.
ALTER TABLE ${S}.metric_buckets ADD COLUMN timeout double precision NOT NULL DEFAULT 0;
${addMetricsSql(S)}`,
  },
  {
    version: 4,
    description: 'jobs pages keep room for updated row versions',
    sql: (S) => `
-- A claim and an ack each write a new version of the row (no HOT update: they change indexed columns). With room on
-- the page the new version stays beside the old one: one page dirtied instead of two, and the WAL record logs only
-- the bytes that changed (prefix/suffix compression applies to same-page updates only). Applies to pages filled from
-- now on; nothing is rewritten.
ALTER TABLE ${S}.jobs SET (fillfactor = 70);`,
  },
  {
    version: 5,
    description: 'metric folds aggregate events into minutes once and roll hours and days up from them',
    sql: (S) => `
${addMetricsRolledUpSql(S)}`,
  },
  {
    version: 6,
    description: 'the two list indexes leave out active jobs: a claim writes two index entries fewer',
    sql: (S) => `
-- A claim's new row version (state 'active') was entered in every index the state of which matched: the primary key,
-- jobs_leases, and both list indexes. Active jobs are few (at most the leases the workers hold), so listJobs finds
-- them through jobs_leases instead, and the list indexes keep only the other states: each claim writes two index
-- entries fewer (of eight per processed job). Rebuilding both indexes holds writes to jobs for its duration (seconds
-- per million jobs), like version 2.
DROP INDEX ${S}.jobs_list;
CREATE INDEX jobs_list ON ${S}.jobs (queue, state, created_at DESC, id DESC) WHERE state <> 'active';
DROP INDEX ${S}.jobs_type_list;
CREATE INDEX jobs_type_list ON ${S}.jobs (queue, type, created_at DESC, id DESC) WHERE state <> 'active';`,
  },
  {
    version: 7,
    description: 'executions keyed by (started_at, id): one index fewer written per execution record',
    sql: (S) => `
-- Every execution record was entered in three indexes: the primary key (id), executions_job and executions_recent
-- (started_at DESC, id DESC). The primary key becomes (started_at, id), which serves the recent list (read backwards)
-- and cleanup by age, so executions_recent goes: each record writes two index entries instead of three. A record id
-- written again with the same start time (the runtime resends the same record) is still kept once. Existing rows
-- are unique by id, so they are unique by (started_at, id); rebuilding the key holds writes to executions for its
-- duration (seconds per million records).
ALTER TABLE ${S}.executions DROP CONSTRAINT executions_pkey;
DROP INDEX ${S}.executions_recent;
ALTER TABLE ${S}.executions ADD PRIMARY KEY (started_at, id);`,
  },
  {
    version: 8,
    description: 'metric folds group the logged events straight into buckets, by minute and histogram slot first',
    sql: (S) => `
${addMetricsGroupedSql(S)}
${foldMetricsGroupedSql(S)}`,
  },
  {
    version: 9,
    description: 'count triggers leave alone the statements that append their own count deltas',
    sql: (S) => `
-- The claim, acknowledgement and enqueue statements append their count deltas themselves, from the rows they changed,
-- and mark the statement by setting conveyor.counted to its statement_timestamp() (transaction-local); the triggers
-- then return at once. Every other statement, and processes still running an older release, are counted by the
-- triggers as before. The setting names a statement, so a later statement of the same transaction is counted again.
${COUNT_TRIGGERS.map(
  ([name, body]) => `CREATE OR REPLACE FUNCTION ${S}.${name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('conveyor.counted', true) = statement_timestamp()::text THEN
    RETURN NULL;
  END IF;
  ${body(S)}
  RETURN NULL;
END $$;`,
).join('\n')}`,
  },
  {
    version: 10,
    description: 'claims read ready and due jobs through functions whose plan walks the index, whatever the statistics',
    sql: (S) => `
-- The claim's two ordered range reads (ready jobs by priority, due jobs by time) were part of the claim statement, and
-- their plan depended on the table's statistics. A table filled faster than autovacuum analyzes it (a first bulk
-- load, a backfill, or autovacuum turned off) has none: the planner then guessed a handful of rows per queue and
-- chose to read every ready job by bitmap and sort them, on every claim, in a plan kept for the connection's life
-- (measured: 100 ms a claim, 2,000 jobs/s, with 200,000 jobs waiting). In these functions index scans are on and
-- sequential scans, bitmap scans and sorts off, for their own queries only, whatever the session says: that leaves
-- one plan, the partial index in its own order, stopping at the limit. claim_ready locks the rows it returns; its query
-- takes its own snapshot, so the claim counts the rows its update changed, not the rows it picked.
CREATE FUNCTION ${S}.claim_ready(p_queue text, p_limit integer, p_types text[])
RETURNS TABLE (row_ctid tid, id text, priority double precision, run_at bigint, seq bigint, queue text, state text)
LANGUAGE plpgsql SET enable_indexscan = on SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    SELECT j.ctid, j.id, j.priority, j.run_at, j.seq, j.queue, j.state FROM ${S}.jobs j
    WHERE j.queue = p_queue AND j.state = 'waiting' AND (p_types IS NULL OR j.type = ANY (p_types))
    ORDER BY j.priority DESC, j.run_at, j.seq
    LIMIT p_limit FOR UPDATE SKIP LOCKED;
END $$;
CREATE FUNCTION ${S}.claim_due_window(p_queue text, p_now bigint, p_limit integer, p_types text[])
RETURNS TABLE (id text, priority double precision, run_at bigint, seq bigint)
LANGUAGE plpgsql SET enable_indexscan = on SET enable_seqscan = off SET enable_bitmapscan = off SET enable_sort = off
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
    SELECT j.id, j.priority, j.run_at, j.seq FROM ${S}.jobs j
    WHERE j.queue = p_queue AND j.state IN ('scheduled','retrying') AND j.run_at <= p_now
      AND (p_types IS NULL OR j.type = ANY (p_types))
    ORDER BY j.run_at, j.seq
    LIMIT p_limit;
END $$;`,
  },
  {
    version: 11,
    description: 'the list indexes keep their keys in ascending order: new jobs land at the right end of their range',
    sql: (S) => `
-- Newest first was the order of the keys themselves (created_at DESC, id DESC), so every new job, and every job
-- entering a finished state, went in at the left end of its (queue, state) or (queue, type) range. A B-tree splits
-- such a page in the middle, and the left half fills again at once: the indexes stayed about half full, and each
-- insert cost more (measured on 200,000 inserts: 21 MB and 4.1 us per row, against 11 MB and 2.8 us in ascending
-- order, where a page filled from the left splits to leave it full). The pages are read newest first by scanning the
-- ascending index backwards, with the same plans and cost. Rebuilding both indexes holds writes to jobs for its
-- duration (seconds per million jobs), like versions 2 and 6.
DROP INDEX ${S}.jobs_list;
CREATE INDEX jobs_list ON ${S}.jobs (queue, state, created_at, id) WHERE state <> 'active';
DROP INDEX ${S}.jobs_type_list;
CREATE INDEX jobs_type_list ON ${S}.jobs (queue, type, created_at, id) WHERE state <> 'active';`,
  },
];

/** The newest schema version this code knows. */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;

/**
 * Bring `schema` to {@link SCHEMA_VERSION}. Everything runs in one transaction after
 * `pg_advisory_xact_lock(hash of the schema)`: processes starting together queue on the lock, the first migrates,
 * the others find the work done. A database newer than this code is refused.
 */
export async function migrate(pool: pg.Pool, schema: string, logger: Logger): Promise<void> {
  const S = `"${schema}"`;
  // Fast path, one round trip and no lock: a schema already at this version (every start but the first).
  try {
    const { rows } = await pool.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${S}.migrations`);
    if (rows[0]?.v === SCHEMA_VERSION) return;
  } catch (error) {
    // 42P01 / 3F000: no migrations table or no schema yet. Anything else is a real problem.
    const code = (error as { code?: unknown }).code;
    if (code !== '42P01' && code !== '3F000') throw error;
  }
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query('BEGIN');
    await client.query(`SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, [`conveyor:migrate:${schema}`]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS ${S}`);
    await client.query(
      `CREATE TABLE IF NOT EXISTS ${S}.migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const { rows } = await client.query<{ v: number | null }>(`SELECT max(version) AS v FROM ${S}.migrations`);
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new ConveyorError(
        'CONFIG_INVALID',
        conveyorMessage(
          COMPONENT,
          `schema "${schema}" is at version ${current}, newer than this @conveyor/postgres knows (${SCHEMA_VERSION}). Upgrade @conveyor/postgres in this process.`,
        ),
      );
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql(S, schema));
      await client.query(`INSERT INTO ${S}.migrations (version, description) VALUES ($1, $2)`, [
        m.version,
        m.description,
      ]);
      logger.info(conveyorMessage(COMPONENT, `migrated schema "${schema}" to version ${m.version}.`));
    }
    await client.query('COMMIT');
  } catch (error) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    }
    throw error;
  } finally {
    client.release(broken);
  }
}
