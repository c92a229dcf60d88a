import type {
  AckResult,
  AdapterCapabilities,
  ClaimedJob,
  ClaimRequest,
  CleanRequest,
  CompleteRequest,
  EnqueueCallOptions,
  EnqueueResult,
  ExtendResult,
  FailRequest,
  Job,
  LeaseRef,
  ListJobsQuery,
  NewJob,
  Page,
  QueueAdapter,
  QueueInfo,
  RecoveredJob,
  ScheduleDefinition,
  StateCounts,
} from '@conveyor/core';
import {
  buildJob,
  conveyorMessage,
  decodeCursor,
  encodeCursor,
  invalidState,
  JOB_STATES,
  LeaseLostError,
  notFound,
  STALLED_ERROR,
} from '@conveyor/core';
import { decodeClaimed, decodeJob, type EncodedJob, encodeNewJob, toJson, validateNewJob } from './codec';
import { RedisConnection } from './connection';
import {
  CLEAN,
  ENQUEUE,
  FIRE_SCHEDULE,
  GET_JOB,
  JOB_ACTION,
  LIST_SCHEDULES,
  MIGRATE_LAYOUT,
  REMOVE_SCHEDULE,
  RETRY_FAILED,
  SET_PAUSED,
  UPSERT_SCHEDULE,
} from './lua/admin';
import { CLAIM, COMPLETE, EXTEND, FAIL, PROGRESS, RECOVER, RELEASE } from './lua/lease';
import { COUNTS, GET_JOBS, LIST_CANDIDATES, LIST_QUEUES } from './lua/read';
import type { RedisBackendOptions } from './options';
import { COMPONENT, checkLimit, closedError, REDIS_CAPABILITIES, redisError, validationError } from './options';
import { completeArgs, enqueueSideFlag, type LeaseHint, pushAckSide } from './side-effects';

const DEFAULT_RECOVER_LIMIT = 1000;
/** Claimed jobs whose queue is remembered for their completion; past this the memory is dropped (it is a hint). */
const MAX_REMEMBERED_LEASES = 100_000;
/** Most single enqueues one coalesced script call carries. */
const COALESCE_MAX = 256;
/** Coalesced enqueue calls in flight at once. */
const COALESCE_IN_FLIGHT = 2;
const DEFAULT_CLEAN_LIMIT = 1000;
const STATE_SET: ReadonlySet<string> = new Set(JOB_STATES);

interface PendingEnqueue {
  job: NewJob;
  encoded: EncodedJob;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

interface EnqueueLane {
  flag: '' | 'm' | 'e';
  pending: PendingEnqueue[];
  inFlight: number;
  scheduled: boolean;
}

/** Resolve on the next turn of the event loop (after the setImmediate callbacks already queued). */
function yieldTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function zeroCounts(): StateCounts {
  return { waiting: 0, scheduled: 0, retrying: 0, active: 0, completed: 0, failed: 0, cancelled: 0 };
}

function toCounts(values: unknown): StateCounts {
  const c = zeroCounts();
  const list = values as (number | string)[];
  JOB_STATES.forEach((s, i) => {
    c[s] = Number(list[i] ?? 0);
  });
  return c;
}

/** Byte order of UTF-8 strings, the order of Redis lex indexes (JS `<` compares UTF-16 code units). */
function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

const pad15 = (n: number) => String(Math.max(0, Math.trunc(n))).padStart(15, '0');

function ack(jobId: string, reply: unknown): AckResult {
  if (reply === 1) return { jobId, ok: true, job: null };
  if (reply === 0 || !Array.isArray(reply)) return { jobId, ok: false, code: 'LEASE_LOST' };
  return { jobId, ok: true, job: reply.length > 1 ? decodeJob(reply[1]) : null };
}

/**
 * {@link QueueAdapter} on Redis. Every operation is one Lua script (atomic, one round trip): a claim takes a whole
 * batch over several queues, acks and heartbeats are batched, and the stalled sweep checks and updates in the same
 * script, so it can never touch a job completed or re-leased meanwhile. Times come from the Redis server (`TIME`),
 * unless a test clock is injected.
 */
export class RedisQueueAdapter implements QueueAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = REDIS_CAPABILITIES;
  private readonly conn: RedisConnection;
  private closed = false;
  /**
   * Queue, type and lease member of each job this adapter claimed, until its completion: saves the completion
   * script an id lookup and most of its reads of the job.
   */
  private readonly leasedQueues = new Map<string, LeaseHint>();
  /** Single enqueues waiting for the call in flight, per side-effect flag (see {@link enqueue}). */
  private readonly lanes = new Map<string, EnqueueLane>();
  /** Coalesced enqueue calls in flight (close waits for them). */
  private readonly sending = new Set<Promise<void>>();
  private draining = false;

