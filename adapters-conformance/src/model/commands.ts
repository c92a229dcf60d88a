import assert from 'node:assert/strict';
import { type FinishedState, isConveyorError, type Job, LeaseLostError } from '@conveyor/core';
import type { AsyncCommand } from 'fast-check';
import { ensure, expectConveyorError, fail } from '../harness';
import {
  claimsBefore,
  isDue,
  isFinished,
  isPending,
  isReady,
  jobList,
  MODEL_LEASE_MS,
  MODEL_QUEUES,
  type Model,
  type ModelJob,
  type ModelQueue,
  pick,
  type Real,
  retireToken,
} from './model';

type Cmd = AsyncCommand<Model, Real, false>;
const WORKER = 'model-worker';
const STALLED_CODE = 'STALLED';

/** Assert `job` (from the adapter) has a ready-now runAt, and copy it into the model. */
function syncReadyRunAt(m: Model, target: ModelJob, job: Job, what: string) {
  ensure(job.runAt <= m.now, `${what}: a job made ready must have runAt ≤ now (${job.runAt} > ${m.now})`);
  target.runAt = job.runAt;
  target.requeued = true;
}

/** Whether the adapter accepts a write on an expired (but not yet recovered) lease is not pinned by the contract. */
function leaseIsLive(job: ModelJob, now: number): boolean {
  return job.leaseExpiresAt !== null && job.leaseExpiresAt > now;
}

export class EnqueueCommand implements Cmd {
  constructor(
    readonly queue: ModelQueue,
    readonly delayMs: number,
    readonly priority: number,
    readonly uniqueSlot: number | null,
    readonly maxAttempts: number,
  ) {}
  check() {
    return true;
  }
  async run(m: Model, r: Real) {
    m.seq++;
    const id = `j${m.seq}`;
    // Keys carry the queue name, so the model holds whether an adapter scopes unique keys per queue or globally.
    const uniqueKey = this.uniqueSlot === null ? null : `${this.queue}:u${this.uniqueSlot}`;
    const holder = jobList(m, (j) => uniqueKey !== null && j.uniqueKey === uniqueKey && isPending(j.state))[0];
    const res = await r.backend.queue.enqueue({
      id,
      queue: this.queue,
      type: 'model',
      payload: { seq: m.seq },
      priority: this.priority,
      delayMs: this.delayMs,
      maxAttempts: this.maxAttempts,
      uniqueKey,
    });
    if (holder) {
      assert.deepEqual([res.deduplicated, res.job.id], [true, holder.id], `unique key ${uniqueKey} is held`);
      return;
    }
    const state = this.delayMs > 0 ? 'scheduled' : 'waiting';
    assert.deepEqual(
      [res.deduplicated, res.job.id, res.job.state, res.job.runAt, res.job.attempt],
      [false, id, state, m.now + this.delayMs, 0],
      'a new job',
    );
    m.jobs.set(id, {
      id,
      queue: this.queue,
      seq: m.seq,
      state,
      attempt: 0,
      maxAttempts: this.maxAttempts,
      priority: this.priority,
      runAt: m.now + this.delayMs,
      uniqueKey,
      token: null,
      maxToken: Number.NEGATIVE_INFINITY,
      staleTokens: [],
      leaseExpiresAt: null,
      finishedAt: null,
      requeued: false,
      everCompleted: false,
    });
  }
  toString() {
    return `enqueue(${this.queue}, delay=${this.delayMs}, prio=${this.priority}, unique=${this.uniqueSlot}, max=${this.maxAttempts})`;
  }
}

export class EnqueueSameIdCommand implements Cmd {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>) {
    return m.jobs.size > 0;
  }
  async run(m: Model, r: Real) {
    const target = pick(jobList(m), this.index) as ModelJob;
    const res = await r.backend.queue.enqueue({ id: target.id, queue: target.queue, type: 'model', payload: null });
    assert.deepEqual([res.deduplicated, res.job.id], [true, target.id], 'an existing id is deduplicated');
  }
  toString() {
    return `enqueueSameId(#${this.index})`;
  }
}

