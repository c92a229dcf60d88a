/**
 * Shapes of the dashboard API's answers (see the repository's API.md), as the UI reads them. Fields the UI can live
 * without are optional, so an older or newer server degrades to a blank cell rather than a crash.
 */

export const JOB_STATES = ['waiting', 'scheduled', 'retrying', 'active', 'completed', 'failed', 'cancelled'] as const;
export type JobState = (typeof JOB_STATES)[number];

export const EXECUTION_STATUSES = ['success', 'failed', 'timeout', 'stalled', 'cancelled'] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

export const PERIODS = ['1h', '6h', '24h', '7d', '30d'] as const;
export type Period = (typeof PERIODS)[number];

export type StateCounts = Partial<Record<JobState, number>>;

export interface JobError {
  message: string;
  code?: string | null;
  stack?: string | null;
}

export type HealthStatus = 'healthy' | 'degraded' | 'unhealthy';

export interface Overview {
  totals: StateCounts;
  total?: number;
  queues: number;
  workers: { active: number; total: number };
  throughput: { lastMinute: number; lastHour: number };
  /** 0–1, null when nothing ran. */
  successRate: number | null;
  avgDurationMs: number | null;
  executions24h?: number;
  oldestWaitingAgeMs: number | null;
  health: HealthStatus;
}

export interface TrendPoint {
  bucket: string;
  total: number;
  success: number;
  failed: number;
}

export interface ExecutionStats {
  total: number;
  success: number;
  /** Failed attempts other than timeouts. */
  failed: number;
  /** Attempts that ended by timeout. */
  timeout: number;
  stalled: number;
  retries: number;
  successRate: number | null;
  avgDurationMs: number | null;
  maxDurationMs: number | null;
  p50Ms: number | null;
  p95Ms: number | null;
  p99Ms: number | null;
}

export interface TypeStats {
  type: string;
  enqueued?: number;
  total?: number;
  success?: number;
  failed?: number;
  successRate?: number | null;
  avgDurationMs?: number | null;
  p95Ms?: number | null;
}

export interface Stats {
  period: Period;
  periodStart: string;
  granularityMs?: number;
  jobs: { total: number; byState: StateCounts; enqueued?: number; byType: Record<string, number> };
  executions: ExecutionStats;
  executionsByType?: TypeStats[];
  trend: TrendPoint[];
}

export interface LiveStats {
  timestamp: string;
  active: number;
  waiting: number;
  scheduled: number;
  executions: { last5min: number; failedLast5min: number };
}

export interface QueueSummary {
  name: string;
  paused: boolean;
  counts: StateCounts;
  total?: number;
  workers?: number;
  throughputPerMinute?: number | null;
  avgDurationMs?: number | null;
  oldestWaitingAgeMs?: number | null;
  saturation?: number | null;
  types?: TypeStats[];
}

export interface JobOptions {
  priority?: number;
  maxAttempts?: number;
  backoff?: { type: string; delayMs: number; maxDelayMs?: number; jitter?: number } | null;
  timeoutMs?: number | null;
  uniqueKey?: string | null;
  removeOnComplete?: unknown;
  removeOnFail?: unknown;
  meta?: Record<string, unknown> | null;
}

export interface Job {
  id: string;
  queue: string;
  type: string;
  state: JobState;
  payload?: unknown;
  options?: JobOptions | null;
  priority?: number;
  attempt?: number;
  maxAttempts?: number;
  createdAt?: string | null;
  runAt?: string | null;
  startedAt?: string | null;
  finishedAt?: string | null;
  durationMs?: number | null;
  result?: unknown;
  lastError?: JobError | null;
  workerId?: string | null;
  progress?: unknown;
}

export interface Execution {
  id: string;
  jobId?: string;
  queue?: string;
  type?: string;
  attempt: number;
  status: ExecutionStatus;
  startedAt: string;
  finishedAt?: string | null;
  durationMs?: number | null;
  workerId?: string | null;
  result?: unknown;
  error?: JobError | null;
  isRetry?: boolean;
}

export interface ExecutionSummary {
  totalExecutions: number;
  successCount: number;
  failedCount: number;
  timeoutCount: number;
  stalledCount: number;
  cancelledCount?: number;
  retryCount: number;
  successRate: number | null;
  avgDurationMs: number | null;
  minDurationMs: number | null;
  maxDurationMs: number | null;
  firstExecution: string | null;
  lastExecution: string | null;
}

export interface Worker {
  id: string;
  host?: string;
  pid?: number;
  queues?: string[];
  concurrency?: number;
  activeJobs?: number;
  executions?: number;
  successRate?: number | null;
  avgDurationMs?: number | null;
  startedAt?: string;
  lastSeenAt?: string;
  status: 'active' | 'stale';
}

export interface WorkerList {
  workers: Worker[];
  total: number;
  active: number;
}

/** A list answer: `data` plus paging in `meta`. */
export interface ListMeta {
  nextCursor?: string | null;
  total?: number;
}
