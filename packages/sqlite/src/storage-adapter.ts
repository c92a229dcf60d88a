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
import { decodeCursor, encodeCursor, executionRecordProblem } from '@conveyor/core';
import { SQLITE_CAPABILITIES } from './capabilities';
import { checkLimit, validationError } from './errors';
import { bySize, toJson } from './job-row';
import type { SqliteBackendOptions, SqliteStore } from './store';
import { SqlitePart } from './store';

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
  result: string | null;
  error: string | null;
}

function rowToExecution(r: ExecutionRow): ExecutionRecord {
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
    result: r.result === null ? null : (JSON.parse(r.result) as unknown),
    error: r.error === null ? null : (JSON.parse(r.error) as JobError),
  };
}

interface WorkerRow {
  id: string;
  info: string;
  stats: string;
  last_seen_at: number;
}

/**
 * Throws `VALIDATION_FAILED` unless `r` is a record the store can keep (core's `executionRecordProblem`, the check
 * every adapter applies). `where` names it in the message: its position in a batch, or the ack that carried it.
 */
export function checkRecord(r: ExecutionRecord, where: string): void {
  const problem = executionRecordProblem(r);
  if (problem !== null) throw validationError(`${where}: ${problem}`);
}

/** Execution records per multi-row INSERT (12 parameters a row). */
const RECORD_CHUNK = 50;

/** The INSERT of `n` execution records (one cached statement per size up to RECORD_CHUNK). */
const insertRecordsSql = bySize(
  (n) => `INSERT OR IGNORE INTO conveyor_executions (id, job_id, queue, type, attempt, status, started_at, finished_at,
    duration_ms, worker_id, result, error) VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`,
);

/**
 * Insert execution records inside the caller's write transaction. Writing a record id twice keeps the first: the
 * runtime may retry a flush (or an ack) that did reach the store. Used by `recordExecutions` and by the queue
 * adapter's inline records.
 */
export function writeRecords(store: SqliteStore, records: readonly ExecutionRecord[]): void {
  // Up to RECORD_CHUNK rows per statement: a batch of acks writes one statement per chunk, not one per record.
  // OR IGNORE applies to each row on its own, in VALUES order, as it would across separate statements.
  for (let start = 0; start < records.length; start += RECORD_CHUNK) {
    const end = Math.min(records.length, start + RECORD_CHUNK);
    const params: unknown[] = [];
    for (let i = start; i < end; i++) {
      const r = records[i] as ExecutionRecord;
      params.push(
        r.id,
        r.jobId,
        r.queue,
        r.type,
        r.attempt,
        r.status,
        r.startedAt,
        r.finishedAt,
        r.durationMs,
        r.workerId,
        r.result === undefined || r.result === null ? null : toJson(r.result),
        r.error === null || r.error === undefined ? null : JSON.stringify(r.error),
      );
    }
    store.stmt(insertRecordsSql(end - start)).run(params);
  }
}

const ZERO_STATS: WorkerStats = { activeJobs: 0, executions: 0, succeeded: 0, failed: 0, totalDurationMs: 0 };

/**
 * Execution history (one row per attempt) and the worker registry, in the same file as the jobs. Pages are newest
 * first by (startedAt, id), read backwards from an index, so a page costs its size, not the history's.
 */
export class SqliteStorageAdapter extends SqlitePart implements StorageAdapter {
  readonly capabilities: AdapterCapabilities = SQLITE_CAPABILITIES;

  constructor(source?: SqliteStore | SqliteBackendOptions) {
    super(source, 'storage adapter');
  }

  async recordExecutions(records: ExecutionRecord[]): Promise<void> {
    this.guard();
    if (!Array.isArray(records)) throw validationError('recordExecutions takes an array of execution records.');
    if (records.length === 0) return;
    for (let i = 0; i < records.length; i++) checkRecord(records[i] as ExecutionRecord, `execution record #${i}`);
    this.store.write(() => writeRecords(this.store, records));
  }

  async listExecutions(jobId: string, query: ExecutionQuery): Promise<Page<ExecutionRecord>> {
    this.guard();
    checkLimit(query.limit);
    const where = ['job_id = ?'];
    const params: unknown[] = [jobId];
    if (query.status !== undefined) {
      where.push('status = ?');
      params.push(query.status);
    }
    if (query.from !== undefined) {
      where.push('started_at >= ?');
      params.push(query.from);
    }
    if (query.to !== undefined) {
      where.push('started_at < ?');
      params.push(query.to);
    }
    if (query.cursor !== undefined && query.cursor !== null) {
      const [startedAt, id] = decodeCursor(query.cursor, ['number', 'string'] as const);
      where.push('(started_at, id) < (?, ?)');
      params.push(startedAt, id);
    }
    params.push(query.limit + 1);
    this.store.ensureReady();
    const rows = this.store
      .stmt(
        `SELECT * FROM conveyor_executions INDEXED BY conveyor_executions_job WHERE ${where.join(' AND ')}
          ORDER BY started_at DESC, id DESC LIMIT ?`,
      )
      .all(...params) as ExecutionRow[];
    const more = rows.length > query.limit;
    if (more) rows.length = query.limit;
    const last = rows[rows.length - 1];
    return {
      items: rows.map(rowToExecution),
      nextCursor: more && last !== undefined ? encodeCursor([last.started_at, last.id]) : null,
    };
  }

