import type { EnqueueResult, Job, JobState, NewJob } from '@conveyor/core';
import { buildJob, ConveyorError, conveyorMessage, PENDING_STATES } from '@conveyor/core';
import type { PgContext, Queryable } from './context';
import { COMPONENT, validationError } from './options';
import type { InsertRow, JobRow } from './rows';
import { JOB_COLUMNS, toInsertRow, toJob } from './rows';

/** Attempts at storing a batch whose conflicting rows vanished between the insert and the lookup. */
const MAX_ROUNDS = 5;

/**
 * Insert rows; a row whose id or (queue, unique key) is taken is skipped (`ON CONFLICT DO NOTHING` covers the
 * primary key and the partial unique index at once). Times come from store-now (`$1`).
 */
function insertSql(S: string): string {
  return `
WITH t AS (SELECT ${S}.now_ms($1::bigint) AS now),
input AS (
  SELECT i.*, coalesce(i.run_at, t.now + i.delay) AS due, t.now
  FROM json_to_recordset($2::json) AS i(
    ord integer, id text, queue text, type text, priority double precision, max_attempts integer,
    retention smallint, run_at bigint, delay bigint, unique_key text, timeout_ms double precision, payload jsonb,
    backoff jsonb, remove_on_complete jsonb, remove_on_fail jsonb, meta jsonb
  ) CROSS JOIN t
)
INSERT INTO ${S}.jobs (id, queue, type, state, priority, max_attempts, retention, created_at, run_at, unique_key,
  timeout_ms, payload, backoff, remove_on_complete, remove_on_fail, meta)
SELECT id, queue, type, CASE WHEN due > now THEN 'scheduled' ELSE 'waiting' END, priority, max_attempts, retention,
  now, due, unique_key, timeout_ms, payload, backoff, remove_on_complete, remove_on_fail, meta
FROM input ORDER BY ord
ON CONFLICT DO NOTHING
RETURNING id, state, created_at, run_at`;
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
export async function insertJobs(ctx: PgContext, inputs: NewJob[], client?: Queryable): Promise<EnqueueResult[]> {
  const rows: (InsertRow & { ord: number })[] = inputs.map((input, ord) => {
    const row = toInsertRow(input);
    // Times go to bigint columns: round up (a job runs no earlier than asked).
    if (row.run_at !== null) row.run_at = Math.ceil(row.run_at);
    row.delay = Math.ceil(row.delay);
    return { ...row, ord };
  });
  const results = new Array<EnqueueResult | undefined>(rows.length);
  const insertText = insertSql(ctx.s);
  let todo = rows;
  for (let round = 0; round < MAX_ROUNDS && todo.length > 0; round++) {
    const inserted = await ctx.query<InsertedRow>(
      insertText,
      [ctx.nowParam(), serialise(todo)],
      'enqueueing jobs',
      client,
    );
    // The stored job is rebuilt from its input and the store's times (buildJob, like every adapter), so the
    // payload does not travel back from the server.
    const todoById = new Map<string, InsertRow & { ord: number }>();
    for (const row of todo) if (!todoById.has(row.id)) todoById.set(row.id, row);
    const byId = new Map<string, Job>();
    const byKey = new Map<string, Job>();
    for (const r of inserted) {
      const source = todoById.get(r.id) as InsertRow & { ord: number };
      const job = buildJob(inputs[source.ord] as NewJob, r.created_at, r.id);
      job.state = r.state;
      job.runAt = r.run_at;
      byId.set(r.id, job);
      if (job.uniqueKey !== null) byKey.set(uniqueSlot(job.queue, job.uniqueKey), job);
    }
    // Inserted rows go to the first input that asked for them; later inputs with the same id are duplicates.
    const claimed = new Set<string>();
    const unresolved: (InsertRow & { ord: number })[] = [];
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
    const retry: (InsertRow & { ord: number })[] = [];
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

function serialise(rows: InsertRow[]): string {
  try {
    return JSON.stringify(rows);
  } catch (error) {
    throw validationError(
      `a job's payload or meta is not JSON-serialisable (${error instanceof Error ? error.message : String(error)}). Pass plain data.`,
    );
  }
}
