import type { ConveyorEvent, EnqueueResult, Job, JobState, NewJob } from '@conveyor/core';
import { ConveyorError, conveyorMessage, PENDING_STATES, payloadJson } from '@conveyor/core';
import type { PgContext, Queryable } from './context';
import { COUNTED_MARK } from './context';
import { adapterEventId } from './inline';
import { COMPONENT, validationError } from './options';
import type { InsertRow, JobRow } from './rows';
import { JOB_COLUMNS, toInsertRow, toJob } from './rows';

/** Attempts at storing a batch whose conflicting rows vanished between the insert and the lookup. */
const MAX_ROUNDS = 5;

/**
 * Insert rows; a row whose id or (queue, unique key) is taken is skipped (`ON CONFLICT DO NOTHING` covers the
 * primary key and the partial unique index at once). Times come from store-now (`$1`). A batch that cannot clash
 * (`plain`: ids the adapter made, no unique keys) is a plain insert: `ON CONFLICT` makes every row a speculative
 * insertion (a pre-check of the unique indexes and one more WAL record per row).
 */
function insertSql(S: string, inline: boolean, plain: boolean): string {
  // The statement counts the jobs it stored itself (t carries COUNTED_MARK, see migration 9): one delta per queue and
  // state, instead of the insert trigger reading a transition table of every stored row.
  return `${insertBody(S, plain)}
  RETURNING id, state, created_at, run_at, seq, queue${inline ? ', type' : ''}
),
cnt AS (
  INSERT INTO ${S}.count_deltas (queue, state, delta) SELECT queue, state, count(*) FROM ins GROUP BY queue, state
)${
    inline
      ? `,
met AS (
  INSERT INTO ${S}.metric_log (kinds, queues, types, ats)
  SELECT array_agg('enqueued'::text), array_agg(i.queue), array_agg(i.type), array_agg(i.created_at::double precision)
  FROM ins i HAVING count(*) > 0
)`
      : ''
  }
SELECT id, state, created_at, run_at, seq FROM ins`;
}

function insertBody(S: string, plain: boolean): string {
  return `
WITH t AS MATERIALIZED (SELECT ${S}.now_ms($1::bigint) AS now, ${COUNTED_MARK}),
input AS (
  SELECT i.id, coalesce(i.queue, $17) AS queue, coalesce(i.type, $18) AS type,
    coalesce(i.priority, $19)::double precision AS priority, coalesce(i.max_attempts, $20)::integer AS max_attempts,
    coalesce(i.retention, $21)::smallint AS retention, coalesce(i.unique_key, $24) AS unique_key,
    coalesce(i.timeout_ms, $25)::double precision AS timeout_ms, coalesce(i.payload, $26::jsonb) AS payload,
    coalesce(i.backoff, $27::jsonb) AS backoff, coalesce(i.remove_on_complete, $28::jsonb) AS remove_on_complete,
    coalesce(i.remove_on_fail, $29::jsonb) AS remove_on_fail, coalesce(i.meta, $30::jsonb) AS meta, i.ord,
    coalesce(coalesce(i.run_at, $22)::bigint, t.now + coalesce(i.delay, $23)::bigint) AS due, t.now
  FROM ROWS FROM (json_array_elements_text($2::json), json_array_elements_text($3::json),
    json_array_elements_text($4::json), json_array_elements_text($5::json), json_array_elements_text($6::json),
    json_array_elements_text($7::json), json_array_elements_text($8::json), json_array_elements_text($9::json),
    json_array_elements_text($10::json), json_array_elements_text($11::json), jsonb_array_elements($12::jsonb),
    jsonb_array_elements($13::jsonb), jsonb_array_elements($14::jsonb), jsonb_array_elements($15::jsonb),
    jsonb_array_elements($16::jsonb)) WITH ORDINALITY AS i(
    id, queue, type, priority, max_attempts, retention, run_at, delay, unique_key, timeout_ms, payload, backoff,
    remove_on_complete, remove_on_fail, meta, ord
  ) CROSS JOIN t
),
ins AS (
INSERT INTO ${S}.jobs (id, queue, type, state, priority, max_attempts, retention, created_at, run_at, unique_key,
  timeout_ms, payload, backoff, remove_on_complete, remove_on_fail, meta)
SELECT id, queue, type, CASE WHEN due > now THEN 'scheduled' ELSE 'waiting' END, priority, max_attempts, retention,
  now, due, unique_key, timeout_ms, nullif(payload::jsonb, 'null'::jsonb), nullif(backoff::jsonb, 'null'::jsonb),
  remove_on_complete::jsonb, remove_on_fail::jsonb, nullif(meta::jsonb, 'null'::jsonb)
FROM input ORDER BY ord${plain ? '' : '\nON CONFLICT DO NOTHING'}`;
}

