import type { BackoffOptions, ClaimedJob, Job, JobError, JobState, NewJob, RetentionOption } from '@conveyor/core';
import { assertValidNewJob } from '@conveyor/core';
import { validationError } from './errors';

/**
 * The stored code of each state (`conveyor_jobs.state_code`, schema version 8): a small integer takes fewer bytes in
 * the row and in every index entry than the text. The order matters: claimable states are `<= 2`, pending `<= 3`.
 */
export const STATE_CODES = {
  waiting: 0,
  scheduled: 1,
  retrying: 2,
  active: 3,
  completed: 4,
  failed: 5,
  cancelled: 6,
} as const satisfies Record<JobState, number>;

/** The state of each code (the inverse of {@link STATE_CODES}). */
export const STATE_OF_CODE: readonly JobState[] = (Object.keys(STATE_CODES) as JobState[]).sort(
  (a, b) => STATE_CODES[a] - STATE_CODES[b],
);

/** A job row as the adapter reads it (see {@link fromRaw}: the state decoded, retention NULL meaning `false`). */
export interface JobRow {
  seq: number;
  id: string;
  queue: string;
  type: string;
  payload: string;
  state: JobState;
  priority: number;
  attempt: number;
  max_attempts: number;
  backoff: string | null;
  timeout_ms: number | null;
  unique_key: string | null;
  /** NULL: `false`. */
  remove_on_complete: string | null;
  /** NULL: `false`. */
  remove_on_fail: string | null;
  meta: string | null;
  created_at: number;
  run_at: number;
  started_at: number | null;
  finished_at: number | null;
  result: string | null;
  last_error: string | null;
  progress: string | null;
  worker_id: string | null;
  lease_expires_at: number | null;
  token: number;
  finish_seq: number | null;
}

const COLUMN_NAMES = [
  'seq',
  'id',
  'queue',
  'type',
  'payload',
  'state_code',
  'priority',
  'attempt',
  'max_attempts',
  'backoff',
  'timeout_ms',
  'unique_key',
  'remove_on_complete',
  'remove_on_fail',
  'meta',
  'created_at',
  'run_at',
  'started_at',
  'finished_at',
  'result',
  'last_error',
  'progress',
  'worker_id',
  'lease_expires_at',
  'token',
  'finish_seq',
] as const satisfies readonly (keyof JobRow | 'state_code')[];

/** The column list every job read selects, in the order {@link fromRaw} expects. */
export const JOB_COLUMNS = COLUMN_NAMES.join(', ');

/**
 * A row read in raw (array) mode as a {@link JobRow}. better-sqlite3 builds a 26-key result object through the V8
 * API at several times the cost of an array; building the object here in JS is nearly free (measured: a full row
 * read went from ~50 µs to ~18 µs on the 2-core bench machine).
 */
export function fromRaw(a: unknown[]): JobRow {
  return {
    seq: a[0] as number,
    id: a[1] as string,
    queue: a[2] as string,
    type: a[3] as string,
    payload: a[4] as string,
    state: STATE_OF_CODE[a[5] as number] as JobState,
    priority: a[6] as number,
    attempt: a[7] as number,
    max_attempts: a[8] as number,
    backoff: a[9] as string | null,
    timeout_ms: a[10] as number | null,
    unique_key: a[11] as string | null,
    remove_on_complete: a[12] as string | null,
    remove_on_fail: a[13] as string | null,
    meta: a[14] as string | null,
    created_at: a[15] as number,
    run_at: a[16] as number,
    started_at: a[17] as number | null,
    finished_at: a[18] as number | null,
    result: a[19] as string | null,
    last_error: a[20] as string | null,
    progress: a[21] as string | null,
    worker_id: a[22] as string | null,
    lease_expires_at: a[23] as number | null,
    token: a[24] as number,
    finish_seq: a[25] as number | null,
  };
}

/** Parse a stored retention option (NULL is `false`); the common values skip JSON.parse. */
export function parseRetention(text: string | null): RetentionOption {
  if (text === null || text === 'false') return false;
  if (text === 'true') return true;
  return JSON.parse(text) as RetentionOption;
}

/** JSON text of a value; `undefined` is stored as `null` (what a networked store would do too). */
export function toJson(value: unknown): string {
  return value === undefined ? 'null' : JSON.stringify(value);
}

function parseOrNull<T>(text: string | null): T | null {
  return text === null ? null : (JSON.parse(text) as T);
}

/** The public job of a row: JSON columns parsed, every object freshly allocated. */
export function rowToJob(r: JobRow): Job {
  return {
    id: r.id,
    queue: r.queue,
    type: r.type,
    payload: JSON.parse(r.payload) as unknown,
    state: r.state,
    priority: r.priority,
    attempt: r.attempt,
    maxAttempts: r.max_attempts,
    backoff: parseOrNull<BackoffOptions>(r.backoff),
    timeoutMs: r.timeout_ms,
    uniqueKey: r.unique_key,
    removeOnComplete: parseRetention(r.remove_on_complete),
    removeOnFail: parseRetention(r.remove_on_fail),
    meta: parseOrNull<Record<string, unknown>>(r.meta),
    createdAt: r.created_at,
    runAt: r.run_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    result: parseOrNull<unknown>(r.result),
    lastError: parseOrNull<JobError>(r.last_error),
    progress: parseOrNull<unknown>(r.progress),
    workerId: r.worker_id,
    leaseExpiresAt: r.lease_expires_at,
  };
}