export class ClaimCommand implements Cmd {
  constructor(
    readonly queues: readonly ModelQueue[],
    readonly limit: number,
  ) {}
  check() {
    return true;
  }
  async run(m: Model, r: Real) {
    const eligible = jobList(m, (j) => this.queues.includes(j.queue) && !m.paused.has(j.queue) && isReady(j, m.now));
    const claimed = await r.backend.queue.claim({
      queues: [...this.queues],
      workerId: WORKER,
      limit: this.limit,
      leaseMs: MODEL_LEASE_MS,
    });
    assert.equal(claimed.length, Math.min(this.limit, eligible.length), 'claim takes min(limit, ready) jobs');
    const taken = new Set<string>();
    for (const job of claimed) {
      const target = m.jobs.get(job.id);
      ensure(target && eligible.includes(target), `claim returned ${job.id}, which is not ready in the model`);
      ensure(!taken.has(job.id), `claim returned ${job.id} twice`);
      taken.add(job.id);
    }
    for (const job of claimed) {
      const target = m.jobs.get(job.id) as ModelJob;
      const skipped = eligible.find((e) => !taken.has(e.id) && claimsBefore(e, target));
      ensure(!skipped, `claim took ${job.id} but left ${skipped?.id}, which comes first (priority, runAt, insertion)`);
      assert.deepEqual(
        [job.state, job.attempt, job.leaseExpiresAt, job.workerId],
        ['active', target.attempt + 1, m.now + MODEL_LEASE_MS, WORKER],
        `claimed job ${job.id}`,
      );
      ensure(job.token > target.maxToken, `token ${job.token} of ${job.id} must exceed every earlier token`);
      target.state = 'active';
      target.attempt++;
      target.token = job.token;
      target.maxToken = job.token;
      target.leaseExpiresAt = job.leaseExpiresAt;
    }
  }
  toString() {
    return `claim([${this.queues.join(',')}], limit=${this.limit})`;
  }
}

/**
 * Base of the commands that act on an active job's current lease. When no job is active, the command first claims
 * one (as a worker would), so lease operations are not starved by the order fast-check draws commands in.
 */
abstract class LeaseCommand implements Cmd {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>) {
    return jobList(m as Model, (j) => j.state === 'active' || (!m.paused.has(j.queue) && isReady(j, m.now))).length > 0;
  }
  protected async target(m: Model, r: Real): Promise<ModelJob> {
    if (!jobList(m, (j) => j.state === 'active').some(Boolean)) await new ClaimCommand(MODEL_QUEUES, 1).run(m, r);
    return pick(
      jobList(m, (j) => j.state === 'active'),
      this.index,
    ) as ModelJob;
  }
  abstract run(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
}

export class HeartbeatCommand extends LeaseCommand {
  async run(m: Model, r: Real) {
    const t = await this.target(m, r);
    const [res] = await r.backend.queue.extendLeases([{ jobId: t.id, token: t.token as number }], MODEL_LEASE_MS);
    if (leaseIsLive(t, m.now)) ensure(res?.ok, `heartbeat on the live lease of ${t.id} must be accepted`);
    if (res?.ok) {
      assert.equal(res.leaseExpiresAt, m.now + MODEL_LEASE_MS, 'extended to now + leaseMs');
      t.leaseExpiresAt = m.now + MODEL_LEASE_MS;
    } else {
      assert.equal(res?.leaseExpiresAt ?? null, null);
    }
  }
  toString() {
    return `heartbeat(active#${this.index})`;
  }
}

export class ProgressCommand extends LeaseCommand {
  async run(m: Model, r: Real) {
    const t = await this.target(m, r);
    const progress = { step: t.attempt, at: m.now };
    try {
      await r.backend.queue.updateProgress({ jobId: t.id, token: t.token as number }, progress);
    } catch (error) {
      ensure(
        !leaseIsLive(t, m.now) && error instanceof LeaseLostError,
        `updateProgress on the live lease of ${t.id} must be accepted, got ${String(error)}`,
      );
      return;
    }
    assert.deepEqual((await r.backend.queue.getJob(t.id))?.progress, progress, `progress of ${t.id} is stored`);
  }
  toString() {
    return `progress(active#${this.index})`;
  }
}

