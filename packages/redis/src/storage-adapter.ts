import type {
  AdapterCapabilities,
  ExecutionQuery,
  ExecutionRecord,
  ExecutionSummary,
  Page,
  RecentExecutionsQuery,
  StorageAdapter,
  WorkerInfo,
  WorkerRecord,
  WorkerStats,
} from '@conveyor/core';
import {
  decodeCursor,
  EXECUTION_STATUSES,
  encodeCursor,
  executionRecordProblem,
  summarizeExecutionRecords,
} from '@conveyor/core';
import { toJson } from './codec';
import { RedisConnection } from './connection';
import {
  CLEANUP_EXECUTIONS,
  HEARTBEAT_WORKER,
  LIST_WORKERS,
  RECENT_EXECUTIONS,
  RECORD_EXECUTIONS,
  REGISTER_WORKER,
  REMOVE_WORKERS,
} from './lua/storage';
import type { RedisBackendOptions } from './options';
import { checkLimit, closedError, REDIS_CAPABILITIES, validationError } from './options';

const STATUS_SET: ReadonlySet<string> = new Set(EXECUTION_STATUSES);
/** Records `recentExecutions` looks at, at most, to fill a filtered page. */
const RECENT_EXAMINE = 20_000;
const CLEANUP_BATCH = 1000;
const UNIT_SEPARATOR = '\u001f';