/** An active row with its fencing token. */
export function rowToClaimed(r: JobRow): ClaimedJob {
  const job = rowToJob(r) as ClaimedJob;
  job.token = r.token;
  return job;
}

/**
 * Parameters of the full insert statement, in column order, appended to `into` (a new array when not given).
 * `customId` is the caller's id, or null for a generated one (derived from the row's `seq` after the insert).
 */
export function jobInsertParams(
  job: Job,
  payloadJson: string,
  customId: string | null,
  into: unknown[] = [],
): unknown[] {
  into.push(
    customId,
    job.queue,
    job.type,
    payloadJson,
    STATE_CODES[job.state],
    job.priority,
    job.attempt,
    job.maxAttempts,
    job.backoff === null ? null : JSON.stringify(job.backoff),
    job.timeoutMs,
    job.uniqueKey,
    retentionText(job.removeOnComplete),
    retentionText(job.removeOnFail),
    job.meta === null ? null : JSON.stringify(job.meta),
    job.createdAt,
    job.runAt,
  );
  return into;
}

/**
 * True when every column the lean insert leaves out has its default: no backoff, timeout, unique key or meta, and
 * both retention options `false`. Most jobs are like this; they bind 8 values instead of 16.
 */
export function isLean(job: Job): boolean {
  return (
    job.backoff === null &&
    job.timeoutMs === null &&
    job.uniqueKey === null &&
    job.meta === null &&
    job.removeOnComplete === false &&
    job.removeOnFail === false
  );
}

/** Parameters of the lean insert (see {@link isLean}), appended to `into`. */
export function leanInsertParams(job: Job, payloadJson: string, into: unknown[]): void {
  into.push(
    job.queue,
    job.type,
    payloadJson,
    STATE_CODES[job.state],
    job.priority,
    job.maxAttempts,
    job.createdAt,
    job.runAt,
  );
}

/** True when `b` can share one shared-columns insert with `a`: both lean, and equal in every column but the payload. */
export function sameShape(a: Job, b: Job): boolean {
  return (
    a.queue === b.queue &&
    a.type === b.type &&
    a.state === b.state &&
    a.priority === b.priority &&
    a.maxAttempts === b.maxAttempts &&
    a.createdAt === b.createdAt &&
    a.runAt === b.runAt
  );
}

/** The stored text of a retention option: NULL for `false` (the column's default). */
function retentionText(option: RetentionOption): string | null {
  if (option === false) return null;
  if (option === true) return 'true';
  return JSON.stringify(option);
}

const INSERT_COLUMNS = `INSERT INTO conveyor_jobs (custom_id, queue, type, payload, state_code, priority, attempt, max_attempts,
  backoff, timeout_ms, unique_key, remove_on_complete, remove_on_fail, meta, created_at, run_at)`;
const ROW_PLACEHOLDERS = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

export const INSERT_JOB_SQL = `${INSERT_COLUMNS}
  VALUES ${ROW_PLACEHOLDERS}`;

/**
 * Rows per multi-row INSERT of a bulk enqueue (at most 16 parameters a row: 1,024 per statement, far below SQLite's
 * limit of 32,766). Measured on the bench machine: one statement of 64 rows costs a fraction of 64 one-row
 * statements, and larger chunks gain nothing more.
 */
export const INSERT_CHUNK = 64;

/** The full INSERT of `n` rows (n <= INSERT_CHUNK; the store caches one prepared statement per size). */
export const insertJobsSql = bySize((n) =>
  n === 1
    ? INSERT_JOB_SQL
    : `${INSERT_COLUMNS}
  VALUES ${Array.from({ length: n }, () => ROW_PLACEHOLDERS).join(', ')}`,
);

/**
 * The shared-columns INSERT of `n` lean rows that differ only in their payload: parameters queue, type, state,
 * priority, max attempts, created at, run at, then one payload per row. Binding costs more than SQLite's insert work
 * for a narrow row (measured: 8 parameters a row cost ~1 µs more than 1), and a bulk enqueue is usually many jobs of
 * one type, so this is the common statement. Rows are inserted in the order of the VALUES list.
 */
export const sharedInsertSql = bySize(
  (n) => `INSERT INTO conveyor_jobs (queue, type, state_code, priority, max_attempts, created_at, run_at, payload)
  SELECT ?, ?, ?, ?, ?, ?, ?, column1 FROM (VALUES ${Array.from({ length: n }, () => '(?)').join(', ')})`,
);

/** The lean INSERT of `n` rows: the other columns take their defaults (see {@link isLean}). */
export const leanInsertSql = bySize(
  (n) => `INSERT INTO conveyor_jobs (queue, type, payload, state_code, priority, max_attempts, created_at, run_at)
  VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
);

/** `build` remembered per size: the SQL of a batch statement is built once per row count, not once per call. */
export function bySize(build: (n: number) => string): (n: number) => string {
  const cache: string[] = [];
  return (n) => {
    let sql = cache[n];
    if (sql === undefined) {
      sql = build(n);
      cache[n] = sql;
    }
    return sql;
  };
}

/**
 * Check what the store relies on; the runtime validates options in depth before they get here. Throws
 * `VALIDATION_FAILED` naming the field (and the position in a batch).
 */
export function validateNewJob(input: NewJob, index?: number): void {
  assertValidNewJob(validationError, input, index);
}