export class CompleteCommand extends LeaseCommand {
  async run(m: Model, r: Real) {
    const t = await this.target(m, r);
    const [ack] = await r.backend.queue.complete([{ jobId: t.id, token: t.token as number, result: t.seq }]);
    if (leaseIsLive(t, m.now)) ensure(ack?.ok, `complete on the live lease of ${t.id} must be accepted`);
    if (!ack?.ok) return;
    retireToken(t);
    t.state = 'completed';
    t.finishedAt = m.now;
    t.everCompleted = true;
  }
  toString() {
    return `complete(active#${this.index})`;
  }
}

export class FailCommand extends LeaseCommand {
  constructor(
    index: number,
    readonly retryDelayMs: number | null,
  ) {
    super(index);
  }
  async run(m: Model, r: Real) {
    const t = await this.target(m, r);
    // As the runtime does: retry only while attempts remain.
    const delay = t.attempt < t.maxAttempts ? this.retryDelayMs : null;
    const error = { message: `attempt ${t.attempt} failed`, code: 'MODEL', stack: null };
    const [ack] = await r.backend.queue.fail([{ jobId: t.id, token: t.token as number, error, retryDelayMs: delay }]);
    if (leaseIsLive(t, m.now)) ensure(ack?.ok, `fail on the live lease of ${t.id} must be accepted`);
    if (!ack?.ok) return;
    retireToken(t);
    if (delay === null) {
      t.state = 'failed';
      t.finishedAt = m.now;
    } else {
      t.state = 'retrying';
      t.runAt = m.now + delay;
      t.requeued = true;
    }
  }
  toString() {
    return `fail(active#${this.index}, retryDelay=${this.retryDelayMs})`;
  }
}

export class ReleaseCommand extends LeaseCommand {
  async run(m: Model, r: Real) {
    const t = await this.target(m, r);
    const [ack] = await r.backend.queue.release([{ jobId: t.id, token: t.token as number }]);
    if (leaseIsLive(t, m.now)) ensure(ack?.ok, `release of the live lease of ${t.id} must be accepted`);
    if (!ack?.ok) return;
    retireToken(t);
    t.state = 'waiting';
    const job = ack.job ?? (await r.backend.queue.getJob(t.id));
    ensure(job, `released job ${t.id} must still exist`);
    syncReadyRunAt(m, t, job, 'release');
  }
  toString() {
    return `release(active#${this.index})`;
  }
}

export class LoseLeaseCommand extends LeaseCommand {
  async run(m: Model, r: Real) {
    const t = await this.target(m, r);
    const ms = Math.max(0, (t.leaseExpiresAt as number) - m.now + 1);
    r.clock.advance(ms);
    m.now += ms;
  }
  toString() {
    return `loseLease(active#${this.index})`;
  }
}

export class AdvanceTimeCommand implements Cmd {
  constructor(readonly ms: number) {}
  check() {
    return true;
  }
  async run(m: Model, r: Real) {
    r.clock.advance(this.ms);
    m.now += this.ms;
  }
  toString() {
    return `advance(${this.ms})`;
  }
}

export class RecoverStalledCommand implements Cmd {
  check() {
    return true;
  }
  async run(m: Model, r: Real) {
    const active = jobList(m, (j) => j.state === 'active');
    const must = active.filter((j) => (j.leaseExpiresAt as number) < m.now);
    // Expiring exactly now: "expired before store-now" leaves the boundary to the adapter.
    const may = new Set(active.filter((j) => j.leaseExpiresAt === m.now).map((j) => j.id));
    const recovered = await r.backend.queue.recoverStalled();
    const ids = recovered.map((x) => x.job.id);
    assert.equal(new Set(ids).size, ids.length, 'a job is recovered once');
    for (const j of must) ensure(ids.includes(j.id), `${j.id}'s lease expired at ${j.leaseExpiresAt} < now ${m.now}`);
    for (const x of recovered) {
      const t = m.jobs.get(x.job.id);
      ensure(t && (must.includes(t) || may.has(t.id)), `recoverStalled took ${x.job.id}, whose lease is live or gone`);
      assert.deepEqual([x.attempt, x.workerId], [t.attempt, WORKER], `the recovered attempt of ${t.id}`);
      retireToken(t);
      if (t.attempt < t.maxAttempts) {
        assert.equal(x.job.state, 'waiting', `${t.id} has attempts left`);
        t.state = 'waiting';
        syncReadyRunAt(m, t, x.job, 'recoverStalled');
      } else {
        assert.deepEqual([x.job.state, x.job.lastError?.code], ['failed', STALLED_CODE], `${t.id} exhausted`);
        t.state = 'failed';
        t.finishedAt = m.now;
      }
    }
  }
  toString() {
    return 'recoverStalled()';
  }
}

