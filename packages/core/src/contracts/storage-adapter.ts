import type { AdapterCapabilities } from './capabilities';
import type { ExecutionStatus, JobError, Page } from './job';

/** One attempt of one job, as written by the runtime when the attempt ends. */
export interface ExecutionRecord {
  /** Unique id of the record (the runtime generates it). */
  id: string;
  jobId: string;
  queue: string;
  type: string;
  /** 1-based attempt number. */
  attempt: number;
  status: ExecutionStatus;
  startedAt: number;
  finishedAt: number;
  durationMs: number;
  workerId: string | null;
  result: unknown;
  error: JobError | null;
}

export interface ExecutionQuery {
  status?: ExecutionStatus;
  /** startedAt >= from */
  from?: number;
  /** startedAt < to */
  to?: number;
  /** 1–1000 */
  limit: number;
  cursor?: string | null;
}

export interface RecentExecutionsQuery {
  queue?: string;
  type?: string;
  status?: ExecutionStatus;
  /** 1–1000 */
  limit: number;
}

/** Aggregate over all executions of one job. Durations are null when there are none. */
export interface ExecutionSummary {
  totalExecutions: number;
  successCount: number;
  failedCount: number;
  timeoutCount: number;
  stalledCount: number;
  cancelledCount: number;
  /** Executions after the first (attempt > 1). */
  retryCount: number;
  /** successCount / totalExecutions, 0 when none. */
  successRate: number;
  avgDurationMs: number | null;
  minDurationMs: number | null;
  maxDurationMs: number | null;
  /** startedAt of the first and finishedAt of the last execution. */
  firstExecution: number | null;
  lastExecution: number | null;
}

/** A worker process as it registers itself. */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  queues: string[];
  concurrency: number;
  startedAt: number;
}

/** Figures a worker reports with each heartbeat. */
export interface WorkerStats {
  activeJobs: number;
  /** Executions finished since start. */
  executions: number;
  succeeded: number;
  failed: number;
  /** Sum of durations of finished executions, for averages. */
  totalDurationMs: number;
}

export interface WorkerRecord extends WorkerInfo, WorkerStats {
  /** Store time of the last heartbeat. */
  lastSeenAt: number;
}

/**
 * Execution history (one record per attempt) and the worker registry.
 *
 * Newest-first ordering everywhere: by `startedAt` descending, then `id` descending.
 */
export interface StorageAdapter {
  readonly capabilities: AdapterCapabilities;
  init(): Promise<void>;
  close(): Promise<void>;

  /** Append records (batched by the runtime). Writing a record id twice keeps one record. */
  recordExecutions(records: ExecutionRecord[]): Promise<void>;
  /** A job's executions, newest first. */
  listExecutions(jobId: string, query: ExecutionQuery): Promise<Page<ExecutionRecord>>;
  summarizeExecutions(jobId: string): Promise<ExecutionSummary>;
  /** Latest executions across all jobs, newest first. */
  recentExecutions(query: RecentExecutionsQuery): Promise<ExecutionRecord[]>;
  /** Delete records that finished before `before`. Returns how many. */
  cleanupExecutions(before: number): Promise<number>;

  /** Add or replace a worker; sets `lastSeenAt` to now and stats to zero. */
  registerWorker(info: WorkerInfo): Promise<void>;
  /** Refresh `lastSeenAt` and stats. A heartbeat for a worker that is not registered (pruned meanwhile) is ignored. */
  heartbeatWorker(id: string, stats: WorkerStats): Promise<void>;
  /** Every registered worker. Callers derive `active`/`stale` from `lastSeenAt`. */
  listWorkers(): Promise<WorkerRecord[]>;
  deregisterWorker(id: string): Promise<void>;
  /** Remove workers not seen since `before`. Returns how many. */
  pruneWorkers(before: number): Promise<number>;
}