/** Newest first: startedAt descending, then id descending. */
function newestFirst(a: ExecutionRecord, b: ExecutionRecord): number {
  return b.startedAt - a.startedAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

export function validateRecord(r: ExecutionRecord, i: number): void {
  const problem = recordProblem(r);
  if (problem !== null) throw validationError(`execution record #${i}: ${problem}`);
}

/** What is wrong with a record, or null: the core's checks, plus the separator the indexes reserve. */
function recordProblem(r: ExecutionRecord): string | null {
  const problem = executionRecordProblem(r);
  if (problem !== null) return problem;
  // The indexes join record id and job id with U+001F.
  return r.id.includes(UNIT_SEPARATOR) ? 'id must not contain U+001F.' : null;
}

const str = JSON.stringify;

/**
 * A record's JSON as stored: its fields in a fixed order, absent optional ones as null. A record without a result
 * or an error (every success without a result, which is most of them) is written from a template, about a third
 * cheaper than building the object and serialising it; any other goes through JSON.stringify (same text).
 */
export function recordJson(r: ExecutionRecord): string {
  if (
    r.result == null &&
    r.error == null &&
    typeof r.queue === 'string' &&
    typeof r.type === 'string' &&
    Number.isFinite(r.attempt) &&
    (r.workerId == null || typeof r.workerId === 'string')
  ) {
    // Times and the duration are finite (validated), so their text is their JSON.
    return `{"id":${str(r.id)},"jobId":${str(r.jobId)},"queue":${str(r.queue)},"type":${str(r.type)},"attempt":${r.attempt},"status":${str(r.status)},"startedAt":${r.startedAt},"finishedAt":${r.finishedAt},"durationMs":${r.durationMs},"workerId":${r.workerId == null ? 'null' : str(r.workerId)},"result":null,"error":null}`;
  }
  const stored: ExecutionRecord = {
    id: r.id,
    jobId: r.jobId,
    queue: r.queue,
    type: r.type,
    attempt: r.attempt,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    workerId: r.workerId ?? null,
    result: r.result === undefined ? null : r.result,
    error: r.error ?? null,
  };
  return toJson(stored, 'execution record');
}

/** A validated record as RECORD_EXECUTIONS' arguments (also the record part of an ack's inline side effects). */
export function pushRecordArgs(args: (string | number)[], r: ExecutionRecord): void {
  args.push(r.id, r.jobId, r.queue, String(r.startedAt), recordJson(r));
}

/**
 * {@link StorageAdapter} on Redis: a small hash per job (record id → JSON) plus a start-time sorted set per queue
 * (recent executions, merged over the queues when no queue is asked for; cleanup), so a record costs two writes; the
 * worker registry is two hashes and a last-seen sorted set. Writes are one script per batch. `lastSeenAt` comes from the server clock.
 */
export class RedisStorageAdapter implements StorageAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = REDIS_CAPABILITIES;
  private readonly conn: RedisConnection;
  private closed = false;

  /** Pass options to own a connection, or a {@link RedisConnection} to share one with the other adapters. */
  constructor(options: RedisBackendOptions | RedisConnection = {}) {
    this.conn = options instanceof RedisConnection ? options : new RedisConnection(options);
    this.conn.acquire();
  }

  async init(): Promise<void> {
    this.open();
    await this.conn.checkServer();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.conn.release();
  }

  // ---------------------------------------------------------------- executions

  async recordExecutions(records: ExecutionRecord[]): Promise<void> {
    this.open();
    for (let i = 0; i < records.length; i++) validateRecord(records[i] as ExecutionRecord, i);
    if (records.length === 0) return;
    const args: (string | number)[] = [];
    for (const r of records) pushRecordArgs(args, r);
    await this.conn.run(RECORD_EXECUTIONS, args);
  }

  /** A job's records (one per attempt, so few), newest first. */
  private async jobRecords(jobId: string): Promise<ExecutionRecord[]> {
    const rows = await this.conn.client.hvals(`{${this.conn.prefix}}:xh:${jobId}`);
    return rows.map((r) => JSON.parse(r) as ExecutionRecord).sort(newestFirst);
  }

  async listExecutions(jobId: string, query: ExecutionQuery): Promise<Page<ExecutionRecord>> {
    this.open();
    checkLimit(query.limit);
    if (query.status !== undefined && !STATUS_SET.has(query.status)) {
      throw validationError(`status must be one of ${EXECUTION_STATUSES.join(', ')}.`);
    }
    let below: { startedAt: number; id: string } | undefined;
    if (query.cursor !== undefined && query.cursor !== null) {
      const [startedAt, id] = decodeCursor(query.cursor, ['number', 'string'] as const);
      below = { startedAt, id };
    }
    const { from, to } = query;
    // A job has one record per attempt, so its whole history is small; range and page are cut here.
    const records = await this.jobRecords(jobId);
    const items: ExecutionRecord[] = [];
    let more = false;
    for (const r of records) {
      if ((to !== undefined && !(r.startedAt < to)) || (from !== undefined && !(r.startedAt >= from))) continue;
      if (below !== undefined && r.startedAt > below.startedAt) continue;
      if (below !== undefined && r.startedAt === below.startedAt && !(r.id < below.id)) continue;
      if (query.status !== undefined && r.status !== query.status) continue;
      if (items.length === query.limit) {
        more = true;
        break;
      }
      items.push(r);
    }
    const last = items[items.length - 1];
    return { items, nextCursor: more && last !== undefined ? encodeCursor([last.startedAt, last.id]) : null };
  }

  async summarizeExecutions(jobId: string): Promise<ExecutionSummary> {
    this.open();
    return summarizeExecutionRecords(await this.jobRecords(jobId));
  }

  async recentExecutions(query: RecentExecutionsQuery): Promise<ExecutionRecord[]> {
    this.open();
    checkLimit(query.limit);
    const rows = (await this.conn.run(RECENT_EXECUTIONS, [
      query.queue ?? '',
      query.type ?? '',
      query.status ?? '',
      query.limit,
      RECENT_EXAMINE,
    ])) as string[];
    return rows.map((r) => JSON.parse(r) as ExecutionRecord);
  }

  async cleanupExecutions(before: number): Promise<number> {
    this.open();
    if (!Number.isFinite(before)) throw validationError('cleanupExecutions needs `before`, a time in ms.');
    let total = 0;
    let offset = 0;
    // One index at a time: the all-queue index of earlier versions (''), then each queue's, in name order.
    let source = '';
    for (;;) {
      const [deleted, examined, next] = (await this.conn.run(CLEANUP_EXECUTIONS, [
        String(before),
        source,
        offset,
        CLEANUP_BATCH,
      ])) as [number, number, string | null];
      total += deleted;
      if (next === null) return total;
      if (next === source) {
        // Records kept (started before `before` but finished after it) stay ahead of the next batch: skip them.
        offset += examined - deleted;
      } else {
        source = next;
        offset = 0;
      }
    }
  }

  // ---------------------------------------------------------------- workers

  async registerWorker(info: WorkerInfo): Promise<void> {
    this.open();
    if (typeof info.id !== 'string' || info.id.length === 0) throw validationError('a worker needs a non-empty id.');
    const stored: WorkerInfo = {
      id: info.id,
      host: info.host,
      pid: info.pid,
      queues: [...info.queues],
      concurrency: info.concurrency,
      startedAt: info.startedAt,
    };
    const zero: WorkerStats = { activeJobs: 0, executions: 0, succeeded: 0, failed: 0, totalDurationMs: 0 };
    await this.conn.run(REGISTER_WORKER, [info.id, JSON.stringify(stored), JSON.stringify(zero)]);
  }

  async heartbeatWorker(id: string, stats: WorkerStats): Promise<void> {
    this.open();
    const stored: WorkerStats = {
      activeJobs: stats.activeJobs,
      executions: stats.executions,
      succeeded: stats.succeeded,
      failed: stats.failed,
      totalDurationMs: stats.totalDurationMs,
    };
    await this.conn.run(HEARTBEAT_WORKER, [id, JSON.stringify(stored)]);
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    this.open();
    const rows = (await this.conn.run(LIST_WORKERS, [])) as [string, string, string, string][];
    return rows
      .map(([, info, stats, seen]) => ({
        ...(JSON.parse(info) as WorkerInfo),
        ...(JSON.parse(stats) as WorkerStats),
        lastSeenAt: Number(seen),
      }))
      .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  async deregisterWorker(id: string): Promise<void> {
    this.open();
    await this.conn.run(REMOVE_WORKERS, ['', id]);
  }

  async pruneWorkers(before: number): Promise<number> {
    this.open();
    if (!Number.isFinite(before)) throw validationError('pruneWorkers needs `before`, a time in ms.');
    return Number(await this.conn.run(REMOVE_WORKERS, [String(before)]));
  }

  private open(): void {
    if (this.closed) throw closedError('Redis storage adapter');
  }
}