function lookupSql(S: string): string {
  const pending = PENDING_STATES.map((s) => `'${s}'`).join(',');
  return `
SELECT ${JOB_COLUMNS} FROM ${S}.jobs WHERE id = ANY($1::text[])
UNION ALL
SELECT ${JOB_COLUMNS} FROM ${S}.jobs
WHERE (queue, unique_key) IN (SELECT q, k FROM unnest($2::text[], $3::text[]) AS u(q, k)) AND state IN (${pending})`;
}

interface InsertedRow {
  id: string;
  state: JobState;
  created_at: number;
  run_at: number;
  seq: number;
}

/** Inline history of an enqueue (`capabilities.inlineRecords`): see `EnqueueSideEffects`. */
export interface InlineEnqueue {
  /** Receives a `job.enqueued` event per stored job, for the caller to publish once the insert committed. */
  events: ConveyorEvent[] | undefined;
}

/** Whether a batch can clash with stored jobs at all: only caller-chosen ids and unique keys can. */
export function canClash(inputs: NewJob[]): boolean {
  return inputs.some((j) => j.id !== undefined || (j.uniqueKey !== undefined && j.uniqueKey !== null));
}

function uniqueSlot(queue: string, key: string): string {
  return `${queue}\u0000${key}`;
}

/**
 * Store validated jobs in input order and return one result per input: the stored job, or the job it duplicates
 * (same id, or the same live unique key in its queue — checked against the batch itself too). Runs on `client`
 * when given (the caller's transaction), else on the pool; a caller wanting atomicity across several statements
 * passes a client inside a transaction.
 */
