import {
  type AckResult,
  type Backend,
  type ClaimRequest,
  type CleanRequest,
  type ConveyorEvent,
  decodeCursor,
  type EventBus,
  type ExecutionRecord,
  encodeCursor,
  type Job,
  type ListJobsQuery,
  type MetricEvent,
  type MetricsAdapter,
  type MetricsQuery,
  type NewJob,
  type Page,
  type QueueAdapter,
  type QueueInfo,
  type RecoveredJob,
  type ScheduleDefinition,
  type StorageAdapter,
  type WorkerInfo,
  type WorkerRecord,
} from '@conveyor/core';

/**
 * `namespaceBackend(backend, 'tenant-a')` — a backend whose queues are stored as `tenant-a/<queue>` in `backend`,
 * so several tenants (or environments) share one Redis or Postgres without seeing each other's queues. Everything
 * coming out is translated back, so callers only ever see their own queue names.
 *
 * This is how a user writes an adapter: wrap (or implement) the four contracts of `@conveyor/core`, then run
 * `@conveyor/adapters-conformance` against it (see test/conformance.test.ts).
 */
export function namespaceBackend(inner: Backend, namespace: string): Backend {
  if (!/^[A-Za-z0-9_.-]+$/.test(namespace)) {
    throw new TypeError('[conveyor] [namespace] the namespace may only contain letters, digits, ".", "_" and "-".');
  }
  const ns = new Namespace(`${namespace}/`);
  return {
    queue: namespacedQueue(inner.queue, ns),
    storage: namespacedStorage(inner.storage, ns),
    metrics: namespacedMetrics(inner.metrics, ns),
    events: namespacedEvents(inner.events, ns),
  };
}

class Namespace {
  constructor(readonly prefix: string) {}
  in = (queue: string) => this.prefix + queue;
  owns = (queue: string | undefined | null) => typeof queue === 'string' && queue.startsWith(this.prefix);
  out = (queue: string) => queue.slice(this.prefix.length);
  job = <T extends { queue: string }>(job: T): T => ({ ...job, queue: this.out(job.queue) });
  newJob = (job: NewJob): NewJob => ({ ...job, queue: this.in(job.queue) });
  /** A job of another namespace is, for this one, a job that does not exist. */
  jobOrNull = <T extends { queue: string }>(job: T | null): T | null =>
    job && this.owns(job.queue) ? this.job(job) : null;
}

