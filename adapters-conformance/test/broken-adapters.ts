/**
 * Deliberately broken backends, built by wrapping the memory backend through its public API only. Each reproduces
 * one classic adapter bug; the teeth test proves the suite catches every one of them.
 */
import {
  type ClaimedJob,
  type ClaimRequest,
  createMemoryBackend,
  type Job,
  type QueueAdapter,
  type StateCounts,
} from '@conveyor/core';
import type { BackendFactory } from '../src/index';

type QueueOverrides = Partial<QueueAdapter>;

/** A memory backend whose queue adapter has some methods replaced; `inner` is the healthy adapter underneath. */
function brokenBackend(makeOverrides: (inner: QueueAdapter, clock: () => number) => QueueOverrides): BackendFactory {
  return ({ clock }) => {
    const backend = createMemoryBackend({ clock: clock.now });
    const inner = backend.queue;
    const overrides = makeOverrides(inner, clock.now);
    const queue = new Proxy(inner, {
      get(target, prop, receiver) {
        if (Object.hasOwn(overrides, prop)) return overrides[prop as keyof QueueOverrides];
        const value = Reflect.get(target, prop, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    return { ...backend, queue };
  };
}

/** Remember the last lease handed out per job, as a buggy adapter that caches it would. */
function trackLeases(inner: QueueAdapter) {
  const leases = new Map<string, ClaimedJob>();
  const claim = async (request: ClaimRequest) => {
    const jobs = await inner.claim(request);
    for (const job of jobs) leases.set(job.id, job);
    return jobs;
  };
  return { leases, claim };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Claim as "SELECT ready rows; …; UPDATE them to active" with an await between and no `WHERE state = 'waiting'`
 * on the update: rows another claimer took during the gap are handed out a second time.
 */
export const nonAtomicClaim = brokenBackend((inner) => {
  const { leases, claim } = trackLeases(inner);
  return {
    async claim(request) {
      const read: Job[] = [];
      for (const queue of request.queues) {
        if (await inner.isPaused(queue)) continue;
        read.push(...(await inner.listJobs({ queue, state: 'waiting', limit: 1000 })).items);
      }
      const chosen = read.slice(0, request.limit);
      await tick(); // the gap: another claimer reads the same rows here
      const stillWaiting: Job[] = [];
      const takenMeanwhile: ClaimedJob[] = [];
      for (const job of chosen) {
        const now = await inner.getJob(job.id);
        if (now?.state === 'waiting') stillWaiting.push(now);
        else if (now?.state === 'active' && leases.has(job.id)) takenMeanwhile.push(leases.get(job.id) as ClaimedJob);
      }
      const fresh = stillWaiting.length > 0 ? await claim({ ...request, limit: stillWaiting.length }) : [];
      return [...fresh, ...takenMeanwhile];
    },
  };
});

/** complete() that ignores the presented token and uses whatever lease it last saw for the job. */
export const completeIgnoresToken = brokenBackend((inner) => {
  const { leases, claim } = trackLeases(inner);
  return {
    claim,
    complete: (requests) =>
      inner.complete(requests.map((r) => ({ ...r, token: leases.get(r.jobId)?.token ?? r.token }))),
  };
});

/**
 * recoverStalled() that scans for expired leases and then updates without re-checking the state: a job completed
 * after its lease ran out comes back to life (re-created under its id, waiting again).
 */
export const recoverResurrectsCompleted = brokenBackend((inner, now) => {
  const { leases, claim } = trackLeases(inner);
  return {
    claim,
    async recoverStalled(options) {
      const recovered = await inner.recoverStalled(options);
      for (const [id, lease] of leases) {
        const job = await inner.getJob(id);
        if (job?.state !== 'completed' || lease.leaseExpiresAt >= now()) continue;
        leases.delete(id);
        await inner.remove(id);
        const back = await inner.enqueue({ id, queue: job.queue, type: job.type, payload: job.payload });
        recovered.push({ job: back.job, workerId: lease.workerId, attempt: lease.attempt, startedAt: lease.startedAt });
      }
      return recovered;
    },
  };
});

/** extendLeases() that renews whatever lease it last saw for the job, whatever token it was given. */
export const heartbeatIgnoresToken = brokenBackend((inner) => {
  const { leases, claim } = trackLeases(inner);
  return {
    claim,
    extendLeases: (refs, leaseMs) =>
      inner.extendLeases(
        refs.map((r) => ({ ...r, token: leases.get(r.jobId)?.token ?? r.token })),
        leaseMs,
      ),
  };
});

/**
 * fireSchedule() as check-then-act: read lastFiredAt, await, then enqueue if the read said "not fired yet" — even
 * when another instance fired the tick in between.
 */
export const fireScheduleCheckThenAct = brokenBackend((inner) => ({
  async fireSchedule(name, fireAt, nextRunAt, job) {
    const before = (await inner.listSchedules()).find((s) => s.name === name);
    if (!before || (before.lastFiredAt !== null && before.lastFiredAt >= fireAt)) return null;
    await tick();
    const fired = await inner.fireSchedule(name, fireAt, nextRunAt, job);
    return fired ?? inner.enqueue(job);
  },
}));

/** counts() with an off-by-one in the waiting counter of every queue. */
export const countsOffByOne = brokenBackend((inner) => ({
  async counts(queue) {
    const counts = await inner.counts(queue);
    const skewed: Record<string, StateCounts> = {};
    for (const [name, c] of Object.entries(counts)) skewed[name] = { ...c, waiting: c.waiting + 1 };
    return skewed;
  },
}));

/** The healthy memory backend, as the control group. */
export const healthy: BackendFactory = ({ clock }) => createMemoryBackend({ clock: clock.now });
