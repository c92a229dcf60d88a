import type { Backend, JobState, StateCounts } from '@conveyor/core';
import { JOB_STATES } from '@conveyor/core';
import type { TestClock } from '../clock';

/** The queues the model uses. Two, so claims across queues and pause of one are exercised. */
export const MODEL_QUEUES = ['q1', 'q2'] as const;
export type ModelQueue = (typeof MODEL_QUEUES)[number];

/** Every claim in the model takes this lease. */
export const MODEL_LEASE_MS = 1000;

/** How many stale tokens per job the model keeps to replay. */
const STALE_TOKENS_KEPT = 3;

/** One job as the reference model sees it: only what the contract pins down. */
export interface ModelJob {
  id: string;
  queue: ModelQueue;
  /** Insertion order. */
  seq: number;
  state: JobState;
  attempt: number;
  maxAttempts: number;
  priority: number;
  runAt: number;
  uniqueKey: string | null;
  /** The current lease's token while active, else null. */
  token: number | null;
  /** The greatest token ever handed out for this job. */
  maxToken: number;
  /** Tokens that are no longer the current lease, newest last. */
  staleTokens: number[];
  leaseExpiresAt: number | null;
  finishedAt: number | null;
  /**
   * True once the job went back to a ready state after its first claim (release, recovery, retry, promote, a
   * retrying fail). The contract breaks claim ties by insertion order, but does not say whether a job that comes
   * back keeps its place: among equal (priority, runAt), the model accepts either order for such jobs.
   */
  requeued: boolean;
  everCompleted: boolean;
}

/** The reference model: plain data, updated by the commands. */
export interface Model {
  now: number;
  jobs: Map<string, ModelJob>;
  /** Removed jobs, kept for their stale tokens (a write to a removed job must be refused too). */
  removed: Map<string, { staleTokens: number[] }>;
  paused: Set<ModelQueue>;
  seq: number;
  /** Highest attempt ever observed per job id, to prove attempts never decrease. */
  observedAttempts: Map<string, number>;
}

/** The system under test. */
export interface Real {
  backend: Backend;
  clock: TestClock;
}

export function createModel(now: number): Model {
  return { now, jobs: new Map(), removed: new Map(), paused: new Set(), seq: 0, observedAttempts: new Map() };
}

/** The states from which a job still holds its unique key. */
export function isPending(state: JobState): boolean {
  return state === 'waiting' || state === 'scheduled' || state === 'retrying' || state === 'active';
}

export function isFinished(state: JobState): boolean {
  return state === 'completed' || state === 'failed' || state === 'cancelled';
}

/** A scheduled or retrying job whose runAt has come. */
export function isDue(job: ModelJob, now: number): boolean {
  return (job.state === 'scheduled' || job.state === 'retrying') && job.runAt <= now;
}

/** Ready to claim: waiting, or due. */
export function isReady(job: ModelJob, now: number): boolean {
  return job.state === 'waiting' || isDue(job, now);
}

/**
 * States the adapter may report for a model job. Time alone never changes a state in the model, but an adapter may
 * move a due scheduled/retrying job to `waiting` on its own (a Redis promoter does), so both are accepted.
 */
export function acceptableStates(job: ModelJob, now: number): JobState[] {
  return isDue(job, now) ? [job.state, 'waiting'] : [job.state];
}

/** Strictly ahead in claim order: priority desc, runAt asc, then insertion (only between never-requeued jobs). */
export function claimsBefore(a: ModelJob, b: ModelJob): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.runAt !== b.runAt) return a.runAt < b.runAt;
  if (a.requeued || b.requeued) return false;
  return a.seq < b.seq;
}

/** Retire the current token (the lease ended). */
export function retireToken(job: ModelJob): void {
  if (job.token !== null) {
    job.staleTokens.push(job.token);
    if (job.staleTokens.length > STALE_TOKENS_KEPT) job.staleTokens.shift();
  }
  job.token = null;
  job.leaseExpiresAt = null;
}

/** Per-queue counts the model expects, every state present. */
export function modelCounts(model: Model, queue: ModelQueue): StateCounts {
  const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as StateCounts;
  for (const job of model.jobs.values()) if (job.queue === queue) counts[job.state]++;
  return counts;
}

/** Due scheduled / retrying jobs of a queue, which an adapter may report as waiting instead. */
export function dueCounts(model: Model, queue: ModelQueue): { scheduled: number; retrying: number } {
  let scheduled = 0;
  let retrying = 0;
  for (const job of model.jobs.values()) {
    if (job.queue !== queue || !isDue(job, model.now)) continue;
    if (job.state === 'scheduled') scheduled++;
    else retrying++;
  }
  return { scheduled, retrying };
}

/** Jobs in a stable order (insertion), for picking one by index. */
export function jobList(model: Model, filter: (job: ModelJob) => boolean = () => true): ModelJob[] {
  return [...model.jobs.values()].filter(filter).sort((a, b) => a.seq - b.seq);
}

/** Pick the `index`-th (mod length) element, or undefined when empty. */
export function pick<T>(items: readonly T[], index: number): T | undefined {
  return items.length === 0 ? undefined : items[index % items.length];
}