function namespacedQueue(q: QueueAdapter, ns: Namespace): QueueAdapter {
  const ack = (results: AckResult[]) =>
    results.map((r) => (r.ok && r.job ? { ...r, job: ns.job(r.job) } : r)) as AckResult[];
  const schedule = (s: ScheduleDefinition): ScheduleDefinition => ({ ...s, name: ns.out(s.name), job: ns.job(s.job) });
  return {
    capabilities: q.capabilities,
    init: () => q.init(),
    close: () => q.close(),
    now: () => q.now(),
    enqueue: async (job) => {
      const r = await q.enqueue(ns.newJob(job));
      return { ...r, job: ns.job(r.job) };
    },
    enqueueMany: async (jobs) => (await q.enqueueMany(jobs.map(ns.newJob))).map((r) => ({ ...r, job: ns.job(r.job) })),
    claim: async (request: ClaimRequest) =>
      (await q.claim({ ...request, queues: request.queues.map(ns.in) })).map(ns.job),
    extendLeases: (leases, leaseMs) => q.extendLeases(leases, leaseMs),
    updateProgress: (lease, progress) => q.updateProgress(lease, progress),
    complete: async (requests) => ack(await q.complete(requests)),
    fail: async (requests) => ack(await q.fail(requests)),
    release: async (leases) => ack(await q.release(leases)),
    recoverStalled: async (options) =>
      (await q.recoverStalled(options))
        .filter((r) => ns.owns(r.job.queue))
        .map((r): RecoveredJob => ({ ...r, job: ns.job(r.job) })),
    getJob: async (id) => ns.jobOrNull(await q.getJob(id)),
    listJobs: (query) => listOwnJobs(q, ns, query),
    counts: async (queue) => {
      const all = await q.counts(queue === undefined ? undefined : ns.in(queue));
      return Object.fromEntries(
        Object.entries(all)
          .filter(([name]) => ns.owns(name))
          .map(([n, c]) => [ns.out(n), c]),
      );
    },
    listQueues: async () =>
      (await q.listQueues()).filter((i) => ns.owns(i.name)).map((i): QueueInfo => ({ ...i, name: ns.out(i.name) })),
    retry: async (id) => ns.job(await q.retry(await ownId(q, ns, id))),
    retryFailed: (queue, limit) => q.retryFailed(ns.in(queue), limit),
    promote: async (id) => ns.job(await q.promote(await ownId(q, ns, id))),
    cancel: async (id) => ns.job(await q.cancel(await ownId(q, ns, id))),
    remove: async (id) => q.remove(await ownId(q, ns, id)),
    clean: (request: CleanRequest) => q.clean({ ...request, queue: ns.in(request.queue) }),
    pause: (queue) => q.pause(ns.in(queue)),
    resume: (queue) => q.resume(ns.in(queue)),
    isPaused: (queue) => q.isPaused(ns.in(queue)),
    upsertSchedule: async (s) => schedule(await q.upsertSchedule({ ...s, name: ns.in(s.name), job: ns.newJob(s.job) })),
    listSchedules: async () => (await q.listSchedules()).filter((s) => ns.owns(s.name)).map(schedule),
    removeSchedule: (name) => q.removeSchedule(ns.in(name)),
    fireSchedule: async (name, fireAt, nextRunAt, job) => {
      const r = await q.fireSchedule(ns.in(name), fireAt, nextRunAt, ns.newJob(job));
      return r && { ...r, job: ns.job(r.job) };
    },
  };
}

/** An id of another namespace's job must behave as unknown: let the inner adapter say NOT_FOUND for it. */
async function ownId(q: QueueAdapter, ns: Namespace, id: string): Promise<string> {
  const job = await q.getJob(id);
  return job && !ns.owns(job.queue) ? `\u0000not-in-namespace:${id}` : id;
}

/**
 * With a queue filter the inner adapter does all the work. Without one, the inner pages hold other namespaces'
 * jobs too: filter them out and refill, keeping our own cursor as (inner cursor of the page, items to skip in it).
 */
async function listOwnJobs(q: QueueAdapter, ns: Namespace, query: ListJobsQuery): Promise<Page<Job>> {
  if (query.queue !== undefined) {
    const page = await q.listJobs({ ...query, queue: ns.in(query.queue) });
    return { items: page.items.map(ns.job), nextCursor: page.nextCursor };
  }
  let [innerCursor, skip] = query.cursor ? decodeCursor(query.cursor, ['string', 'number'] as const) : ['', 0];
  const items: Job[] = [];
  for (;;) {
    const page = await q.listJobs({ ...query, cursor: innerCursor || null });
    const own = page.items.filter((j) => ns.owns(j.queue)).slice(skip);
    const room = query.limit - items.length;
    if (own.length > room) {
      items.push(...own.slice(0, room).map(ns.job));
      return { items, nextCursor: encodeCursor([innerCursor, skip + room]) };
    }
    items.push(...own.map(ns.job));
    if (page.nextCursor === null) return { items, nextCursor: null };
    innerCursor = page.nextCursor;
    skip = 0;
    if (items.length === query.limit) return { items, nextCursor: encodeCursor([innerCursor, 0]) };
  }
}

