import type { AdapterCapabilities, Clock } from '../contracts/capabilities';
import { ConveyorError, conveyorMessage } from '../contracts/errors';
import type { Page } from '../contracts/job';
import { EXECUTION_STATUSES } from '../contracts/job';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';
import type {
  ExecutionQuery,
  ExecutionRecord,
  ExecutionSummary,
  RecentExecutionsQuery,
  StorageAdapter,
  WorkerInfo,
  WorkerRecord,
  WorkerStats,
} from '../contracts/storage-adapter';
import { decodeCursor, encodeCursor } from '../util/cursor';
import { summarizeExecutionRecords } from '../util/executions';
import { executionRecordProblem } from '../util/validate-job';
import type { MemoryAdapterOptions } from './options';
import { COMPONENT, checkLimit, closedError, MEMORY_CAPABILITIES, validationError } from './options';
import { SortedIndex } from './sorted-index';

/** Options of {@link MemoryStorageAdapter}. */
export interface MemoryStorageOptions extends MemoryAdapterOptions {
  /**
   * Most execution records kept; past it the oldest (by `startedAt`, then id: the end `recentExecutions` reaches
   * last) are dropped, so a long-running process stays bounded even if nobody calls `cleanupExecutions`.
   * `Infinity` keeps everything.
   * @default 100_000
   */
  maxExecutions?: number;
}

interface ExecutionKey {
  startedAt: number;
  id: string;
}

/** Ascending (startedAt, id); lists walk it backwards for newest first. */
function executionOrder(a: ExecutionKey, b: ExecutionKey): number {
  return a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
}

const STATUS_SET: ReadonlySet<string> = new Set(EXECUTION_STATUSES);

/** The per-job index is dropped after this long without a per-job read, so writes stop paying for it. */
const JOB_INDEX_IDLE_MS = 60_000;

function copyRecord(r: ExecutionRecord): ExecutionRecord {
  return {
    id: r.id,
    jobId: r.jobId,
    queue: r.queue,
    type: r.type,
    attempt: r.attempt,
    status: r.status,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    durationMs: r.durationMs,
    workerId: r.workerId,
    result: r.result,
    error:
      r.error === null || r.error === undefined
        ? null
        : { message: r.error.message, code: r.error.code, stack: r.error.stack },
  };
}

/**
 * The reference {@link StorageAdapter}: execution history and the worker registry in memory.
 *
 * The history is one ordered index by (startedAt, id), the order every read wants (newest first). Records arrive
 * nearly in that order, so a write is an append to the last chunk; the `maxExecutions` bound trims the oldest end
 * one splice per batch; a record id written twice is found at its own position and kept once. Nothing else is
 * maintained per write unless someone reads per job: the (jobId → records) index that `listExecutions` and
 * `summarizeExecutions` use is built on the first such read, kept up to date while reads continue, and dropped
 * after {@link JOB_INDEX_IDLE_MS} without one (a worker-only process pays nothing for it).
 *
 * Records are copied in and out; results are shared by reference and must be treated as immutable.
 */
