import type {
  AdapterCapabilities,
  ExecutionQuery,
  ExecutionRecord,
  ExecutionStatus,
  ExecutionSummary,
  JobError,
  Page,
  RecentExecutionsQuery,
  StorageAdapter,
  WorkerInfo,
  WorkerRecord,
  WorkerStats,
} from '@conveyor/core';
import {
  conveyorMessage,
  decodeCursor,
  EXECUTION_STATUSES,
  encodeCursor,
  executionRecordProblem,
} from '@conveyor/core';
import { PgContext } from './context';
import type { PostgresOptions } from './options';
import { COMPONENT, checkLimit, closedError, POSTGRES_CAPABILITIES, validationError } from './options';
import { jsonParam } from './rows';

/** Rows one cleanup statement deletes at most. */
const CLEANUP_BATCH = 5000;
const STATUS_SET: ReadonlySet<string> = new Set(EXECUTION_STATUSES);
const EXECUTION_COLUMNS =
  'id, job_id, queue, type, attempt, status, started_at, finished_at, duration_ms, worker_id, result, error';

interface ExecutionRow {
  id: string;
  job_id: string;
  queue: string;
  type: string;
  attempt: number;
  status: ExecutionStatus;
  started_at: number;
  finished_at: number;
  duration_ms: number;
  worker_id: string | null;
  result: unknown;
  error: JobError | null;
}

interface WorkerRow {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  started_at: number;
  last_seen_at: number;
  active_jobs: number;
  executions: number;
  succeeded: number;
  failed: number;
  total_duration_ms: number;
}

function toRecord(r: ExecutionRow): ExecutionRecord {
  return {
    id: r.id,
    jobId: r.job_id,
    queue: r.queue,
    type: r.type,
    attempt: r.attempt,
    status: r.status,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: r.duration_ms,
    workerId: r.worker_id,
    result: r.result,
    error: r.error,
  };
}

function toWorker(r: WorkerRow): WorkerRecord {
  return {
    id: r.id,
    host: r.host,
    pid: r.pid,
    queues: r.queues,
    concurrency: r.concurrency,
    startedAt: r.started_at,
    lastSeenAt: r.last_seen_at,
    activeJobs: r.active_jobs,
    executions: r.executions,
    succeeded: r.succeeded,
    failed: r.failed,
    totalDurationMs: r.total_duration_ms,
  };
}

function validateRecord(r: ExecutionRecord, i: number): void {
  const problem = executionRecordProblem(r);
  if (problem !== null) throw validationError(`execution record #${i}: ${problem}`);
}

/**
 * {@link StorageAdapter} on Postgres: one row per attempt in `executions`, indexed by (job_id, started_at, id) for a
 * job's history and keyed by (started_at, id) for the recent list and cleanup (a record id written again with the
 * same start time is kept once); the worker registry in `workers`.
 */