  async summarizeExecutions(jobId: string): Promise<ExecutionSummary> {
    this.guard();
    this.store.ensureReady();
    const r = this.store
      .stmt(
        `SELECT count(*) AS total,
          coalesce(sum(status = 'success'), 0) AS success,
          coalesce(sum(status = 'failed'), 0) AS failed,
          coalesce(sum(status = 'timeout'), 0) AS timeout,
          coalesce(sum(status = 'stalled'), 0) AS stalled,
          coalesce(sum(status = 'cancelled'), 0) AS cancelled,
          coalesce(sum(attempt > 1), 0) AS retries,
          avg(duration_ms) AS avg, min(duration_ms) AS min, max(duration_ms) AS max,
          min(started_at) AS first, max(finished_at) AS last
        FROM conveyor_executions WHERE job_id = ?`,
      )
      .get(jobId) as {
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
    };
    return {
      totalExecutions: r.total,
      successCount: r.success,
      failedCount: r.failed,
      timeoutCount: r.timeout,
      stalledCount: r.stalled,
      cancelledCount: r.cancelled,
      retryCount: r.retries,
      successRate: r.total === 0 ? 0 : r.success / r.total,
      avgDurationMs: r.avg,
      minDurationMs: r.min,
      maxDurationMs: r.max,
      firstExecution: r.first,
      lastExecution: r.last,
    };
  }

  async recentExecutions(query: RecentExecutionsQuery): Promise<ExecutionRecord[]> {
    this.guard();
    checkLimit(query.limit);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.queue !== undefined) {
      where.push('queue = ?');
      params.push(query.queue);
    }
    if (query.type !== undefined) {
      where.push('type = ?');
      params.push(query.type);
    }
    if (query.status !== undefined) {
      where.push('status = ?');
      params.push(query.status);
    }
    params.push(query.limit);
    // Newest first through the time index; queue, type and status are filters applied while walking it.
    const index = 'conveyor_executions_recent';
    this.store.ensureReady();
    return (
      this.store
        .stmt(
          `SELECT * FROM conveyor_executions INDEXED BY ${index}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''}
            ORDER BY started_at DESC, id DESC LIMIT ?`,
        )
        .all(...params) as ExecutionRow[]
    ).map(rowToExecution);
  }

  async cleanupExecutions(before: number): Promise<number> {
    this.guard();
    if (typeof before !== 'number' || Number.isNaN(before)) throw validationError('before must be a time in ms.');
    return this.store.write(
      // A record that finished before `before` started before it too: walk the startedAt index, check finishedAt.
      () =>
        this.store
          .stmt(
            'DELETE FROM conveyor_executions INDEXED BY conveyor_executions_recent WHERE started_at < ? AND finished_at < ?',
          )
          .run(before, before).changes,
    );
  }

  async registerWorker(info: WorkerInfo): Promise<void> {
    this.guard();
    if (typeof info.id !== 'string' || info.id.length === 0)
      throw validationError('worker id must be a non-empty string.');
    const stored: WorkerInfo = {
      id: info.id,
      host: info.host,
      pid: info.pid,
      queues: [...info.queues],
      concurrency: info.concurrency,
      startedAt: info.startedAt,
    };
    this.store.write(() =>
      this.store
        .stmt('INSERT OR REPLACE INTO conveyor_workers (id, info, stats, last_seen_at) VALUES (?, ?, ?, ?)')
        .run(info.id, JSON.stringify(stored), JSON.stringify(ZERO_STATS), this.store.now()),
    );
  }

  async heartbeatWorker(id: string, stats: WorkerStats): Promise<void> {
    this.guard();
    const clean: WorkerStats = {
      activeJobs: stats.activeJobs,
      executions: stats.executions,
      succeeded: stats.succeeded,
      failed: stats.failed,
      totalDurationMs: stats.totalDurationMs,
    };
    // A worker removed meanwhile (pruned as stale) is ignored, not re-created.
    this.store.write(() =>
      this.store
        .stmt('UPDATE conveyor_workers SET stats = ?, last_seen_at = ? WHERE id = ?')
        .run(JSON.stringify(clean), this.store.now(), id),
    );
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    this.guard();
    this.store.ensureReady();
    return (this.store.stmt('SELECT * FROM conveyor_workers ORDER BY id').all() as WorkerRow[]).map((r) => ({
      ...(JSON.parse(r.info) as WorkerInfo),
      ...(JSON.parse(r.stats) as WorkerStats),
      lastSeenAt: r.last_seen_at,
    }));
  }

  async deregisterWorker(id: string): Promise<void> {
    this.guard();
    this.store.write(() => this.store.stmt('DELETE FROM conveyor_workers WHERE id = ?').run(id));
  }

  async pruneWorkers(before: number): Promise<number> {
    this.guard();
    return this.store.write(
      () => this.store.stmt('DELETE FROM conveyor_workers WHERE last_seen_at < ?').run(before).changes,
    );
  }
}