export async function insertJobs(
  ctx: PgContext,
  inputs: NewJob[],
  client?: Queryable,
  inline?: InlineEnqueue,
): Promise<EnqueueResult[]> {
  const rows: InsertRow[] = inputs.map((input, ord) => {
    const row = toInsertRow(input, ord);
    // Times go to bigint columns: round up (a job runs no earlier than asked).
    if (row.run_at !== null) row.run_at = Math.ceil(row.run_at);
    row.delay = Math.ceil(row.delay);
    return row;
  });
  // Every row of one statement has the same created_at, and a waiting job's runAt is that too: each distinct time
  // is formatted once per call.
  const isoTexts = new Map<number, string>();
  const isoText = (ms: number): string => {
    let text = isoTexts.get(ms);
    if (text === undefined) {
      text = new Date(ms).toISOString();
      isoTexts.set(ms, text);
    }
    return text;
  };
  const results = new Array<EnqueueResult | undefined>(rows.length);
  const plain = !canClash(inputs);
  const insertText = insertSql(ctx.s, inline !== undefined, plain);
  let todo = rows;
  for (let round = 0; round < MAX_ROUNDS && todo.length > 0; round++) {
    const params = columns(todo, ctx.nowParam(), inputs);
    const inserted = await ctx.query<InsertedRow>(
      insertText,
      params,
      'enqueueing jobs',
      client,
      `${inline === undefined ? 'enqueue' : 'enqueue_inline'}${plain ? '_plain' : ''}`,
    );
    // The payload does not travel back from the server: the stored job is the one built before the insert.
    const todoById = new Map<string, InsertRow>();
    for (const row of todo) if (!todoById.has(row.id)) todoById.set(row.id, row);
    const byId = new Map<string, Job>();
    const byKey = new Map<string, Job>();
    for (const r of inserted) {
      // The job built from its input before the insert (buildJob, like every adapter), with the store's times.
      const job = (todoById.get(r.id) as InsertRow).job;
      job.createdAt = r.created_at;
      job.state = r.state;
      job.runAt = r.run_at;
      byId.set(r.id, job);
      if (inline?.events !== undefined) {
        inline.events.push({
          id: adapterEventId(r.created_at, 'e', r.seq),
          type: 'job.enqueued',
          timestamp: isoText(r.created_at),
          queue: job.queue,
          jobId: job.id,
          data: { type: job.type, state: job.state, priority: job.priority, runAt: isoText(job.runAt) },
        });
      }
      if (job.uniqueKey !== null) byKey.set(uniqueSlot(job.queue, job.uniqueKey), job);
    }
    // Inserted rows go to the first input that asked for them; later inputs with the same id are duplicates.
    const claimed = new Set<string>();
    const unresolved: InsertRow[] = [];
    for (const row of todo) {
      const own = byId.get(row.id);
      if (own !== undefined && !claimed.has(row.id)) {
        claimed.add(row.id);
        results[row.ord] = { job: own, deduplicated: false };
      } else {
        unresolved.push(row);
      }
    }
    todo = unresolved;
    if (unresolved.length === 0) break;
    const ids: string[] = [];
    const keyQueues: string[] = [];
    const keys: string[] = [];
    for (const row of unresolved) {
      if (!byId.has(row.id)) ids.push(row.id);
      if (row.unique_key !== null) {
        keyQueues.push(row.queue);
        keys.push(row.unique_key);
      }
    }
    const existing = await ctx.query<JobRow>(lookupSql(ctx.s), [ids, keyQueues, keys], 'enqueueing jobs', client);
    const foundById = new Map<string, Job>(byId);
    const foundByKey = new Map<string, Job>(byKey);
    for (const r of existing) {
      const job = toJob(r);
      if (!foundById.has(r.id)) foundById.set(r.id, job);
      if (r.unique_key !== null && !foundByKey.has(uniqueSlot(r.queue, r.unique_key))) {
        foundByKey.set(uniqueSlot(r.queue, r.unique_key), job);
      }
    }
    const retry: InsertRow[] = [];
    for (const row of unresolved) {
      const match =
        foundById.get(row.id) ??
        (row.unique_key === null ? undefined : foundByKey.get(uniqueSlot(row.queue, row.unique_key)));
      if (match !== undefined) results[row.ord] = { job: structuredClone(match), deduplicated: true };
      // The job it clashed with finished or was removed in between: store it on the next round.
      else retry.push(row);
    }
    todo = retry;
  }
  if (todo.length > 0) {
    throw new ConveyorError(
      'INTERNAL',
      conveyorMessage(
        COMPONENT,
        `could not store ${todo.length} job(s) after ${MAX_ROUNDS} rounds: the jobs they clashed with kept changing. Retry the enqueue.`,
      ),
    );
  }
  return results as EnqueueResult[];
}

/** JSON text of a jsonb value; the same value (e.g. a default retention option) is serialised once per batch. */
class JsonCache {
  private readonly texts = new Map<unknown, string | null>();

  text(value: unknown): string | null {
    if (value === null || value === undefined) return null;
    const cached = this.texts.get(value);
    if (cached !== undefined) return cached;
    const text = serialise(value);
    this.texts.set(value, text);
    return text;
  }
}