/** Base of the commands that act on any job picked by index. */
abstract class AnyJobCommand implements Cmd {
  constructor(readonly index: number) {}
  check(m: Readonly<Model>) {
    return m.jobs.size > 0;
  }
  protected target(m: Model): ModelJob {
    return pick(jobList(m), this.index) as ModelJob;
  }
  /** Expect INVALID_STATE and an unchanged job. */
  protected async refused(r: Real, t: ModelJob, action: () => Promise<unknown>, what: string) {
    const before = await r.backend.queue.getJob(t.id);
    await expectConveyorError(action, 'INVALID_STATE', `${what} of ${t.id} in state ${t.state}`);
    assert.deepEqual(await r.backend.queue.getJob(t.id), before, `a refused ${what} changes nothing`);
  }
  abstract run(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
}

export class RetryCommand extends AnyJobCommand {
  override check(m: Readonly<Model>) {
    if (m.jobs.size === 0) return false;
    const t = this.target(m as Model);
    // The contract is silent on retrying a job whose unique key another live job took meanwhile: not modelled.
    const clash = jobList(m as Model, (j) => j !== t && t.uniqueKey !== null && j.uniqueKey === t.uniqueKey);
    return !(t.state === 'failed' || t.state === 'cancelled') || !clash.some((j) => isPending(j.state));
  }
  async run(m: Model, r: Real) {
    const t = this.target(m);
    if (t.state !== 'failed' && t.state !== 'cancelled') {
      await this.refused(r, t, () => r.backend.queue.retry(t.id), 'retry');
      return;
    }
    const job = await r.backend.queue.retry(t.id);
    assert.deepEqual([job.state, job.attempt], ['waiting', t.attempt], `retry of ${t.id}`);
    ensure(job.maxAttempts >= t.attempt + 1, 'retry allows one more attempt');
    t.state = 'waiting';
    t.maxAttempts = job.maxAttempts;
    t.finishedAt = null;
    syncReadyRunAt(m, t, job, 'retry');
  }
  toString() {
    return `retry(#${this.index})`;
  }
}

export class PromoteCommand extends AnyJobCommand {
  async run(m: Model, r: Real) {
    const t = this.target(m);
    if (t.state !== 'scheduled' && t.state !== 'retrying') {
      await this.refused(r, t, () => r.backend.queue.promote(t.id), 'promote');
      return;
    }
    try {
      const job = await r.backend.queue.promote(t.id);
      assert.equal(job.state, 'waiting', `promote of ${t.id}`);
      syncReadyRunAt(m, t, job, 'promote');
    } catch (error) {
      // A due job the adapter already moved to waiting by itself may refuse a promote.
      ensure(isDue(t, m.now) && isConveyorError(error, 'INVALID_STATE'), `promote of ${t.id}: ${String(error)}`);
    }
    t.state = 'waiting';
    t.requeued = true;
  }
  toString() {
    return `promote(#${this.index})`;
  }
}

export class CancelCommand extends AnyJobCommand {
  async run(m: Model, r: Real) {
    const t = this.target(m);
    if (!isPending(t.state)) {
      await this.refused(r, t, () => r.backend.queue.cancel(t.id), 'cancel');
      return;
    }
    const job = await r.backend.queue.cancel(t.id);
    assert.deepEqual([job.state, job.leaseExpiresAt], ['cancelled', null], `cancel of ${t.id}`);
    retireToken(t);
    t.state = 'cancelled';
    t.finishedAt = m.now;
  }
  toString() {
    return `cancel(#${this.index})`;
  }
}

export class RemoveCommand extends AnyJobCommand {
  async run(m: Model, r: Real) {
    const t = this.target(m);
    if (t.state === 'active') {
      await this.refused(r, t, () => r.backend.queue.remove(t.id), 'remove');
      return;
    }
    await r.backend.queue.remove(t.id);
    m.jobs.delete(t.id);
    m.removed.set(t.id, { staleTokens: t.staleTokens });
  }
  toString() {
    return `remove(#${this.index})`;
  }
}

export class PauseCommand implements Cmd {
  constructor(
    readonly queue: ModelQueue,
    readonly pause: boolean,
  ) {}
  check() {
    return true;
  }
  async run(m: Model, r: Real) {
    if (this.pause) {
      await r.backend.queue.pause(this.queue);
      m.paused.add(this.queue);
    } else {
      await r.backend.queue.resume(this.queue);
      m.paused.delete(this.queue);
    }
    assert.equal(await r.backend.queue.isPaused(this.queue), this.pause);
  }
  toString() {
    return `${this.pause ? 'pause' : 'resume'}(${this.queue})`;
  }
}

export class CleanCommand implements Cmd {
  constructor(
    readonly queue: ModelQueue,
    readonly state: FinishedState,
    readonly olderThanMs: number,
  ) {}
  check() {
    return true;
  }
  async run(m: Model, r: Real) {
    const doomed = jobList(
      m,
      (j) => j.queue === this.queue && j.state === this.state && m.now - (j.finishedAt as number) >= this.olderThanMs,
    );
    const n = await r.backend.queue.clean({ queue: this.queue, state: this.state, olderThanMs: this.olderThanMs });
    assert.equal(n, doomed.length, `clean(${this.queue}, ${this.state}, ${this.olderThanMs})`);
    for (const j of doomed) {
      ensure(isFinished(j.state), 'only finished jobs are cleaned');
      m.jobs.delete(j.id);
      m.removed.set(j.id, { staleTokens: j.staleTokens });
    }
  }
  toString() {
    return `clean(${this.queue}, ${this.state}, olderThan=${this.olderThanMs})`;
  }
}

export type StaleOp = 'extend' | 'complete' | 'fail' | 'release' | 'progress';

/** Present a token that is not the job's current lease (old, or never issued) and expect a refusal. */
export class StaleWriteCommand implements Cmd {
  constructor(
    readonly index: number,
    readonly op: StaleOp,
  ) {}
  private candidates(m: Model): { id: string; token: number }[] {
    const out: { id: string; token: number }[] = [];
    for (const j of jobList(m)) {
      for (const token of j.staleTokens) out.push({ id: j.id, token });
      if (j.token !== null) out.push({ id: j.id, token: j.token + 1 }); // never issued yet
    }
    for (const [id, { staleTokens }] of m.removed) for (const token of staleTokens) out.push({ id, token });
    return out;
  }
  check(m: Readonly<Model>) {
    return this.candidates(m as Model).length > 0;
  }
  async run(m: Model, r: Real) {
    const { id, token } = pick(this.candidates(m), this.index) as { id: string; token: number };
    const before = await r.backend.queue.getJob(id);
    const lease = { jobId: id, token };
    const refusedAck = [{ jobId: id, ok: false, code: 'LEASE_LOST' }];
    const what = `${this.op} with token ${token} of ${id}`;
    switch (this.op) {
      case 'extend': {
        const [res] = await r.backend.queue.extendLeases([lease], MODEL_LEASE_MS);
        assert.deepEqual([res?.ok, res?.leaseExpiresAt], [false, null], what);
        break;
      }
      case 'complete':
        assert.deepEqual(await r.backend.queue.complete([lease]), refusedAck, what);
        break;
      case 'fail':
        assert.deepEqual(
          await r.backend.queue.fail([
            { ...lease, error: { message: 'stale', code: null, stack: null }, retryDelayMs: 0 },
          ]),
          refusedAck,
          what,
        );
        break;
      case 'release':
        assert.deepEqual(await r.backend.queue.release([lease]), refusedAck, what);
        break;
      case 'progress':
        try {
          await r.backend.queue.updateProgress(lease, 50);
        } catch (error) {
          ensure(error instanceof LeaseLostError, `${what}: expected LeaseLostError, got ${String(error)}`);
          break;
        }
        fail(`${what}: updateProgress with a stale token must throw LeaseLostError`);
    }
    assert.deepEqual(await r.backend.queue.getJob(id), before, `${what}: a refused write changes nothing`);
  }
  toString() {
    return `staleWrite(#${this.index}, ${this.op})`;
  }
}

export const MODEL_QUEUE_SETS: readonly (readonly ModelQueue[])[] = [['q1'], ['q2'], MODEL_QUEUES];