export class MemoryStorageAdapter implements StorageAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = MEMORY_CAPABILITIES;
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly maxExecutions: number;
  private closed = false;
  /** Every record, ascending (startedAt, id). */
  private readonly history = new SortedIndex<ExecutionRecord, ExecutionKey>(executionOrder);
  /** Each job's records in ascending (startedAt, id) order, while per-job reads keep it alive; else null. */
  private byJob: Map<string, ExecutionRecord[]> | null = null;
  /** Clock time of the last per-job read. */
  private byJobReadAt = 0;
  private readonly workers = new Map<string, WorkerRecord>();
  private evicted = 0;
  /** Bound once: called for every evicted record while the per-job index exists. */
  private readonly unindex = (r: ExecutionRecord): void => {
    const byJob = this.byJob;
    if (byJob === null) return;
    const list = byJob.get(r.jobId);
    if (list === undefined) return;
    // The oldest records go first, so the victim is nearly always its job's first.
    const at = list[0] === r ? 0 : list.indexOf(r);
    if (at === 0) list.shift();
    else if (at > 0) list.splice(at, 1);
    if (list.length === 0) byJob.delete(r.jobId);
  };

  constructor(options: MemoryStorageOptions = {}) {
    this.clock = options.clock ?? Date.now;
    this.logger = options.logger ?? silentLogger;
    const max = options.maxExecutions ?? 100_000;
    if (!(max >= 1)) {
      throw new ConveyorError(
        'CONFIG_INVALID',
        conveyorMessage(COMPONENT, 'maxExecutions must be at least 1 (or Infinity).'),
      );
    }
    this.maxExecutions = max;
  }

  async init(): Promise<void> {
    this.open();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.history.clear();
    this.byJob = null;
    this.workers.clear();
  }

  // ---------------------------------------------------------------- executions

  async recordExecutions(records: ExecutionRecord[]): Promise<void> {
    this.open();
    // Validate the batch before writing any of it.
    for (let i = 0; i < records.length; i++) validateRecord(records[i] as ExecutionRecord, i);
    const history = this.history;
    let byJob = this.byJob;
    if (byJob !== null && this.clock() - this.byJobReadAt > JOB_INDEX_IDLE_MS) {
      this.byJob = null;
      byJob = null;
    }
    for (let i = 0; i < records.length; i++) {
      const r = copyRecord(records[i] as ExecutionRecord);
      if (!history.insert(r)) continue; // the same record written again
      if (byJob !== null) addToJob(byJob, r);
    }
    const excess = history.size - this.maxExecutions;
    if (excess > 0) this.evict(excess);
  }

  async listExecutions(jobId: string, query: ExecutionQuery): Promise<Page<ExecutionRecord>> {
    this.open();
    checkLimit(query.limit);
    if (query.status !== undefined && !STATUS_SET.has(query.status)) {
      throw validationError(`status must be one of ${EXECUTION_STATUSES.join(', ')}.`);
    }
    let below: ExecutionKey | undefined;
    if (query.cursor !== undefined && query.cursor !== null) {
      const [startedAt, id] = decodeCursor(query.cursor, ['number', 'string'] as const);
      below = { startedAt, id };
    }
    const list = this.jobIndex().get(jobId) ?? [];
    const items: ExecutionRecord[] = [];
    let more = false;
    let i = list.length - 1;
    if (below !== undefined) i = lowerBound(list, below) - 1;
    for (; i >= 0; i--) {
      const r = list[i] as ExecutionRecord;
      if (query.to !== undefined && r.startedAt >= query.to) continue;
      if (query.from !== undefined && r.startedAt < query.from) break;
      if (query.status !== undefined && r.status !== query.status) continue;
      if (items.length === query.limit) {
        more = true;
        break;
      }
      items.push(r);
    }
    const last = items[items.length - 1];
    return {
      items: items.map(copyRecord),
      nextCursor: more && last !== undefined ? encodeCursor([last.startedAt, last.id]) : null,
    };
  }

  async summarizeExecutions(jobId: string): Promise<ExecutionSummary> {
    this.open();
    return summarizeExecutionRecords(this.jobIndex().get(jobId) ?? []);
  }

  async recentExecutions(query: RecentExecutionsQuery): Promise<ExecutionRecord[]> {
    this.open();
    checkLimit(query.limit);
    const out: ExecutionRecord[] = [];
    for (const r of this.history.descending()) {
      if (query.queue !== undefined && r.queue !== query.queue) continue;
      if (query.type !== undefined && r.type !== query.type) continue;
      if (query.status !== undefined && r.status !== query.status) continue;
      out.push(copyRecord(r));
      if (out.length === query.limit) break;
    }
    return out;
  }

  async cleanupExecutions(before: number): Promise<number> {
    this.open();
    const kept: ExecutionRecord[] = [];
    for (const r of this.history.ascending()) if (!(r.finishedAt < before)) kept.push(r);
    const removed = this.history.size - kept.length;
    if (removed > 0) {
      this.history.load(kept);
      // Rebuilt on the next per-job read: a cleanup is rare, a rebuild is one pass.
      this.byJob = null;
    }
    return removed;
  }

  // ---------------------------------------------------------------- workers

  async registerWorker(info: WorkerInfo): Promise<void> {
    this.open();
    if (typeof info.id !== 'string' || info.id.length === 0) throw validationError('a worker needs a non-empty id.');
    this.workers.set(info.id, {
      id: info.id,
      host: info.host,
      pid: info.pid,
      queues: [...info.queues],
      concurrency: info.concurrency,
      startedAt: info.startedAt,
      activeJobs: 0,
      executions: 0,
      succeeded: 0,
      failed: 0,
      totalDurationMs: 0,
      lastSeenAt: this.clock(),
    });
  }

  async heartbeatWorker(id: string, stats: WorkerStats): Promise<void> {
    this.open();
    const w = this.workers.get(id);
    // A worker pruned meanwhile is not brought back: it registers again when it restarts.
    if (w === undefined) return;
    w.activeJobs = stats.activeJobs;
    w.executions = stats.executions;
    w.succeeded = stats.succeeded;
    w.failed = stats.failed;
    w.totalDurationMs = stats.totalDurationMs;
    w.lastSeenAt = this.clock();
  }

  async listWorkers(): Promise<WorkerRecord[]> {
    this.open();
    return [...this.workers.values()]
      .sort((a, b) => a.startedAt - b.startedAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
      .map((w) => ({ ...w, queues: [...w.queues] }));
  }

  async deregisterWorker(id: string): Promise<void> {
    this.open();
    this.workers.delete(id);
  }

  async pruneWorkers(before: number): Promise<number> {
    this.open();
    let removed = 0;
    for (const [id, w] of this.workers) {
      if (w.lastSeenAt < before) {
        this.workers.delete(id);
        removed++;
      }
    }
    return removed;
  }

  // ---------------------------------------------------------------- internals

  private open(): void {
    if (this.closed) throw closedError('memory storage adapter');
  }

  /** The per-job index, built now if nobody read per job lately. */
  private jobIndex(): Map<string, ExecutionRecord[]> {
    this.byJobReadAt = this.clock();
    let byJob = this.byJob;
    if (byJob === null) {
      byJob = new Map();
      // Ascending, so every job's list comes out sorted without comparisons.
      for (const r of this.history.ascending()) addToJob(byJob, r);
      this.byJob = byJob;
    }
    return byJob;
  }

  private evict(n: number): void {
    this.history.dropFirst(n, this.byJob === null ? undefined : this.unindex);
    if (this.evicted === 0) {
      this.logger.info(
        conveyorMessage(
          COMPONENT,
          `execution history reached maxExecutions (${this.maxExecutions}); the oldest records are being dropped. Raise maxExecutions or call cleanupExecutions sooner.`,
        ),
      );
    }
    this.evicted += n;
  }
}

/** First position whose record is >= key. */
function lowerBound(list: ExecutionRecord[], key: ExecutionKey): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (executionOrder(list[mid] as ExecutionRecord, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Add to its job's list keeping ascending order; attempts arrive in order, so this is nearly always an append. */
function addToJob(byJob: Map<string, ExecutionRecord[]>, r: ExecutionRecord): void {
  const list = byJob.get(r.jobId);
  if (list === undefined) {
    byJob.set(r.jobId, [r]);
    return;
  }
  const last = list[list.length - 1] as ExecutionRecord;
  if (executionOrder(last, r) < 0) list.push(r);
  else list.splice(lowerBound(list, r), 0, r);
}

function validateRecord(r: ExecutionRecord, i: number): void {
  const problem = executionRecordProblem(r);
  if (problem !== null) throw validationError(`execution record #${i}: ${problem}`);
}