/**
 * The statement's parameters, in {@link insertSql} order: one JSON array per column, read back with
 * `json_array_elements_text` (`jsonb_array_elements` for the jsonb columns: each payload is parsed once, straight
 * into its stored form), then one scalar per column (`$17`–`$30`) used when its array is empty. JSON (native
 * `JSON.stringify`) is much cheaper to build than Postgres array literals, whose every string element the driver
 * escapes one by one.
 */
function columns(rows: readonly InsertRow[], now: number | null, inputs: NewJob[]): unknown[] {
  const n = rows.length;
  const id = new Array<string>(n);
  const queue = new Array<string>(n);
  const type = new Array<string>(n);
  const priority = new Array<number>(n);
  const maxAttempts = new Array<number>(n);
  const retention = new Array<number>(n);
  const runAt = new Array<number | null>(n);
  const delay = new Array<number>(n);
  const uniqueKey = new Array<string | null>(n);
  const timeoutMs = new Array<number | null>(n);
  // jsonb columns: JSON texts joined into one array; an absent value is JSON null, stored as SQL NULL.
  const payload = new Array<string>(n);
  const backoff = new Array<string>(n);
  const removeOnComplete = new Array<string>(n);
  const removeOnFail = new Array<string>(n);
  const meta = new Array<string>(n);
  const json = new JsonCache();
  for (let i = 0; i < n; i++) {
    const r = rows[i] as InsertRow;
    id[i] = r.id;
    queue[i] = r.queue;
    type[i] = r.type;
    priority[i] = r.priority;
    maxAttempts[i] = r.max_attempts;
    retention[i] = r.retention;
    runAt[i] = r.run_at;
    delay[i] = r.delay;
    uniqueKey[i] = r.unique_key;
    timeoutMs[i] = r.timeout_ms;
    payload[i] = payloadText(inputs[r.ord] as NewJob);
    backoff[i] = json.text(r.backoff) ?? 'null';
    removeOnComplete[i] = json.text(r.remove_on_complete) ?? 'null';
    removeOnFail[i] = json.text(r.remove_on_fail) ?? 'null';
    meta[i] = r.meta === null ? 'null' : (serialise(r.meta) ?? 'null');
  }
  // A column whose value is the same in every row (the common case: one queue, one type, default options) travels
  // once, as a scalar the SQL falls back to, and its array is empty: less to build, send and parse.
  const arrays: string[] = [];
  const scalars: (string | null)[] = [];
  const plain = (values: readonly (string | number | null)[]) => {
    const first = values[0] ?? null;
    if (values.every((v) => v === first)) {
      arrays.push('[]');
      scalars.push(first === null ? null : String(first));
    } else {
      arrays.push(JSON.stringify(values));
      scalars.push(null);
    }
  };
  const jsonColumn = (texts: readonly string[]) => {
    const first = texts[0] as string;
    if (texts.every((t) => t === first)) {
      arrays.push('[]');
      scalars.push(first);
    } else {
      arrays.push(`[${texts.join(',')}]`);
      scalars.push(null);
    }
  };
  plain(queue);
  plain(type);
  plain(priority);
  plain(maxAttempts);
  plain(retention);
  plain(runAt);
  plain(delay);
  plain(uniqueKey);
  plain(timeoutMs);
  jsonColumn(payload);
  jsonColumn(backoff);
  jsonColumn(removeOnComplete);
  jsonColumn(removeOnFail);
  jsonColumn(meta);
  return [now, JSON.stringify(id), ...arrays, ...scalars];
}

/** The payload's JSON: the runtime's own text when it made one (see `payloadJson`), else serialised here. */
function payloadText(job: NewJob): string {
  let text: string | undefined;
  try {
    text = payloadJson(job) as string | undefined;
  } catch {
    return serialise(job.payload) ?? 'null';
  }
  return text ?? 'null';
}

function serialise(value: unknown): string | null {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw validationError(
      `a job's payload or meta is not JSON-serialisable (${error instanceof Error ? error.message : String(error)}). Pass plain data.`,
    );
  }
  // A value JSON has no text for (a function, a symbol): SQL NULL.
  return text ?? null;
}
