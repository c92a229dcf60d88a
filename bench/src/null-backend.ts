import type {
  AckResult,
  Backend,
  ClaimedJob,
  ClaimRequest,
  CompleteRequest,
  ConveyorEvent,
  EnqueueResult,
  EventListener,
  ExtendResult,
  FailRequest,
  LeaseRef,
  NewJob,
} from '@conveyor/core';
import { buildJob, createMemoryBackend, DEFAULT_CAPABILITIES } from '@conveyor/core';

/**
 * A backend whose job store does almost nothing: `claim` hands out pre-built jobs from an array, acks answer "ok",
 * records, metrics and events are dropped. Running the runtime on it measures the runtime's own cost per job (the
 * ceiling any adapter can reach through Queue/Worker), separately from an adapter's cost.
 *
 * Only the methods the bench calls are real; the rest come from a memory backend and are never hit.
 */
export function createNullBackend(): Backend & { load(n: number, payload: unknown): void } {
  const base = createMemoryBackend();
  const ready: ClaimedJob[] = [];
  let head = 0;
  let token = 0;
  const listeners = new Set<EventListener>();
  const ok = (jobId: string): AckResult => ({ jobId, ok: true, job: null });
  const queue = Object.create(base.queue) as Backend['queue'];
  Object.assign(queue, {
    capabilities: DEFAULT_CAPABILITIES,
    async init() {},
    async close() {},
    async now() {
      return Date.now();
    },
    async enqueue(job: NewJob): Promise<EnqueueResult> {
      return { job: buildJob(job, Date.now()), deduplicated: false };
    },
    async enqueueMany(jobs: NewJob[]): Promise<EnqueueResult[]> {
      const now = Date.now();
      return jobs.map((job) => ({ job: buildJob(job, now), deduplicated: false }));
    },
    async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
      const end = Math.min(ready.length, head + request.limit);
      const out = ready.slice(head, end);
      head = end;
      const now = Date.now();
      for (const job of out) {
        job.token = ++token;
        job.startedAt = now;
        job.attempt++;
      }
      return out;
    },
    async complete(requests: CompleteRequest[]): Promise<AckResult[]> {
      return requests.map((r) => ok(r.jobId));
    },
    async fail(requests: FailRequest[]): Promise<AckResult[]> {
      return requests.map((r) => ok(r.jobId));
    },
    async release(leases: LeaseRef[]): Promise<AckResult[]> {
      return leases.map((r) => ok(r.jobId));
    },
    async extendLeases(leases: LeaseRef[], leaseMs: number): Promise<ExtendResult[]> {
      const at = Date.now() + leaseMs;
      return leases.map((l) => ({ jobId: l.jobId, ok: true, leaseExpiresAt: at }));
    },
    async recoverStalled() {
      return [];
    },
  });
  const storage = Object.create(base.storage) as Backend['storage'];
  Object.assign(storage, {
    async init() {},
    async close() {},
    async recordExecutions() {},
    async registerWorker() {},
    async heartbeatWorker() {},
    async deregisterWorker() {},
  });
  const metrics = Object.create(base.metrics) as Backend['metrics'];
  Object.assign(metrics, { async init() {}, async close() {}, async record() {} });
  const events: Backend['events'] = {
    capabilities: DEFAULT_CAPABILITIES,
    async init() {},
    async close() {},
    async publish(batch: ConveyorEvent[]) {
      for (const event of batch) for (const listener of listeners) listener(event);
    },
    subscribe(listener: EventListener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    listenerCount: () => listeners.size,
  };
  return {
    queue,
    storage,
    metrics,
    events,
    load(n: number, payload: unknown) {
      const now = Date.now();
      ready.length = 0;
      head = 0;
      for (let i = 0; i < n; i++) {
        const job = buildJob({ queue: 'bench', type: 'noop', payload }, now, `job-${i}`);
        ready.push({ ...job, state: 'active', token: 0, leaseExpiresAt: now + 30_000 });
      }
    },
  };
}