  /** Pass options to own a connection, or a {@link RedisConnection} to share one with the other adapters. */
  constructor(options: RedisBackendOptions | RedisConnection = {}) {
    this.conn = options instanceof RedisConnection ? options : new RedisConnection(options);
    this.conn.acquire();
  }

  async init(): Promise<void> {
    this.open();
    await this.conn.checkServer();
    // Data of the previous key layout (active jobs in a state index, a waiting index) is moved once per prefix.
    const moved = Number(await this.conn.run(MIGRATE_LAYOUT, []));
    if (moved > 0) {
      this.conn.logger.info(conveyorMessage(COMPONENT, `moved ${moved} active job(s) to the lease-set layout.`));
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Enqueues already accepted (waiting to be coalesced) still go out before the connection is released.
    this.draining = true;
    for (;;) {
      for (const lane of this.lanes.values()) this.sendLane(lane);
      if (this.sending.size === 0) break;
      await Promise.allSettled([...this.sending]);
    }
    await this.conn.release();
  }

  async now(): Promise<number> {
    this.open();
    return this.conn.now();
  }

  // ---------------------------------------------------------------- enqueue

  /**
   * One job. Single enqueues coalesce: those made in the same turn of the event loop go together in one script call
   * (each job still stored, deduplicated and answered on its own), with at most two such calls in flight, so many
   * concurrent producers cost a few round trips instead of one each, and Redis runs one batch while the next fills.
   */
  async enqueue(job: NewJob, options?: EnqueueCallOptions): Promise<EnqueueResult> {
    this.open();
    const encoded = encodeNewJob(job);
    const flag = enqueueSideFlag(options?.sideEffects);
    let lane = this.lanes.get(flag);
    if (lane === undefined) {
      lane = { flag, pending: [], inFlight: 0, scheduled: false };
      this.lanes.set(flag, lane);
    }
    const target = lane;
    return new Promise<EnqueueResult>((resolve, reject) => {
      target.pending.push({ job, encoded, resolve, reject });
      this.scheduleLane(target);
    });
  }

  private scheduleLane(lane: EnqueueLane): void {
    if (lane.scheduled || lane.inFlight >= COALESCE_IN_FLIGHT) return;
    lane.scheduled = true;
    setImmediate(() => {
      lane.scheduled = false;
      this.sendLane(lane);
    });
  }

  private sendLane(lane: EnqueueLane): void {
    while (lane.pending.length > 0 && (lane.inFlight < COALESCE_IN_FLIGHT || this.draining)) {
      // With nothing in flight, send half now and half right behind it: Redis runs the second while this process
      // answers the first one's callers, whose next enqueues then fill the following call.
      const n = lane.pending.length;
      const size = Math.min(COALESCE_MAX, lane.inFlight === 0 && n > 1 ? Math.ceil(n / 2) : n);
      const batch = lane.pending.slice(0, size);
      lane.pending = lane.pending.slice(size);
      lane.inFlight++;
      const sent: Promise<void> = this.runEnqueue(
        batch.map((p) => p.job),
        batch.map((p) => p.encoded),
        lane.flag,
      ).then(
        (results) => {
          lane.inFlight--;
          for (let i = 0; i < batch.length; i++) (batch[i] as PendingEnqueue).resolve(results[i] as EnqueueResult);
          if (lane.pending.length > 0) this.scheduleLane(lane);
        },
        (error: unknown) => {
          lane.inFlight--;
          for (const p of batch) p.reject(error);
          if (lane.pending.length > 0) this.scheduleLane(lane);
        },
      );
      this.sending.add(sent);
      void sent.finally(() => this.sending.delete(sent));
    }
  }

  async enqueueMany(jobs: NewJob[], options?: EnqueueCallOptions): Promise<EnqueueResult[]> {
    this.open();
    if (!Array.isArray(jobs)) throw validationError('enqueueMany takes an array of jobs.');
    if (jobs.length === 0) return [];
    // Encode (and so validate) every job before sending any: the script itself cannot fail halfway.
    const encoded = jobs.map((job, i) => encodeNewJob(job, jobs.length === 1 ? undefined : i));
    return this.runEnqueue(jobs, encoded, enqueueSideFlag(options?.sideEffects));
  }

  private async runEnqueue(jobs: NewJob[], encoded: EncodedJob[], flag: '' | 'm' | 'e'): Promise<EnqueueResult[]> {
    const args: (string | number)[] = [flag, this.conn.eventStreamMaxLen];
    for (const e of encoded) for (const a of e.args) args.push(a);
    const [now, replies] = (await this.conn.run(ENQUEUE, args)) as [string, unknown[]];
    return this.enqueueResults(jobs, encoded, Number(now), replies);
  }

  private enqueueResults(
    jobs: NewJob[],
    encoded: { id: string; args: string[] }[],
    now: number,
    replies: unknown[],
  ): EnqueueResult[] {
    return jobs.map((input, i) => {
      const reply = replies[i];
      if (Array.isArray(reply)) return { job: decodeJob(reply) as Job, deduplicated: true };
      const e = encoded[i] as { id: string; args: string[] };
      const job = buildJob(input, now, e.id);
      // What was stored, not the caller's object: the same values a later getJob returns.
      job.payload = JSON.parse(e.args[3] as string);
      if (job.meta !== null) job.meta = JSON.parse(e.args[13] as string);
      return { job, deduplicated: false };
    });
  }

  // ---------------------------------------------------------------- leases

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    this.open();
    const { limit, leaseMs, workerId, queues, types } = request;
    if (!Array.isArray(queues)) throw validationError('claim needs `queues`, an array of queue names.');
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw validationError('claim needs `leaseMs` > 0.');
    if (typeof workerId !== 'string') throw validationError('claim needs a `workerId` string.');
    if (!(limit >= 1) || queues.length === 0) return [];
    const rs = request.recordStart === undefined ? '' : request.recordStart.events ? 'e' : 'm';
    const args: (string | number)[] = [
      rs,
      this.conn.eventStreamMaxLen,
      workerId,
      Math.floor(limit),
      leaseMs,
      queues.length,
      ...queues,
    ];
    if (types === undefined) args.push(-1);
    else args.push(types.length, ...types);
    const [now, claimed, base, expires] = (await this.conn.run(CLAIM, args)) as [string, unknown[][], number, string];
    const at = Number(now);
    const until = Number(expires);
    const jobs = decodeClaimed(claimed, base, at, workerId, until);
    if (this.leasedQueues.size > MAX_REMEMBERED_LEASES) this.leasedQueues.clear();
    // Jobs claimed together were mostly enqueued together: pad each distinct createdAt once.
    let createdAt = Number.NaN;
    let padded = '';
    for (const job of jobs) {
      if (job.createdAt !== createdAt) {
        createdAt = job.createdAt;
        padded = pad15(createdAt);
      }
      // '+': its completion has a unique key to release or a retention rule to apply (both fixed at enqueue).
      const full = job.uniqueKey !== null || job.removeOnComplete !== false;
      this.leasedQueues.set(job.id, { queue: job.queue, type: job.type, member: (full ? '+' : '') + padded + job.id });
    }
    return jobs;
  }