export class PostgresStorageAdapter implements StorageAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = POSTGRES_CAPABILITIES;
  private readonly ctx: PgContext;
  private closed = false;

  /** Pass options, or the context shared by a backend's adapters. */
  constructor(options: PostgresOptions | PgContext) {
    this.ctx = options instanceof PgContext ? options : new PgContext(options);
    this.ctx.acquire();
  }

  async init(): Promise<void> {
    this.open();
    await this.ctx.migrate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ctx.release();
  }

  async recordExecutions(records: ExecutionRecord[]): Promise<void> {
    this.open();
    if (!Array.isArray(records)) throw validationError('recordExecutions takes an array of records.');
    for (let i = 0; i < records.length; i++) validateRecord(records[i] as ExecutionRecord, i);
    if (records.length === 0) return;
    // One statement per batch: typed arrays through unnest (no JSON document to build and take apart again).
    const n = records.length;
    const ids = new Array<string>(n);
    const jobIds = new Array<string>(n);
    const queues = new Array<string>(n);
    const types = new Array<string>(n);
    const attempts = new Array<number>(n);
    const statuses = new Array<string>(n);
    const started = new Array<number>(n);
    const finished = new Array<number>(n);
    const durations = new Array<number>(n);
    const workers = new Array<string | null>(n);
    const results = new Array<string | null>(n);
    const errors = new Array<string | null>(n);
    for (let i = 0; i < n; i++) {
      const r = records[i] as ExecutionRecord;
      ids[i] = r.id;
      jobIds[i] = r.jobId;
      queues[i] = r.queue;
      types[i] = r.type;
      attempts[i] = r.attempt;
      statuses[i] = r.status;
      started[i] = r.startedAt;
      finished[i] = r.finishedAt;
      durations[i] = r.durationMs;
      workers[i] = r.workerId ?? null;
      results[i] = r.result === undefined || r.result === null ? null : jsonParam(r.result, 'an execution result');
      errors[i] = r.error === undefined || r.error === null ? null : jsonParam(r.error, 'an execution error');
    }
    await this.ctx.query(
      `INSERT INTO ${this.ctx.s}.executions (${EXECUTION_COLUMNS})
SELECT r.* FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::integer[], $6::text[],
  $7::double precision[], $8::double precision[], $9::double precision[], $10::text[], $11::jsonb[], $12::jsonb[])
  AS r(${EXECUTION_COLUMNS}) CROSS JOIN ${this.ctx.relaxedCommit}
ON CONFLICT (started_at, id) DO NOTHING`,
      [ids, jobIds, queues, types, attempts, statuses, started, finished, durations, workers, results, errors],
      'recording executions',
      undefined,
      `record_executions${this.ctx.recordsTag}`,
    );
  }

  async listExecutions(jobId: string, query: ExecutionQuery): Promise<Page<ExecutionRecord>> {
    this.open();
    checkLimit(query.limit);
    if (query.status !== undefined && !STATUS_SET.has(query.status)) {
      throw validationError(`status must be one of ${EXECUTION_STATUSES.join(', ')}.`);
    }
    const values: unknown[] = [jobId, query.limit + 1];
    let filter = '';
    if (query.status !== undefined) {
      values.push(query.status);
      filter += ` AND status = $${values.length}`;
    }
    if (query.from !== undefined) {
      values.push(query.from);
      filter += ` AND started_at >= $${values.length}`;
    }
    if (query.to !== undefined) {
      values.push(query.to);
      filter += ` AND started_at < $${values.length}`;
    }
    if (query.cursor !== undefined && query.cursor !== null) {
      const [startedAt, id] = decodeCursor(query.cursor, ['number', 'string'] as const);
      values.push(startedAt, id);
      filter += ` AND (started_at, id) < ($${values.length - 1}::double precision, $${values.length}::text)`;
    }
    const rows = await this.ctx.query<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM ${this.ctx.s}.executions WHERE job_id = $1${filter}
ORDER BY started_at DESC, id DESC LIMIT $2`,
      values,
      'listing executions',
    );
    const more = rows.length > query.limit;
    const items = (more ? rows.slice(0, query.limit) : rows).map(toRecord);
    const last = items[items.length - 1];
    return { items, nextCursor: more && last !== undefined ? encodeCursor([last.startedAt, last.id]) : null };
  }

  async summarizeExecutions(jobId: string): Promise<ExecutionSummary> {
    this.open();
    const rows = await this.ctx.query<{
      total: number;
      success: number;
      failed: number;
      timeout: number;
      stalled: number;
      cancelled: number;
      retries: number;
      avg: number | null;
      min: number | null;
      max: number | null;
      first: number | null;
      last: number | null;
    }>(
      `SELECT count(*)::bigint AS total,
  count(*) FILTER (WHERE status = 'success')::bigint AS success,
  count(*) FILTER (WHERE status = 'failed')::bigint AS failed,
  count(*) FILTER (WHERE status = 'timeout')::bigint AS timeout,
  count(*) FILTER (WHERE status = 'stalled')::bigint AS stalled,
  count(*) FILTER (WHERE status = 'cancelled')::bigint AS cancelled,
  count(*) FILTER (WHERE attempt > 1)::bigint AS retries,
  avg(duration_ms)::double precision AS avg, min(duration_ms) AS min, max(duration_ms) AS max,
  min(started_at) AS first, max(finished_at) AS last
FROM ${this.ctx.s}.executions WHERE job_id = $1`,
      [jobId],
      'summarising executions',
    );
    const r = rows[0];
    const total = r?.total ?? 0;
    return {
      totalExecutions: total,
      successCount: r?.success ?? 0,
      failedCount: r?.failed ?? 0,
      timeoutCount: r?.timeout ?? 0,
      stalledCount: r?.stalled ?? 0,
      cancelledCount: r?.cancelled ?? 0,
      retryCount: r?.retries ?? 0,
      successRate: total === 0 ? 0 : (r?.success ?? 0) / total,
      avgDurationMs: total === 0 ? null : (r?.avg ?? null),
      minDurationMs: r?.min ?? null,
      maxDurationMs: r?.max ?? null,
      firstExecution: r?.first ?? null,
      lastExecution: r?.last ?? null,
    };
  }

  async recentExecutions(query: RecentExecutionsQuery): Promise<ExecutionRecord[]> {
    this.open();
    checkLimit(query.limit);
    const values: unknown[] = [query.limit];
    let filter = '';
    for (const [column, value] of [
      ['queue', query.queue],
      ['type', query.type],
      ['status', query.status],
    ] as const) {
      if (value === undefined) continue;
      values.push(value);
      filter += `${filter === '' ? ' WHERE' : ' AND'} ${column} = $${values.length}`;
    }
    const rows = await this.ctx.query<ExecutionRow>(
      `SELECT ${EXECUTION_COLUMNS} FROM ${this.ctx.s}.executions${filter} ORDER BY started_at DESC, id DESC LIMIT $1`,
      values,
      'listing recent executions',
    );
    return rows.map(toRecord);
  }

  async cleanupExecutions(before: number): Promise<number> {
    this.open();
    if (!Number.isFinite(before)) throw validationError('cleanupExecutions needs `before`, a time in ms.');
    let total = 0;
    // finished >= started, so the primary key (started_at, id) bounds the scan; batches keep every lock short.
    for (;;) {
      const rows = await this.ctx.query<{ n: number }>(
        `WITH d AS (
  DELETE FROM ${this.ctx.s}.executions WHERE (started_at, id) IN (
    SELECT started_at, id FROM ${this.ctx.s}.executions WHERE started_at < $1 AND finished_at < $1 LIMIT $2)
  RETURNING 1
) SELECT count(*)::bigint AS n FROM d`,
        [before, CLEANUP_BATCH],
        'cleaning up executions',
      );
      const n = rows[0]?.n ?? 0;
      total += n;
      if (n < CLEANUP_BATCH) break;
    }
    if (total > 0) this.ctx.logger.debug(conveyorMessage(COMPONENT, `deleted ${total} execution record(s).`));
    return total;
  }

  async registerWorker(info: WorkerInfo): Promise<void> {
    this.open();
    if (typeof info.id !== 'string' || info.id.length === 0) throw validationError('a worker needs a non-empty id.');
    const S = this.ctx.s;
    await this.ctx.query(
      `INSERT INTO ${S}.workers (id, host, pid, queues, concurrency, started_at, last_seen_at)
VALUES ($2, $3, $4, $5::text[], $6, $7, ${S}.now_ms($1::bigint))
ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
  concurrency = excluded.concurrency, started_at = excluded.started_at, last_seen_at = excluded.last_seen_at,
  active_jobs = 0, executions = 0, succeeded = 0, failed = 0, total_duration_ms = 0`,
      [this.ctx.nowParam(), info.id, info.host, info.pid, info.queues, info.concurrency, info.startedAt],
      'registering a worker',
    );
  }

  async heartbeatWorker(id: string, stats: WorkerStats): Promise<void> {
    this.open();
    const S = this.ctx.s;
    await this.ctx.query(
      `UPDATE ${S}.workers SET active_jobs = $3, executions = $4, succeeded = $5, failed = $6,
  total_duration_ms = $7, last_seen_at = ${S}.now_ms($1::bigint)
WHERE id = $2`,
      [
        this.ctx.nowParam(),
        id,
        stats.activeJobs,
        stats.executions,
        stats.succeeded,
        stats.failed,
        stats.totalDurationMs,
      ],
      'recording a worker heartbeat',
    );
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    this.open();
    const rows = await this.ctx.query<WorkerRow>(
      `SELECT * FROM ${this.ctx.s}.workers ORDER BY started_at, id`,
      [],
      'listing workers',
    );
    return rows.map(toWorker);
  }

  async deregisterWorker(id: string): Promise<void> {
    this.open();
    await this.ctx.query(`DELETE FROM ${this.ctx.s}.workers WHERE id = $1`, [id], 'deregistering a worker');
  }

  async pruneWorkers(before: number): Promise<number> {
    this.open();
    const rows = await this.ctx.query(
      `DELETE FROM ${this.ctx.s}.workers WHERE last_seen_at < $1::double precision RETURNING 1`,
      [before],
      'pruning workers',
    );
    return rows.length;
  }

  private open(): void {
    if (this.closed) throw closedError('Postgres storage adapter');
  }
}
