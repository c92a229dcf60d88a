import type { ExecutionRecord, ExecutionSummary } from '../contracts/storage-adapter';

/** The summary of no executions at all. */
export function emptyExecutionSummary(): ExecutionSummary {
  return {
    totalExecutions: 0,
    successCount: 0,
    failedCount: 0,
    timeoutCount: 0,
    stalledCount: 0,
    cancelledCount: 0,
    retryCount: 0,
    successRate: 0,
    avgDurationMs: null,
    minDurationMs: null,
    maxDurationMs: null,
    firstExecution: null,
    lastExecution: null,
  };
}

/**
 * `StorageAdapter.summarizeExecutions` computed from a job's records, for adapters that hold them in memory or fetch
 * them whole (SQL adapters aggregate in the database instead). One definition, so every backend agrees.
 */
export function summarizeExecutionRecords(records: Iterable<ExecutionRecord>): ExecutionSummary {
  const s = emptyExecutionSummary();
  let sum = 0;
  for (const r of records) {
    s.totalExecutions++;
    if (r.status === 'success') s.successCount++;
    else if (r.status === 'failed') s.failedCount++;
    else if (r.status === 'timeout') s.timeoutCount++;
    else if (r.status === 'stalled') s.stalledCount++;
    else s.cancelledCount++;
    if (r.attempt > 1) s.retryCount++;
    sum += r.durationMs;
    s.minDurationMs = s.minDurationMs === null ? r.durationMs : Math.min(s.minDurationMs, r.durationMs);
    s.maxDurationMs = s.maxDurationMs === null ? r.durationMs : Math.max(s.maxDurationMs, r.durationMs);
    s.firstExecution = s.firstExecution === null ? r.startedAt : Math.min(s.firstExecution, r.startedAt);
    s.lastExecution = s.lastExecution === null ? r.finishedAt : Math.max(s.lastExecution, r.finishedAt);
  }
  if (s.totalExecutions > 0) {
    s.successRate = s.successCount / s.totalExecutions;
    s.avgDurationMs = sum / s.totalExecutions;
  }
  return s;
}