  async extendLeases(leases: LeaseRef[], leaseMs: number): Promise<ExtendResult[]> {
    this.open();
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw validationError('extendLeases needs `leaseMs` > 0.');
    if (leases.length === 0) return [];
    const args: (string | number)[] = [leaseMs];
    for (const l of leases) args.push(l.jobId, String(l.token));
    const replies = (await this.conn.run(EXTEND, args)) as (string | number)[];
    return leases.map((l, i) => {
      const r = replies[i];
      const ok = r !== 0 && r !== undefined;
      return { jobId: l.jobId, ok, leaseExpiresAt: ok ? Number(r) : null };
    });
  }

  async updateProgress(lease: LeaseRef, progress: unknown): Promise<void> {
    this.open();
    const reply = await this.conn.run(PROGRESS, [lease.jobId, String(lease.token), toJson(progress, 'progress')]);
    if (reply !== 1) throw new LeaseLostError(lease.jobId, COMPONENT);
  }

  async complete(requests: CompleteRequest[]): Promise<AckResult[]> {
    this.open();
    if (requests.length === 0) return [];
    // Send on the next turn of the event loop: the runtime claims as soon as slots free, in a setImmediate queued
    // before this one, so that claim reaches Redis first and the worker runs the new jobs while Redis writes these
    // completions, instead of waiting for both scripts in turn.
    await yieldTurn();
    const hints: (LeaseHint | undefined)[] = requests.map((r) => {
      const hint = this.leasedQueues.get(r.jobId);
      if (hint !== undefined) this.leasedQueues.delete(r.jobId);
      return hint;
    });
    const args = completeArgs(requests, hints, this.conn.eventStreamMaxLen);
    const replies = (await this.conn.run(COMPLETE, args)) as unknown[];
    return requests.map((r, i) => ack(r.jobId, replies[i]));
  }

