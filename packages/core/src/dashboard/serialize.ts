import type { z } from 'zod';
import type { Job } from '../contracts/job';
import type { ExecutionRecord, ExecutionSummary, WorkerRecord } from '../contracts/storage-adapter';
import { iso, isoRequired } from './http';
import type { executionSchema, executionSummarySchema, jobSchema, workerSchema } from './schemas';

/** A job as the API shows it (`GET /api/jobs/:id`, list items). */
export type JobDto = z.infer<typeof jobSchema>;
/** One execution as the API shows it. */
export type ExecutionDto = z.infer<typeof executionSchema>;
/** A worker as the API shows it. */
export type WorkerDto = z.infer<typeof workerSchema>;

/** The API form of a stored job: ISO times, options grouped, `durationMs` derived. */
export function toJobDto(job: Job): JobDto {
  const durationMs =
    job.startedAt !== null && job.finishedAt !== null && job.finishedAt >= job.startedAt
      ? job.finishedAt - job.startedAt
      : null;
  return {
    id: job.id,
    queue: job.queue,
    type: job.type,
    state: job.state,
    payload: job.payload ?? null,
    options: {
      priority: job.priority,
      maxAttempts: job.maxAttempts,
      backoff: job.backoff,
      timeoutMs: job.timeoutMs,
      uniqueKey: job.uniqueKey,
      removeOnComplete: job.removeOnComplete,
      removeOnFail: job.removeOnFail,
      meta: job.meta,
    },
    priority: job.priority,
    attempt: job.attempt,
    maxAttempts: job.maxAttempts,
    createdAt: isoRequired(job.createdAt),
    runAt: isoRequired(job.runAt),
    startedAt: iso(job.startedAt),
    finishedAt: iso(job.finishedAt),
    durationMs,
    result: job.result ?? null,
    lastError: job.lastError
      ? { message: job.lastError.message, code: job.lastError.code ?? null, stack: job.lastError.stack ?? null }
      : null,
    workerId: job.workerId,
    progress: job.progress ?? null,
  };
}

/** The API form of one execution record. */
export function toExecutionDto(record: ExecutionRecord): ExecutionDto {
  return {
    id: record.id,
    jobId: record.jobId,
    queue: record.queue,
    type: record.type,
    attempt: record.attempt,
    status: record.status,
    startedAt: isoRequired(record.startedAt),
    finishedAt: isoRequired(record.finishedAt),
    durationMs: Math.max(0, record.durationMs),
    workerId: record.workerId,
    result: record.result ?? null,
    error: record.error
      ? { message: record.error.message, code: record.error.code ?? null, stack: record.error.stack ?? null }
      : null,
    isRetry: record.attempt > 1,
  };
}

/** The API form of a job's execution summary. */
export function toSummaryDto(summary: ExecutionSummary): z.infer<typeof executionSummarySchema> {
  return {
    totalExecutions: summary.totalExecutions,
    successCount: summary.successCount,
    failedCount: summary.failedCount,
    timeoutCount: summary.timeoutCount,
    stalledCount: summary.stalledCount,
    cancelledCount: summary.cancelledCount,
    retryCount: summary.retryCount,
    successRate: summary.totalExecutions === 0 ? null : summary.successRate,
    avgDurationMs: summary.avgDurationMs,
    minDurationMs: summary.minDurationMs,
    maxDurationMs: summary.maxDurationMs,
    firstExecution: iso(summary.firstExecution),
    lastExecution: iso(summary.lastExecution),
  };
}

/** Is this worker alive at store time `now`? */
export function isLiveWorker(worker: WorkerRecord, now: number, staleWorkerMs: number): boolean {
  return now - worker.lastSeenAt <= staleWorkerMs;
}

/** The API form of a registered worker. */
export function toWorkerDto(worker: WorkerRecord, now: number, staleWorkerMs: number): WorkerDto {
  return {
    id: worker.id,
    host: worker.host,
    pid: worker.pid,
    queues: [...worker.queues],
    concurrency: worker.concurrency,
    activeJobs: worker.activeJobs,
    executions: worker.executions,
    successRate: worker.executions > 0 ? Math.min(1, worker.succeeded / worker.executions) : null,
    avgDurationMs: worker.executions > 0 ? worker.totalDurationMs / worker.executions : null,
    startedAt: isoRequired(worker.startedAt),
    lastSeenAt: isoRequired(worker.lastSeenAt),
    status: isLiveWorker(worker, now, staleWorkerMs) ? 'active' : 'stale',
  };
}