function namespacedStorage(s: StorageAdapter, ns: Namespace): StorageAdapter {
  const worker = (w: WorkerRecord): WorkerRecord => ({ ...w, queues: w.queues.map(ns.out) });
  const ownWorker = (w: WorkerRecord) => w.queues.some(ns.owns);
  return {
    capabilities: s.capabilities,
    init: () => s.init(),
    close: () => s.close(),
    recordExecutions: (records) => s.recordExecutions(records.map((r) => ({ ...r, queue: ns.in(r.queue) }))),
    listExecutions: async (jobId, query) => {
      const page = await s.listExecutions(jobId, query);
      return { items: page.items.filter((r) => ns.owns(r.queue)).map(ns.job), nextCursor: page.nextCursor };
    },
    summarizeExecutions: (jobId) => s.summarizeExecutions(jobId),
    recentExecutions: async (query) => {
      if (query.queue !== undefined)
        return (await s.recentExecutions({ ...query, queue: ns.in(query.queue) })).map(ns.job);
      // No cursor here: over-fetch up to the contract's maximum and keep ours.
      const rows: ExecutionRecord[] = await s.recentExecutions({ ...query, limit: 1000 });
      return rows
        .filter((r) => ns.owns(r.queue))
        .slice(0, query.limit)
        .map(ns.job);
    },
    cleanupExecutions: (before) => s.cleanupExecutions(before),
    registerWorker: (info: WorkerInfo) => s.registerWorker({ ...info, queues: info.queues.map(ns.in) }),
    heartbeatWorker: (id, stats) => s.heartbeatWorker(id, stats),
    listWorkers: async () => (await s.listWorkers()).filter(ownWorker).map(worker),
    deregisterWorker: (id) => s.deregisterWorker(id),
    pruneWorkers: (before) => s.pruneWorkers(before),
  };
}

function namespacedMetrics(m: MetricsAdapter, ns: Namespace): MetricsAdapter {
  /**
   * Queries without a queue filter become one query per queue of this namespace that has data in the period.
   * The queue registry is not enough: metrics may exist for a queue that never held a job here.
   */
  const ownQueues = async (query: MetricsQuery) => {
    const { queue: _all, ...period } = query;
    const rows = await m.totals({ ...period, groupBy: 'queue' });
    return rows.map((r) => r.key).filter((key): key is string => ns.owns(key));
  };
  return {
    capabilities: m.capabilities,
    init: () => m.init(),
    close: () => m.close(),
    record: (events: MetricEvent[]) => m.record(events.map((e) => ({ ...e, queue: ns.in(e.queue) }))),
    series: async (query: MetricsQuery) => {
      if (query.queue !== undefined) return m.series({ ...query, queue: ns.in(query.queue) });
      const { mergeBuckets } = await import('./merge');
      return mergeBuckets(await Promise.all((await ownQueues(query)).map((queue) => m.series({ ...query, queue }))));
    },
    totals: async (query) => {
      if (query.queue !== undefined) {
        const rows = await m.totals({ ...query, queue: ns.in(query.queue) });
        return query.groupBy === 'queue' ? rows.map((r) => ({ ...r, key: r.key && ns.out(r.key) })) : rows;
      }
      const { mergeTotals } = await import('./merge');
      const perQueue = await Promise.all(
        (await ownQueues(query)).map(async (queue) => {
          const rows = await m.totals({ ...query, queue });
          return query.groupBy === 'queue' ? rows.map((r) => ({ ...r, key: ns.out(queue) })) : rows;
        }),
      );
      return mergeTotals(perQueue.flat(), query.groupBy !== undefined);
    },
    prune: (now) => m.prune(now),
  };
}

function namespacedEvents(bus: EventBus, ns: Namespace): EventBus {
  const subscriptions = new Set<() => void>();
  return {
    capabilities: bus.capabilities,
    init: () => bus.init(),
    close: () => bus.close(),
    publish: (events: ConveyorEvent[]) =>
      bus.publish(events.map((e) => (e.queue === undefined ? e : { ...e, queue: ns.in(e.queue) }))),
    subscribe: (listener) => {
      const unsubscribe = bus.subscribe((event) => {
        if (event.queue === undefined) listener(event);
        else if (ns.owns(event.queue)) listener({ ...event, queue: ns.out(event.queue) });
      });
      const done = () => {
        subscriptions.delete(done);
        unsubscribe();
      };
      subscriptions.add(done);
      return done;
    },
    listenerCount: () => subscriptions.size,
  };
}