  async fail(requests: FailRequest[]): Promise<AckResult[]> {
    this.open();
    if (requests.length === 0) return [];
    const side = requests.some((r) => r.sideEffects !== undefined);
    const args: (string | number)[] = [side ? '1' : '', this.conn.eventStreamMaxLen];
    for (const r of requests) {
      this.leasedQueues.delete(r.jobId);
      const error = { message: r.error.message, code: r.error.code, stack: r.error.stack };
      args.push(
        r.jobId,
        String(r.token),
        toJson(error, 'error'),
        r.retryDelayMs === null ? '' : String(r.retryDelayMs),
      );
      if (side) pushAckSide(args, r.sideEffects);
    }
    const replies = (await this.conn.run(FAIL, args)) as unknown[];
    return requests.map((r, i) => ack(r.jobId, replies[i]));
  }

  async release(leases: LeaseRef[]): Promise<AckResult[]> {
    this.open();
    if (leases.length === 0) return [];
    const args: string[] = [];
    for (const l of leases) {
      this.leasedQueues.delete(l.jobId);
      args.push(l.jobId, String(l.token));
    }
    const replies = (await this.conn.run(RELEASE, args)) as unknown[];
    return leases.map((l, i) => ack(l.jobId, replies[i]));
  }

  async recoverStalled(options: { limit?: number } = {}): Promise<RecoveredJob[]> {
    this.open();
    const limit = options.limit ?? DEFAULT_RECOVER_LIMIT;
    if (!(limit >= 1)) return [];
    const replies = (await this.conn.run(RECOVER, [Math.floor(limit), JSON.stringify(STALLED_ERROR)])) as [
      string | null,
      string,
      string | null,
      unknown[],
    ][];
    const recovered = replies.map(([workerId, attempt, startedAt, flat]) => ({
      job: decodeJob(flat) as Job,
      workerId,
      attempt: Number(attempt),
      startedAt: startedAt === null ? null : Number(startedAt),
    }));
    if (recovered.length > 0) {
      this.conn.logger.warn(conveyorMessage(COMPONENT, `recovered ${recovered.length} stalled job(s).`), {
        jobIds: recovered.map((r) => r.job.id),
      });
    }
    return recovered;
  }

  // ---------------------------------------------------------------- reads

  async getJob(id: string): Promise<Job | null> {
    this.open();
    return decodeJob(await this.conn.run(GET_JOB, [id]));
  }

  async listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    this.open();
    const { limit } = query;
    checkLimit(limit);
    if (query.search !== undefined && query.search !== '') {
      throw redisError(
        'SEARCH_UNSUPPORTED',
        'listJobs({ search }) would scan every payload, so the Redis adapter does not offer it (capabilities.search is false). Filter by queue, state and type instead.',
      );
    }
    if (query.state !== undefined && !STATE_SET.has(query.state)) {
      throw validationError(`state must be one of ${JOB_STATES.join(', ')}; got ${String(query.state)}.`);
    }
    let max = '+';
    if (query.cursor !== undefined && query.cursor !== null) {
      const [createdAt, id] = decodeCursor(query.cursor, ['number', 'string'] as const);
      max = `(${pad15(createdAt)}${id}`;
    }
    const flat = (await this.conn.run(LIST_CANDIDATES, [
      max,
      limit + 1,
      query.queue ?? '',
      query.state ?? '',
      query.type ?? '',
    ])) as string[];
    const candidates: { queue: string; member: string }[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      candidates.push({ queue: flat[i] as string, member: flat[i + 1] as string });
    }
    candidates.sort((a, b) => byteCompare(b.member, a.member));
    const top = candidates.slice(0, limit + 1);
    const args: string[] = [];
    for (const c of top) args.push(c.queue, c.member.slice(15));
    const hashes = top.length === 0 ? [] : ((await this.conn.run(GET_JOBS, args)) as unknown[]);
    const jobs: Job[] = [];
    for (const h of hashes) {
      const job = decodeJob(h);
      if (job !== null) jobs.push(job);
    }
    const more = jobs.length > limit;
    const items = more ? jobs.slice(0, limit) : jobs;
    const last = items[items.length - 1];
    return { items, nextCursor: more && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null };
  }

  async counts(queue?: string): Promise<Record<string, StateCounts>> {
    this.open();
    const flat = (await this.conn.run(COUNTS, [queue ?? ''])) as unknown[];
    const out: Record<string, StateCounts> = {};
    for (let i = 0; i < flat.length; i += 2) out[flat[i] as string] = toCounts(flat[i + 1]);
    if (queue !== undefined) out[queue] ??= zeroCounts();
    return out;
  }

  async listQueues(): Promise<QueueInfo[]> {
    this.open();
    const rows = (await this.conn.run(LIST_QUEUES, [])) as [string, number, unknown, string | null][];
    return rows
      .map(([name, paused, counts, oldest]) => {
        const c = toCounts(counts);
        return {
          name,
          paused: paused === 1,
          counts: c,
          oldestWaitingAt: c.waiting === 0 || oldest === null ? null : Number(oldest),
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  // ---------------------------------------------------------------- operator actions

  async retry(id: string): Promise<Job> {
    return this.jobAction('retry', id, 'only failed or cancelled jobs can be retried');
  }

  async retryFailed(queue: string, limit: number): Promise<number> {
    this.open();
    if (!Number.isInteger(limit) || limit < 0) throw validationError('retryFailed needs an integer limit >= 0.');
    if (limit === 0) return 0;
    return Number(await this.conn.run(RETRY_FAILED, [queue, limit]));
  }

  async promote(id: string): Promise<Job> {
    return this.jobAction('promote', id, 'only scheduled or retrying jobs can be promoted');
  }

  async cancel(id: string): Promise<Job> {
    return this.jobAction('cancel', id, 'only pending or active jobs can be cancelled');
  }

  async remove(id: string): Promise<void> {
    await this.jobAction('remove', id, 'cancel it first, or wait until it finishes');
  }

  private async jobAction(action: 'retry' | 'promote' | 'cancel' | 'remove', id: string, rule: string) {
    this.open();
    const reply = (await this.conn.run(JOB_ACTION, [action, id])) as [string, unknown];
    const [status, detail] = reply;
    if (status === 'missing') throw notFound(COMPONENT, `job ${id}`);
    if (status === 'state') throw invalidState(COMPONENT, `job ${id} is ${String(detail)}; ${rule}.`);
    if (status === 'unique') {
      throw invalidState(
        COMPONENT,
        `job ${id} cannot be retried: job ${String(detail)} holds its unique key now. Wait until that job finishes.`,
      );
    }
    return decodeJob(detail) as Job;
  }

  async clean(request: CleanRequest): Promise<number> {
    this.open();
    const { state } = request;
    if (state !== 'completed' && state !== 'failed' && state !== 'cancelled') {
      throw validationError(`clean acts on completed, failed or cancelled jobs; got ${String(state)}.`);
    }
    const olderThanMs = request.olderThanMs ?? 0;
    const limit = request.limit ?? DEFAULT_CLEAN_LIMIT;
    if (!Number.isInteger(limit) || limit < 0) throw validationError('clean needs an integer limit >= 0.');
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw validationError('clean needs olderThanMs >= 0.');
    return Number(await this.conn.run(CLEAN, [request.queue, state, olderThanMs, limit]));
  }

  // ---------------------------------------------------------------- pause

  async pause(queue: string): Promise<void> {
    this.open();
    await this.conn.run(SET_PAUSED, [queue, '1']);
  }

  async resume(queue: string): Promise<void> {
    this.open();
    await this.conn.run(SET_PAUSED, [queue, '0']);
  }

  async isPaused(queue: string): Promise<boolean> {
    this.open();
    return (await this.conn.client.exists(this.conn.queueKey(queue, 'paused'))) === 1;
  }

  // ---------------------------------------------------------------- schedules

  async upsertSchedule(schedule: Omit<ScheduleDefinition, 'lastFiredAt'>): Promise<ScheduleDefinition> {
    this.open();
    if (typeof schedule.name !== 'string' || schedule.name.length === 0) {
      throw validationError('a schedule needs a non-empty name.');
    }
    if (typeof schedule.cron !== 'string' || schedule.cron.trim().length === 0) {
      throw validationError(`schedule ${schedule.name} needs a cron expression.`);
    }
    validateNewJob(schedule.job);
    const jobJson = toJson(schedule.job, `schedule ${schedule.name} job`);
    const timezone = schedule.timezone ?? 'UTC';
    const nextRunAt = schedule.nextRunAt ?? null;
    const paused = schedule.paused ?? false;
    const lf = (await this.conn.run(UPSERT_SCHEDULE, [
      schedule.name,
      schedule.cron,
      timezone,
      jobJson,
      nextRunAt === null ? '' : String(nextRunAt),
      paused ? '1' : '0',
    ])) as string | null;
    return {
      name: schedule.name,
      cron: schedule.cron,
      timezone,
      job: JSON.parse(jobJson) as NewJob,
      lastFiredAt: lf === null ? null : Number(lf),
      nextRunAt,
      paused,
    };
  }

  async listSchedules(): Promise<ScheduleDefinition[]> {
    this.open();
    const rows = (await this.conn.run(LIST_SCHEDULES, [])) as string[][];
    return rows
      .map((flat) => {
        const h: Record<string, string> = {};
        for (let i = 0; i < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
        return {
          name: h.name as string,
          cron: h.cron as string,
          timezone: h.tz as string,
          job: JSON.parse(h.job as string) as NewJob,
          lastFiredAt: h.lf === undefined ? null : Number(h.lf),
          nextRunAt: h.nr === undefined ? null : Number(h.nr),
          paused: h.paused === '1',
        };
      })
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async removeSchedule(name: string): Promise<boolean> {
    this.open();
    return (await this.conn.run(REMOVE_SCHEDULE, [name])) === 1;
  }

  async fireSchedule(
    name: string,
    fireAt: number,
    nextRunAt: number | null,
    job: NewJob,
  ): Promise<EnqueueResult | null> {
    this.open();
    if (!Number.isFinite(fireAt)) throw validationError('fireSchedule needs fireAt, a time in ms.');
    const encoded = encodeNewJob(job);
    const reply = await this.conn.run(FIRE_SCHEDULE, [
      name,
      String(fireAt),
      nextRunAt === null ? '' : String(nextRunAt),
      ...encoded.args,
    ]);
    if (reply === 'missing') throw notFound(COMPONENT, `schedule ${name}`);
    if (reply === 'fired') return null;
    const [now, dup] = reply as [string, unknown];
    return this.enqueueResults([job], [encoded], Number(now), [dup])[0] as EnqueueResult;
  }

  // ---------------------------------------------------------------- internals

  private open(): void {
    if (this.closed) throw closedError('Redis queue adapter');
  }
}
