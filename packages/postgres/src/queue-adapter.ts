import type {
  AckResult,
  AdapterCapabilities,
  ClaimedJob,
  ClaimRequest,
  CleanRequest,
  CompleteRequest,
  ConveyorEvent,
  EnqueueCallOptions,
  EnqueueResult,
  ExtendResult,
  FailRequest,
  Job,
  JobError,
  JobState,
  LeaseRef,
  ListJobsQuery,
  NewJob,
  Page,
  QueueAdapter,
  QueueInfo,
  RecoveredJob,
  RetentionOption,
  ScheduleDefinition,
  StateCounts,
} from '@conveyor/core';
import {
  ConveyorError,
  conveyorMessage,
  decodeCursor,
  encodeCursor,
  invalidState,
  JOB_STATES,
  LeaseLostError,
  notFound,
  STALLED_ERROR,
} from '@conveyor/core';
import type { Queryable } from './context';
import { COUNTED_MARK, PgContext } from './context';
import { canClash, insertJobs } from './enqueue';
import { notifyEvents } from './event-bus';
import { type AckSidePlan, ackSidePlan, ackSideSql, adapterEventId, afterAck, leaseKey } from './inline';
import type { PostgresOptions } from './options';
import { COMPONENT, checkLimit, closedError, POSTGRES_CAPABILITIES, validationError } from './options';
import type { RetentionSubject } from './retention';
import { applyRetention } from './retention';
import type { JobRow } from './rows';
import {
  CLAIM_PRIORITY,
  CLAIM_RETENTION,
  CLAIM_RUN_AT,
  CLAIM_SEQ,
  claimColumns,
  claimedFromArray,
  isJobState,
  JOB_COLUMNS,
  jobColumns,
  jsonParam,
  RETENTION,
  toJob,
  validateNewJob,
} from './rows';
import { scheduleSql, toSchedule, validateSchedule } from './schedules';

const DEFAULT_RECOVER_LIMIT = 1000;

/**
 * Keeps a heartbeat (`extendLeases`) apart from the acks of the same process. Both lock the rows of one worker's
 * active jobs, each in the order its plan reaches them (index order, or heap order for a bitmap scan), so a heartbeat
 * over every lease and an ack of some of them could lock two rows in opposite orders and deadlock (Postgres then
 * fails one after `deadlock_timeout`). Acks share the gate with each other (their leases are disjoint); a heartbeat
 * waits for the acks in flight, holds back new ones while it runs, and lets them go. A heartbeat runs every few
 * seconds, so acks wait at most one short statement now and then.
 */
class LeaseGate {
  private acks = 0;
  private heartbeat: Promise<void> | null = null;
  private drained: (() => void) | null = null;

  async ack<T>(run: () => Promise<T>): Promise<T> {
    while (this.heartbeat !== null) await this.heartbeat;
    this.acks++;
    try {
      return await run();
    } finally {
      this.acks--;
      if (this.acks === 0 && this.drained !== null) this.drained();
    }
  }

  async alone<T>(run: () => Promise<T>): Promise<T> {
    while (this.heartbeat !== null) await this.heartbeat;
    let done!: () => void;
    this.heartbeat = new Promise<void>((resolve) => {
      done = resolve;
    });
    try {
      if (this.acks > 0) {
        await new Promise<void>((resolve) => {
          this.drained = resolve;
        });
        this.drained = null;
      }
      return await run();
    } finally {
      this.heartbeat = null;
      done();
    }
  }
}
const DEFAULT_CLEAN_LIMIT = 1000;
/** Rows one retention/clean/retryFailed statement touches at most: short statements, short locks. */
export const BATCH = 1000;
/** Due delayed jobs a claim considers at most, ordered by due time, before ranking them by priority. */
const DUE_WINDOW = 1000;
/** Counter deltas folded into totals by one statement. */
const FOLD_BATCH = 10_000;
const PENDING = `('waiting','scheduled','retrying','active')`;

/** Options of an enqueue: the core's (side effects) plus a caller's transaction. */
export interface EnqueueOptions extends EnqueueCallOptions {
  /**
   * Run the insert on this client — typically inside your own `BEGIN … COMMIT` — instead of the adapter's pool: the
   * job exists only if your transaction commits, and its `job.enqueued` event is delivered only then.
   * @default undefined (the adapter's pool, autocommit)
   */
  client?: Queryable;
}

/** The enqueue half of the adapter bound to one client: what {@link PostgresQueueAdapter.withClient} returns. */
export interface TransactionalEnqueuer {
  enqueue(job: NewJob): Promise<EnqueueResult>;
  enqueueMany(jobs: NewJob[]): Promise<EnqueueResult[]>;
}

function zeroCounts(): StateCounts {
  return { waiting: 0, scheduled: 0, retrying: 0, active: 0, completed: 0, failed: 0, cancelled: 0 };
}

/** Claim order of two {@link claimColumns} rows: priority first, then due time, then insertion order. */
function byClaimOrder(a: unknown[], b: unknown[]): number {
  return (
    (b[CLAIM_PRIORITY] as number) - (a[CLAIM_PRIORITY] as number) ||
    (a[CLAIM_RUN_AT] as number) - (b[CLAIM_RUN_AT] as number) ||
    (a[CLAIM_SEQ] as number) - (b[CLAIM_SEQ] as number)
  );
}

function isUniqueViolation(error: unknown): boolean {
  return (error as { cause?: { code?: unknown } } | null)?.cause?.code === '23505';
}

/**
 * The end of an acknowledgement statement: the rows of `removed` and `done`; with side effects (see `ackSideSql`)
 * also their CTEs, which the last column forces to run.
 */
function ackTail(S: string, side: { ctes: string } | null, removal = true): string {
  const rows = removal
    ? 'SELECT id, token, NULL AS rule_queue, NULL::jsonb AS rule FROM removed UNION ALL SELECT id, token, rule_queue, rule FROM done'
    : 'SELECT id, token, rule_queue, rule FROM done';
  // The statement counts its own changes (t carries COUNTED_MARK): every changed lease leaves active, the updated
  // ones enter their new state.
  const cnt = `cnt AS (
  INSERT INTO ${S}.count_deltas (queue, state, delta)
  SELECT queue, 'active', -count(*) FROM (${removal ? 'SELECT queue FROM removed UNION ALL ' : ''}SELECT queue FROM done) x
  GROUP BY queue
  UNION ALL
  SELECT queue, state, count(*) FROM done GROUP BY queue, state
)`;
  if (side === null) return `,\n${cnt}\n${rows}`;
  return `,
${cnt},
ok AS (${removal ? 'SELECT id, token FROM removed UNION ALL ' : ''}SELECT id, token FROM done),
${side.ctes}
${rows}`;
}

/**
 * The "lease still held" test of every lease write, `state = 'active'` in a form the planner cannot match with the
 * predicate of the partial index `jobs_leases`. Matched, a generic plan may AND a bitmap scan of that whole index
 * with the primary-key lookups. A bitmap scan never marks index entries of dead row versions, and every processed
 * job leaves one in `jobs_leases` until vacuum, so each ack read every lease taken since the last vacuum: measured,
 * 4,900 entries per ack after 5,000 jobs, and processing slowed down as a run went on.
 */
const LEASE_HELD = "coalesce(j.state = 'active', false)";

/** 2025-01-01T00:00:00Z in ms: the start of the time part of lease tokens. */
const TOKEN_EPOCH_MS = 1_735_689_600_000;

/**
 * A claimed row's new fencing token: the store's clock in ms since {@link TOKEN_EPOCH_MS} times 4096, plus the next
 * value of the `lease_tokens` sequence modulo 4096, read when the row is updated; never below the row's last token + 1.
 *
 * The claim commits without waiting for its WAL flush (unless `durableRecords`): a claim lost to a server crash only
 * puts the job back, to run again, as a crashed worker would. A sequence alone could then repeat tokens (its state is
 * in the same lost WAL), and the worker still holding the lost claim would find its token on the job's next lease.
 * The time part rules that out: the server is back only after the crash's millisecond has passed. Within one
 * millisecond the sequence part tells tokens apart (4096 claimed rows in one millisecond are far beyond one server),
 * and the floor keeps every job's tokens increasing even if the clock is set back. Tokens stay below 2^53 (exact in a
 * JavaScript number) until 2094.
 */
function leaseToken(S: string): string {
  return `greatest(j.token + 1, (floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint - ${TOKEN_EPOCH_MS}) * 4096 + nextval('${S}.lease_tokens') % 4096)`;
}

/** Leases of removable jobs remembered at most (see `PostgresQueueAdapter.removable`); past it the hint starts over. */
const MAX_REMOVABLE_HINTS = 100_000;

function errorJson(error: JobError): string {
  return JSON.stringify({
    message: String(error?.message ?? ''),
    code: error?.code ?? null,
    stack: error?.stack ?? null,
  });
}

/**
 * {@link QueueAdapter} on Postgres.
 *
 * - Claims lock a batch with `FOR UPDATE SKIP LOCKED` inside `MATERIALIZED` CTEs (the fence: the planner cannot
 *   re-run the LIMIT subquery) and update it in the same statement; concurrent claims never return the same job.
 *   The ordered reads of ready and due jobs are the functions `claim_ready` and `claim_due_window` (migration 10),
 *   whose plan walks the partial index even on a table that was never analyzed.
 * - Every lease write checks `(id, token, state = 'active')`; a token is the store's clock and a sequence (see
 *   `leaseToken`), greater than every earlier token of the job, and claims commit without waiting for the WAL flush.
 * - Acks, heartbeats and releases are one statement per batch (`unnest` of the ids and tokens).
 * - Counts come from counter rows kept by statement-level triggers (see README, "Cost model").
 * - Every time is store-now (`statement_timestamp()`), or the `clock` option when set.
 */
export class PostgresQueueAdapter implements QueueAdapter {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = POSTGRES_CAPABILITIES;
  private readonly ctx: PgContext;
  private readonly gate = new LeaseGate();
  /**
   * Leases this adapter claimed whose job is deleted at once on completion (`removeOnComplete: true`). A completion
   * batch holding none of them runs a statement without the DELETE (which cost a join over the batch and the fired
   * statement trigger, for nothing, on every batch). Only a hint: a lease it does not know (claimed elsewhere, or
   * forgotten) that the statement without DELETE did not complete is tried again with the full statement.
   */
  private readonly removable = new Set<string>();
  private closed = false;

  /** Pass options, or the context shared by a backend's adapters. */
  constructor(options: PostgresOptions | PgContext) {
    this.ctx = options instanceof PgContext ? options : new PgContext(options);
    this.ctx.acquire();
  }

  /** The schema this adapter works in. */
  get schema(): string {
    return this.ctx.schema;
  }

  async init(): Promise<void> {
    this.open();
    await this.ctx.migrate();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.ctx.release();
  }

  async now(): Promise<number> {
    this.open();
    if (this.ctx.clock !== undefined) return this.ctx.clock();
    const rows = await this.ctx.query<{ now: number }>(
      `SELECT ${this.ctx.s}.now_ms(NULL) AS now`,
      [],
      'reading the clock',
    );
    return (rows[0] as { now: number }).now;
  }

  // ---------------------------------------------------------------- enqueue

  /**
   * Enqueue one job. With `options.client` the insert joins the caller's transaction (see {@link EnqueueOptions}).
   */
  async enqueue(job: NewJob, options: EnqueueOptions = {}): Promise<EnqueueResult> {
    this.open();
    validateNewJob(job);
    const [result] = await this.store([job], options);
    return result as EnqueueResult;
  }

  /** Enqueue many atomically (one statement; a transaction when dedupe needs a second look). */
  async enqueueMany(jobs: NewJob[], options: EnqueueOptions = {}): Promise<EnqueueResult[]> {
    this.open();
    if (!Array.isArray(jobs)) throw validationError('enqueueMany takes an array of jobs.');
    for (let i = 0; i < jobs.length; i++) validateNewJob(jobs[i] as NewJob, i);
    if (jobs.length === 0) return [];
    return this.store(jobs, options);
  }

  /**
   * The enqueue methods bound to `client`, for use inside your transaction:
   *
   * ```ts
   * await client.query('BEGIN');
   * await client.query('INSERT INTO orders …');
   * await backend.queue.withClient(client).enqueue({ queue: 'mail', type: 'receipt', payload });
   * await client.query('COMMIT'); // the job exists only from here
   * ```
   */
  withClient(client: Queryable): TransactionalEnqueuer {
    return {
      enqueue: (job) => this.enqueue(job, { client }),
      enqueueMany: (jobs) => this.enqueueMany(jobs, { client }),
    };
  }

  private async store(jobs: NewJob[], options: EnqueueOptions): Promise<EnqueueResult[]> {
    const { client, sideEffects } = options;
    if (sideEffects !== undefined) {
      // Inline history: the metrics in the insert statement. In a caller's transaction the notifications are sent in
      // it, so they go out on its commit and reach this process through LISTEN (never for a rolled-back job); on the
      // pool they are published once the statement (or transaction) committed.
      const events: ConveyorEvent[] | undefined = sideEffects.events ? [] : undefined;
      if (client !== undefined) {
        const results = await insertJobs(this.ctx, jobs, client, { events });
        if (events !== undefined && events.length > 0) await notifyEvents(this.ctx, events, this.ctx.origin, client);
        return results;
      }
      const results =
        jobs.length === 1 || !canClash(jobs)
          ? await insertJobs(this.ctx, jobs, undefined, { events })
          : await this.ctx.transaction('enqueueing jobs', (tx) => insertJobs(this.ctx, jobs, tx, { events }));
      this.ctx.loggedMetrics(results.length);
      if (events !== undefined) this.ctx.notifier().publish(events, true);
      return results;
    }
    if (client !== undefined) {
      const results = await insertJobs(this.ctx, jobs, client);
      // Workers in every process wake on job.enqueued; sent in the caller's transaction, it arrives only on commit.
      const at = await this.now();
      const events = results
        .filter((r) => !r.deduplicated)
        .map((r, i) => ({
          id: `${at.toString(36)}-tx-${r.job.id}-${i}`,
          type: 'job.enqueued' as const,
          timestamp: new Date(at).toISOString(),
          queue: r.job.queue,
          jobId: r.job.id,
          data: { type: r.job.type, state: r.job.state, transactional: true },
        }));
      if (events.length > 0) await notifyEvents(this.ctx, events, 'transaction', client);
      return results;
    }
    // One statement is atomic on its own; a transaction is needed only when a clash may call for a second look.
    if (jobs.length === 1 || !canClash(jobs)) return insertJobs(this.ctx, jobs);
    return this.ctx.transaction('enqueueing jobs', (tx) => insertJobs(this.ctx, jobs, tx));
  }

  // ---------------------------------------------------------------- leases

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    this.open();
    const { limit, leaseMs, workerId } = request;
    if (!Array.isArray(request.queues)) throw validationError('claim needs `queues`, an array of queue names.');
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw validationError('claim needs `leaseMs` > 0.');
    if (!(limit >= 1) || request.queues.length === 0) return [];
    const S = this.ctx.s;
    const types = request.types === undefined ? null : request.types;
    const record = request.recordStart;
    const rows = await this.ctx.queryArrays(
      `WITH t AS MATERIALIZED (SELECT ${S}.now_ms($1::bigint) AS now, ${COUNTED_MARK} FROM ${this.ctx.relaxedCommit}),
qs AS MATERIALIZED (
  SELECT DISTINCT q FROM unnest($2::text[]) AS q
  WHERE NOT EXISTS (SELECT 1 FROM ${S}.queues p WHERE p.name = q AND p.paused)
),
ready AS MATERIALIZED (
  SELECT c.* FROM qs CROSS JOIN LATERAL ${S}.claim_ready(qs.q, $3::integer, $5::text[])
    AS c(ctid, id, priority, run_at, seq, queue, state)
),
due_window AS MATERIALIZED (
  SELECT c.* FROM qs CROSS JOIN t CROSS JOIN LATERAL ${S}.claim_due_window(qs.q, t.now, ${DUE_WINDOW}, $5::text[]) c
),
due AS MATERIALIZED (
  SELECT j.ctid, j.id, j.priority, j.run_at, j.seq, j.queue, j.state FROM ${S}.jobs j
  WHERE j.id IN (SELECT id FROM due_window ORDER BY priority DESC, run_at, seq LIMIT $3)
    AND j.state IN ('scheduled','retrying')
  FOR UPDATE SKIP LOCKED
),
pick AS MATERIALIZED (
  SELECT ctid, id, queue, state FROM (SELECT * FROM ready UNION ALL SELECT * FROM due) u
  ORDER BY priority DESC, run_at, seq LIMIT $3
),
c AS (
UPDATE ${S}.jobs j SET state = 'active', attempt = j.attempt + 1, token = ${leaseToken(S)},
  worker_id = $4, started_at = t.now, lease_expires_at = t.now + $6::bigint
FROM t WHERE j.ctid = ANY (ARRAY(SELECT ctid FROM pick))
RETURNING ${claimColumns('j')}
),
-- Counted from the rows the update changed, not from those picked: claim_ready locks the newest version of a row
-- (its query takes its own snapshot), which this statement's snapshot may not see yet (a job a stalled sweep put
-- back a moment ago); such a row is locked but not updated, and stays where it was.
cnt AS (
  INSERT INTO ${S}.count_deltas (queue, state, delta)
  SELECT queue, state, -count(*) FROM pick WHERE id IN (SELECT id FROM c) GROUP BY queue, state
  UNION ALL
  SELECT queue, 'active', count(*) FROM c GROUP BY queue
)${
        record === undefined
          ? ''
          : `,
met AS (
  INSERT INTO ${S}.metric_log (kinds, queues, types, ats, waits)
  SELECT array_agg('started'::text), array_agg(c.queue), array_agg(c.type), array_agg(c.started_at::double precision),
    array_agg(greatest(0, c.started_at - c.run_at)::double precision)
  FROM c HAVING count(*) > 0
)`
      }
SELECT * FROM c`,
      [this.ctx.nowParam(), request.queues, Math.floor(limit), workerId, types, Math.ceil(leaseMs)],
      'claiming jobs',
      `${record === undefined ? 'claim' : 'claim_inline'}${this.ctx.recordsTag}`,
    );
    // The rows are updated by the ctid their lock returned (a TID scan, no primary-key probe per row): a row locked
    // by this statement cannot change before its update. UPDATE … RETURNING has no order: put the batch back in claim
    // order.
    if (rows.length > 1) rows.sort(byClaimOrder);
    const jobs = rows.map(claimedFromArray);
    for (let i = 0; i < jobs.length; i++) {
      if (((rows[i] as unknown[])[CLAIM_RETENTION] as number) & RETENTION.completeNow) {
        const job = jobs[i] as ClaimedJob;
        if (this.removable.size >= MAX_REMOVABLE_HINTS) this.removable.clear();
        this.removable.add(leaseKey(job.id, job.token));
      }
    }
    if (record !== undefined) this.ctx.loggedMetrics(jobs.length);
    if (record?.events === true && jobs.length > 0) this.publishStarted(jobs, workerId);
    return jobs;
  }

  /** The `job.started` events of a committed claim. */
  private publishStarted(jobs: ClaimedJob[], workerId: string): void {
    this.ctx.notifier().publish(
      jobs.map((job): ConveyorEvent => {
        const at = job.startedAt as number;
        return {
          id: adapterEventId(at, 's', job.token),
          type: 'job.started',
          timestamp: new Date(at).toISOString(),
          queue: job.queue,
          jobId: job.id,
          workerId,
          data: { type: job.type, attempt: job.attempt, maxAttempts: job.maxAttempts },
        };
      }),
    );
  }

  async extendLeases(leases: LeaseRef[], leaseMs: number): Promise<ExtendResult[]> {
    this.open();
    if (!(Number.isFinite(leaseMs) && leaseMs > 0)) throw validationError('extendLeases needs `leaseMs` > 0.');
    if (leases.length === 0) return [];
    return this.gate.alone(() => this.extend(leases, leaseMs));
  }

  private async extend(leases: LeaseRef[], leaseMs: number): Promise<ExtendResult[]> {
    const S = this.ctx.s;
    // Not a prepared statement: planned on every call with the arrays it gets. A cached generic plan guesses ten
    // requests and joins them to the rows by a nested loop, which compares every lease with every other; a worker
    // with 3,900 leases (prefetch, acks in flight) took 886 ms per heartbeat that way, holding its acks back. With
    // the real count the join is a hash join. One heartbeat every few seconds pays the planning.
    const rows = await this.ctx.query<{ id: string; token: number; lease_expires_at: number }>(
      `UPDATE ${S}.jobs j SET lease_expires_at = ${S}.now_ms($1::bigint) + $4::bigint
FROM unnest($2::text[], $3::bigint[]) AS r(id, token)
WHERE j.id = ANY ($2::text[]) AND j.id = r.id AND j.token = r.token AND ${LEASE_HELD}
RETURNING j.id, j.token, j.lease_expires_at`,
      [this.ctx.nowParam(), leases.map((l) => l.jobId), leases.map((l) => l.token), Math.ceil(leaseMs)],
      'extending leases',
    );
    const held = new Map(rows.map((r) => [leaseKey(r.id, r.token), r.lease_expires_at]));
    return leases.map(({ jobId, token }) => {
      const expires = held.get(leaseKey(jobId, token));
      return expires === undefined
        ? { jobId, ok: false, leaseExpiresAt: null }
        : { jobId, ok: true, leaseExpiresAt: expires };
    });
  }

  async updateProgress(lease: LeaseRef, progress: unknown): Promise<void> {
    this.open();
    const rows = await this.ctx.query(
      `UPDATE ${this.ctx.s}.jobs SET progress = $3::jsonb WHERE id = $1 AND token = $2 AND state = 'active' RETURNING 1`,
      [lease.jobId, lease.token, jsonParam(progress, 'progress')],
      'updating progress',
    );
    if (rows.length === 0) throw new LeaseLostError(lease.jobId, COMPONENT);
  }

  // Every lease write names its rows by `j.id = ANY (ids)` as well as by the join with the requests: the rows are
  // found through the primary key whatever the plan (a generic plan made while few jobs were active could otherwise
  // scan every active lease per statement, and acks fall behind as leases pile up).
  async complete(requests: CompleteRequest[]): Promise<AckResult[]> {
    this.open();
    if (requests.length === 0) return [];
    return this.gate.ack(() => this.completeNow(requests));
  }

  private async completeNow(requests: CompleteRequest[]): Promise<AckResult[]> {
    let removal = false;
    for (const r of requests) {
      if (this.removable.delete(leaseKey(r.jobId, r.token))) removal = true;
    }
    const results = await this.completeWith(requests, removal);
    if (removal) return results;
    // Leases the statement without DELETE did not complete: lost, or (claimed by another adapter) removed at once on
    // completion. The full statement settles them; a lease repeated in the batch and completed once is not retried.
    const done = new Set<string>();
    const again: number[] = [];
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i] as CompleteRequest;
      if ((results[i] as AckResult).ok) done.add(leaseKey(r.jobId, r.token));
    }
    for (let i = 0; i < requests.length; i++) {
      const r = requests[i] as CompleteRequest;
      if (!(results[i] as AckResult).ok && !done.has(leaseKey(r.jobId, r.token))) again.push(i);
    }
    if (again.length === 0) return results;
    const retried = await this.completeWith(
      again.map((i) => requests[i] as CompleteRequest),
      true,
    );
    for (let k = 0; k < again.length; k++) results[again[k] as number] = retried[k] as AckResult;
    return results;
  }

  /** One completion statement; `removal`: with the DELETE of jobs removed at once on completion. */
  private async completeWith(requests: CompleteRequest[], removal: boolean): Promise<AckResult[]> {
    const S = this.ctx.s;
    const rule = RETENTION.completeRule;
    const plan = requests.some((r) => r.sideEffects !== undefined) ? ackSidePlan(requests) : null;
    const side = plan === null ? null : ackSideSql(S, 5);
    const rows = await this.ctx.queryArrays(
      `WITH t AS MATERIALIZED (SELECT ${S}.now_ms($1::bigint) AS now, ${COUNTED_MARK}),
r AS (${
        side === null
          ? 'SELECT * FROM unnest($2::text[], $3::bigint[], $4::jsonb[]) AS r(id, token, result)'
          : `SELECT id, token, result${side.select}
  FROM ROWS FROM (unnest($2::text[]), unnest($3::bigint[]), unnest($4::jsonb[])${side.rowsFrom})
  AS r(id, token, result${side.names})`
      }),
${
  removal
    ? `removed AS (
  DELETE FROM ${S}.jobs j USING r
  WHERE j.id = ANY ($2::text[]) AND j.id = r.id AND j.token = r.token AND ${LEASE_HELD} AND (j.retention & ${RETENTION.completeNow}) <> 0
    AND (SELECT counted FROM t) IS NOT NULL
  RETURNING j.id, j.token, j.queue
),
`
    : ''
}done AS (
  UPDATE ${S}.jobs j SET state = 'completed', result = r.result, finished_at = t.now,
    finish_seq = nextval('${S}.finish_order'), lease_expires_at = NULL
  FROM r, t
  WHERE j.id = ANY ($2::text[]) AND j.id = r.id AND j.token = r.token AND ${LEASE_HELD} AND (j.retention & ${RETENTION.completeNow}) = 0
  RETURNING j.id, j.token, CASE WHEN (j.retention & ${rule}) <> 0 THEN j.queue END AS rule_queue,
    CASE WHEN (j.retention & ${rule}) <> 0 THEN j.remove_on_complete END AS rule, j.queue, j.state
)${ackTail(S, side, removal)}`,
      [
        this.ctx.nowParam(),
        requests.map((r) => r.jobId),
        requests.map((r) => r.token),
        requests.map((r) => (r.result === undefined || r.result === null ? null : jsonParam(r.result, 'result'))),
        ...(plan?.params ?? []),
      ],
      'completing jobs',
      `${plan === null ? 'complete' : 'complete_inline'}${removal ? '' : '_kept'}`,
    );
    return this.ackResults(requests, rows, 'completed', plan);
  }

  async fail(requests: FailRequest[]): Promise<AckResult[]> {
    this.open();
    if (requests.length === 0) return [];
    return this.gate.ack(() => this.failNow(requests));
  }

  private async failNow(requests: FailRequest[]): Promise<AckResult[]> {
    for (const r of requests) this.removable.delete(leaseKey(r.jobId, r.token));
    const S = this.ctx.s;
    const now = RETENTION.failNow;
    const rule = RETENTION.failRule;
    const plan = requests.some((r) => r.sideEffects !== undefined) ? ackSidePlan(requests) : null;
    const side = plan === null ? null : ackSideSql(S, 6);
    const rows = await this.ctx.queryArrays(
      `WITH t AS MATERIALIZED (SELECT ${S}.now_ms($1::bigint) AS now, ${COUNTED_MARK}),
r AS (${
        side === null
          ? 'SELECT * FROM unnest($2::text[], $3::bigint[], $4::jsonb[], $5::double precision[]) AS r(id, token, error, delay)'
          : `SELECT id, token, error, delay${side.select}
  FROM ROWS FROM (unnest($2::text[]), unnest($3::bigint[]), unnest($4::jsonb[]), unnest($5::double precision[])${side.rowsFrom})
  AS r(id, token, error, delay${side.names})`
      }),
removed AS (
  DELETE FROM ${S}.jobs j USING r
  WHERE j.id = ANY ($2::text[]) AND j.id = r.id AND j.token = r.token AND ${LEASE_HELD} AND r.delay IS NULL AND (j.retention & ${now}) <> 0
    AND (SELECT counted FROM t) IS NOT NULL
  RETURNING j.id, j.token, j.queue
),
done AS (
  UPDATE ${S}.jobs j SET
    state = CASE WHEN r.delay IS NULL THEN 'failed' ELSE 'retrying' END,
    last_error = r.error,
    lease_expires_at = NULL,
    run_at = CASE WHEN r.delay IS NULL THEN j.run_at ELSE t.now + ceil(greatest(r.delay, 0))::bigint END,
    finished_at = CASE WHEN r.delay IS NULL THEN t.now ELSE j.finished_at END,
    finish_seq = CASE WHEN r.delay IS NULL THEN nextval('${S}.finish_order') ELSE j.finish_seq END
  FROM r, t
  WHERE j.id = ANY ($2::text[]) AND j.id = r.id AND j.token = r.token AND ${LEASE_HELD}
    AND NOT (r.delay IS NULL AND (j.retention & ${now}) <> 0)
  RETURNING j.id, j.token, CASE WHEN r.delay IS NULL AND (j.retention & ${rule}) <> 0 THEN j.queue END AS rule_queue,
    CASE WHEN r.delay IS NULL AND (j.retention & ${rule}) <> 0 THEN j.remove_on_fail END AS rule, j.queue, j.state
)${ackTail(S, side)}`,
      [
        this.ctx.nowParam(),
        requests.map((r) => r.jobId),
        requests.map((r) => r.token),
        requests.map((r) => errorJson(r.error)),
        requests.map((r) => (r.retryDelayMs === null || r.retryDelayMs === undefined ? null : r.retryDelayMs)),
        ...(plan?.params ?? []),
      ],
      'failing jobs',
      plan === null ? 'fail' : 'fail_inline',
    );
    return this.ackResults(requests, rows, 'failed', plan);
  }

  async release(leases: LeaseRef[]): Promise<AckResult[]> {
    this.open();
    if (leases.length === 0) return [];
    return this.gate.ack(() => this.releaseNow(leases));
  }

  private async releaseNow(leases: LeaseRef[]): Promise<AckResult[]> {
    for (const l of leases) this.removable.delete(leaseKey(l.jobId, l.token));
    const S = this.ctx.s;
    // runAt is kept: a released job goes back to the front of its priority, ahead of later work.
    // Releases happen on shutdown, not per job: the job travels back (its runAt is what a caller needs to see).
    const rows = await this.ctx.query<JobRow>(
      `UPDATE ${S}.jobs j SET state = 'waiting', lease_expires_at = NULL
FROM unnest($1::text[], $2::bigint[]) AS r(id, token)
WHERE j.id = ANY ($1::text[]) AND j.id = r.id AND j.token = r.token AND ${LEASE_HELD}
RETURNING ${jobColumns('j')}`,
      [leases.map((l) => l.jobId), leases.map((l) => l.token)],
      'releasing jobs',
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    const results = await this.acks(
      leases,
      rows.map((r) => [r.id, r.token, null, null]),
      null,
    );
    for (const result of results) {
      const row = byId.get(result.jobId);
      if (result.ok && row !== undefined) result.job = toJob(row);
    }
    return results;
  }

  /** The per-request results of an ack statement, then its inline history for the leases it changed. */
  private async ackResults(
    requests: LeaseRef[],
    rows: unknown[][],
    state: 'completed' | 'failed',
    plan: AckSidePlan | null,
  ): Promise<AckResult[]> {
    const results = await this.acks(requests, rows, state);
    if (plan !== null)
      afterAck(
        this.ctx,
        plan,
        results.map((r) => r.ok),
      );
    return results;
  }

  /**
   * Per-request results, then the count/age retention of the queues that just finished jobs. `rows` are
   * `[id, token, rule_queue, rule]`: the leases the statement changed, and for a job with a count/age rule to apply,
   * its queue and rule. Acks carry `job: null` — the runtime keeps the job it claimed — so nothing else travels back.
   */
  private async acks(
    requests: LeaseRef[],
    rows: unknown[][],
    finished: 'completed' | 'failed' | null,
  ): Promise<AckResult[]> {
    const held = new Set<string>();
    const subjects: RetentionSubject[] = [];
    for (const r of rows) {
      held.add(leaseKey(r[0] as string, r[1] as number));
      if (r[2] !== null) subjects.push({ queue: r[2] as string, option: r[3] as RetentionOption });
    }
    const seen = new Set<string>();
    const results = requests.map(({ jobId, token }): AckResult => {
      const key = leaseKey(jobId, token);
      // A lease acknowledged twice in one batch: the first wins, the second finds it no longer held.
      if (!held.has(key) || seen.has(key)) return { jobId, ok: false, code: 'LEASE_LOST' };
      seen.add(key);
      return { jobId, ok: true, job: null };
    });
    if (finished !== null && subjects.length > 0) await applyRetention(this.ctx, finished, subjects);
    return results;
  }

  async recoverStalled(options: { limit?: number } = {}): Promise<RecoveredJob[]> {
    this.open();
    const limit = options.limit ?? DEFAULT_RECOVER_LIMIT;
    if (!Number.isInteger(limit) || limit < 1) return [];
    const S = this.ctx.s;
    // The sweep also folds the counter and metric logs, so reads stay cheap between dashboard visits.
    await this.foldCounts();
    await this.ctx.foldMetrics();
    const rows = await this.ctx.query<JobRow>(
      `WITH t AS MATERIALIZED (SELECT ${S}.now_ms($1::bigint) AS now),
c AS MATERIALIZED (
  SELECT j.id FROM ${S}.jobs j, t WHERE j.state = 'active' AND j.lease_expires_at < t.now
  ORDER BY j.lease_expires_at LIMIT $2 FOR UPDATE OF j SKIP LOCKED
)
UPDATE ${S}.jobs j SET
  state = CASE WHEN j.attempt < j.max_attempts THEN 'waiting' ELSE 'failed' END,
  lease_expires_at = NULL,
  last_error = $3::jsonb,
  finished_at = CASE WHEN j.attempt < j.max_attempts THEN j.finished_at ELSE t.now END,
  finish_seq = CASE WHEN j.attempt < j.max_attempts THEN j.finish_seq ELSE nextval('${S}.finish_order') END
FROM c, t
WHERE j.id = c.id AND j.state = 'active' AND j.lease_expires_at < t.now
RETURNING ${jobColumns('j')}`,
      [this.ctx.nowParam(), limit, JSON.stringify(STALLED_ERROR)],
      'recovering stalled jobs',
    );
    if (rows.length === 0) return [];
    const failedNow = rows.filter((r) => r.state === 'failed' && (r.retention & RETENTION.failNow) !== 0);
    if (failedNow.length > 0) {
      await this.ctx.query(
        `DELETE FROM ${S}.jobs WHERE id = ANY($1::text[]) AND state = 'failed'`,
        [failedNow.map((r) => r.id)],
        'applying retention',
      );
    }
    const ruled = rows.filter((r) => r.state === 'failed' && (r.retention & RETENTION.failRule) !== 0);
    if (ruled.length > 0) {
      await applyRetention(
        this.ctx,
        'failed',
        ruled.map((r) => ({ queue: r.queue, option: r.remove_on_fail })),
      );
    }
    this.ctx.logger.warn(conveyorMessage(COMPONENT, `recovered ${rows.length} stalled job(s).`), {
      jobIds: rows.map((r) => r.id),
    });
    return rows.map((r) => ({ job: toJob(r), workerId: r.worker_id, attempt: r.attempt, startedAt: r.started_at }));
  }

  // ---------------------------------------------------------------- reads

  async getJob(id: string): Promise<Job | null> {
    this.open();
    const rows = await this.ctx.query<JobRow>(
      `SELECT ${JOB_COLUMNS} FROM ${this.ctx.s}.jobs WHERE id = $1`,
      [id],
      'reading a job',
    );
    const row = rows[0];
    return row === undefined ? null : toJob(row);
  }

  async listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    this.open();
    const { limit } = query;
    checkLimit(limit);
    if (query.search !== undefined && query.search !== '') {
      throw new ConveyorError(
        'SEARCH_UNSUPPORTED',
        conveyorMessage(
          COMPONENT,
          'search is not supported by the Postgres adapter (a substring scan over payloads is not cheap at scale). Filter by queue, state and type instead.',
        ),
      );
    }
    if (query.state !== undefined && !isJobState(query.state)) {
      throw validationError(`state must be one of ${JOB_STATES.join(', ')}; got ${String(query.state)}.`);
    }
    const S = this.ctx.s;
    const queues = query.queue === undefined ? await this.knownQueues() : [query.queue];
    const states: readonly JobState[] = query.state === undefined ? JOB_STATES : [query.state];
    const values: unknown[] = [queues, states, limit + 1];
    let filter = '';
    if (query.type !== undefined) {
      values.push(query.type);
      filter += ` AND j.type = $${values.length}`;
    }
    if (query.cursor !== undefined && query.cursor !== null) {
      const [createdAt, id] = decodeCursor(query.cursor, ['number', 'string'] as const);
      values.push(createdAt, id);
      filter += ` AND (j.created_at, j.id) < ($${values.length - 1}::bigint, $${values.length}::text)`;
    }
    // (queue, state, created_at DESC, id DESC) serves every filter with a state but 'active': each (queue, state) pair
    // is a short index range scan, and the pages merge on top. A type without a state walks (queue, type, created_at
    // DESC, id DESC) instead, one range per queue: a type absent from a queue's states costs no scan of those states.
    // Neither list index holds active jobs (a claim would write both, see migration 6): they are read from the
    // partial jobs_leases index, all queues in one scan. Active jobs are at most the leases held by the workers.
    const byType = query.type !== undefined && query.state === undefined;
    const run = (text: string, client?: Queryable) => this.ctx.query<JobRow>(text, values, 'listing jobs', client);
    const active = `(SELECT ${JOB_COLUMNS} FROM ${S}.jobs j
  WHERE j.state = 'active' AND 'active' = ANY ($2::text[]) AND j.queue = ANY ($1::text[])${filter}
  ORDER BY j.created_at DESC, j.id DESC LIMIT $3)`;
    const sql = byType
      ? `(SELECT c.* FROM unnest($1::text[]) AS q(name) CROSS JOIN LATERAL (
  SELECT ${JOB_COLUMNS} FROM ${S}.jobs j
  WHERE j.queue = q.name AND j.state = ANY ($2::text[]) AND j.state <> 'active'${filter}
  ORDER BY j.created_at DESC, j.id DESC LIMIT $3
) c)
UNION ALL
${active}
ORDER BY created_at DESC, id DESC LIMIT $3`
      : `(SELECT c.* FROM unnest($1::text[]) AS q(name) CROSS JOIN unnest($2::text[]) AS st(name) CROSS JOIN LATERAL (
  SELECT ${JOB_COLUMNS} FROM ${S}.jobs j WHERE j.queue = q.name AND j.state = st.name AND j.state <> 'active'${filter}
  ORDER BY j.created_at DESC, j.id DESC LIMIT $3
) c)
UNION ALL
${active}
ORDER BY created_at DESC, id DESC LIMIT $3`;
    // By type, the walk must follow the index order: with statistics not yet caught up (a table just filled) the
    // planner may otherwise fetch every job of the type through a bitmap and sort them.
    const rows = byType
      ? await this.ctx.transaction('listing jobs', async (client) => {
          await client.query('SET LOCAL enable_bitmapscan = off');
          return run(sql, client);
        })
      : await run(sql);
    const more = rows.length > limit;
    const items = (more ? rows.slice(0, limit) : rows).map(toJob);
    const last = items[items.length - 1];
    return { items, nextCursor: more && last !== undefined ? encodeCursor([last.createdAt, last.id]) : null };
  }

  async counts(queue?: string): Promise<Record<string, StateCounts>> {
    this.open();
    await this.foldCounts();
    const S = this.ctx.s;
    const where = queue === undefined ? '' : ' WHERE queue = $1';
    const rows = await this.ctx.query<{ queue: string; state: JobState; n: number }>(
      `SELECT queue, state, sum(n)::bigint AS n FROM (
  SELECT queue, state, n FROM ${S}.queue_counts${where}
  UNION ALL
  SELECT queue, state, delta FROM ${S}.count_deltas${where}
) x GROUP BY queue, state`,
      queue === undefined ? [] : [queue],
      'counting jobs',
    );
    const out: Record<string, StateCounts> = {};
    if (queue !== undefined) out[queue] = zeroCounts();
    for (const r of rows) {
      let counts = out[r.queue];
      if (counts === undefined) {
        counts = zeroCounts();
        out[r.queue] = counts;
      }
      if (isJobState(r.state)) counts[r.state] = r.n;
    }
    return out;
  }

  async listQueues(): Promise<QueueInfo[]> {
    this.open();
    const counts = await this.counts();
    const S = this.ctx.s;
    const names = [...new Set([...Object.keys(counts), ...(await this.knownQueues())])];
    const rows = await this.ctx.query<{ name: string; paused: boolean | null; oldest: number | null }>(
      `SELECT q.name, p.paused, CASE WHEN q.waiting > 0 THEN ${S}.oldest_waiting(q.name) END AS oldest
FROM unnest($1::text[], $2::bigint[]) AS q(name, waiting) LEFT JOIN ${S}.queues p ON p.name = q.name`,
      [names, names.map((n) => counts[n]?.waiting ?? 0)],
      'listing queues',
    );
    return rows
      .map((r) => ({
        name: r.name,
        paused: r.paused === true,
        counts: counts[r.name] ?? zeroCounts(),
        oldestWaitingAt: r.oldest,
      }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Queues that ever held a job or were paused. */
  private async knownQueues(): Promise<string[]> {
    const S = this.ctx.s;
    const rows = await this.ctx.query<{ name: string }>(
      `SELECT DISTINCT queue AS name FROM ${S}.queue_counts
UNION SELECT DISTINCT queue FROM ${S}.count_deltas
UNION SELECT name FROM ${S}.queues`,
      [],
      'listing queues',
    );
    return rows.map((r) => r.name);
  }

  /** Fold the counter log into the totals (a no-op when it is empty). */
  private async foldCounts(): Promise<void> {
    await this.ctx.query(`SELECT ${this.ctx.s}.fold_counts($1)`, [FOLD_BATCH], 'folding counters');
  }

  // ---------------------------------------------------------------- operator actions

  async retry(id: string): Promise<Job> {
    this.open();
    const S = this.ctx.s;
    let rows: JobRow[];
    try {
      rows = await this.ctx.query<JobRow>(
        `UPDATE ${S}.jobs SET state = 'waiting', max_attempts = greatest(max_attempts, attempt + 1),
  run_at = ${S}.now_ms($1::bigint), finished_at = NULL, finish_seq = NULL, result = NULL, lease_expires_at = NULL
WHERE id = $2 AND state IN ('failed','cancelled') RETURNING ${JOB_COLUMNS}`,
        [this.ctx.nowParam(), id],
        'retrying a job',
      );
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw invalidState(
          COMPONENT,
          `job ${id} cannot be retried: another pending job holds its unique key now. Wait until that job finishes.`,
        );
      }
      throw error;
    }
    const row = rows[0];
    if (row !== undefined) return toJob(row);
    const job = await this.mustGet(id);
    throw invalidState(COMPONENT, `job ${id} is ${job.state}; only failed or cancelled jobs can be retried.`);
  }

  async retryFailed(queue: string, limit: number): Promise<number> {
    this.open();
    if (!Number.isInteger(limit) || limit < 0) throw validationError('retryFailed needs an integer limit >= 0.');
    const S = this.ctx.s;
    let moved = 0;
    let after = -1;
    // Oldest failure first, in short batches; a job whose unique key was taken meanwhile stays failed.
    while (moved < limit) {
      const candidates = await this.ctx.query<{ id: string; unique_key: string | null; finish_seq: number }>(
        `SELECT id, unique_key, finish_seq FROM ${S}.jobs
WHERE queue = $1 AND state = 'failed' AND finish_seq > $2 ORDER BY finish_seq LIMIT $3`,
        [queue, after, Math.min(BATCH, limit - moved)],
        'retrying failed jobs',
      );
      if (candidates.length === 0) break;
      after = (candidates[candidates.length - 1] as { finish_seq: number }).finish_seq;
      const keys = new Set<string>();
      const ids: string[] = [];
      for (const c of candidates) {
        if (c.unique_key !== null) {
          if (keys.has(c.unique_key)) continue;
          keys.add(c.unique_key);
        }
        ids.push(c.id);
      }
      moved += await this.requeueFailed(ids);
    }
    return moved;
  }

  /** Failed jobs back to waiting; those whose unique key another pending job holds stay failed. */
  private async requeueFailed(ids: string[]): Promise<number> {
    const S = this.ctx.s;
    const sql = `WITH d AS (
  UPDATE ${S}.jobs j SET state = 'waiting', max_attempts = greatest(j.max_attempts, j.attempt + 1),
    run_at = ${S}.now_ms($1::bigint), finished_at = NULL, finish_seq = NULL, result = NULL, lease_expires_at = NULL
  WHERE j.id = ANY($2::text[]) AND j.state = 'failed' AND (j.unique_key IS NULL OR NOT EXISTS (
    SELECT 1 FROM ${S}.jobs o WHERE o.queue = j.queue AND o.unique_key = j.unique_key AND o.state IN ${PENDING}))
  RETURNING 1
) SELECT count(*)::bigint AS n FROM d`;
    try {
      const rows = await this.ctx.query<{ n: number }>(sql, [this.ctx.nowParam(), ids], 'retrying failed jobs');
      return rows[0]?.n ?? 0;
    } catch (error) {
      // A concurrent enqueue took a unique key between the check and the write: go one by one.
      if (!isUniqueViolation(error) || ids.length === 1) {
        if (isUniqueViolation(error)) return 0;
        throw error;
      }
      let n = 0;
      for (const id of ids) n += await this.requeueFailed([id]);
      return n;
    }
  }

  async promote(id: string): Promise<Job> {
    this.open();
    const S = this.ctx.s;
    const rows = await this.ctx.query<JobRow>(
      `UPDATE ${S}.jobs SET state = 'waiting', run_at = least(run_at, ${S}.now_ms($1::bigint))
WHERE id = $2 AND state IN ('scheduled','retrying') RETURNING ${JOB_COLUMNS}`,
      [this.ctx.nowParam(), id],
      'promoting a job',
    );
    const row = rows[0];
    if (row !== undefined) return toJob(row);
    const job = await this.mustGet(id);
    throw invalidState(COMPONENT, `job ${id} is ${job.state}; only scheduled or retrying jobs can be promoted.`);
  }

  async cancel(id: string): Promise<Job> {
    this.open();
    const S = this.ctx.s;
    // Leaving `active` revokes the lease: every later write with its token is refused.
    const rows = await this.ctx.query<JobRow>(
      `UPDATE ${S}.jobs SET state = 'cancelled', finished_at = ${S}.now_ms($1::bigint),
  finish_seq = nextval('${S}.finish_order'), lease_expires_at = NULL
WHERE id = $2 AND state IN ${PENDING} RETURNING ${JOB_COLUMNS}`,
      [this.ctx.nowParam(), id],
      'cancelling a job',
    );
    const row = rows[0];
    if (row !== undefined) return toJob(row);
    const job = await this.mustGet(id);
    throw invalidState(COMPONENT, `job ${id} is already ${job.state}; only pending or active jobs can be cancelled.`);
  }

  async remove(id: string): Promise<void> {
    this.open();
    const rows = await this.ctx.query(
      `DELETE FROM ${this.ctx.s}.jobs WHERE id = $1 AND state <> 'active' RETURNING 1`,
      [id],
      'removing a job',
    );
    if (rows.length > 0) return;
    await this.mustGet(id);
    throw invalidState(COMPONENT, `job ${id} is active; cancel it first, or wait until it finishes.`);
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
    if (!Number.isFinite(olderThanMs) || olderThanMs < 0) throw validationError('olderThanMs must be a number >= 0.');
    const S = this.ctx.s;
    const cutoff = (await this.now()) - olderThanMs;
    let removed = 0;
    // Batches of at most BATCH rows, each its own short transaction: no long lock on a big table.
    while (removed < limit) {
      const take = Math.min(BATCH, limit - removed);
      const rows = await this.ctx.query<{ n: number }>(
        `WITH d AS (
  DELETE FROM ${S}.jobs WHERE id IN (
    SELECT id FROM ${S}.jobs WHERE queue = $1 AND state = $2 AND coalesce(finished_at, created_at) <= $3
    ORDER BY finish_seq LIMIT $4)
  RETURNING 1
) SELECT count(*)::bigint AS n FROM d`,
        [request.queue, state, cutoff, take],
        'cleaning jobs',
      );
      const n = rows[0]?.n ?? 0;
      removed += n;
      if (n < take) break;
    }
    return removed;
  }

  // ---------------------------------------------------------------- pause

  async pause(queue: string): Promise<void> {
    this.open();
    await this.setPaused(queue, true);
  }

  async resume(queue: string): Promise<void> {
    this.open();
    await this.setPaused(queue, false);
  }

  async isPaused(queue: string): Promise<boolean> {
    this.open();
    const rows = await this.ctx.query<{ paused: boolean }>(
      `SELECT paused FROM ${this.ctx.s}.queues WHERE name = $1`,
      [queue],
      'reading a queue',
    );
    return rows[0]?.paused === true;
  }

  private async setPaused(queue: string, paused: boolean): Promise<void> {
    if (typeof queue !== 'string' || queue.length === 0) throw validationError('queue must be a non-empty string.');
    await this.ctx.query(
      `INSERT INTO ${this.ctx.s}.queues (name, paused) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET paused = excluded.paused`,
      [queue, paused],
      paused ? 'pausing a queue' : 'resuming a queue',
    );
  }

  // ---------------------------------------------------------------- schedules

  async upsertSchedule(schedule: Omit<ScheduleDefinition, 'lastFiredAt'>): Promise<ScheduleDefinition> {
    this.open();
    validateSchedule(schedule);
    const rows = await this.ctx.query<Parameters<typeof toSchedule>[0]>(
      scheduleSql.upsert(this.ctx.s),
      [
        schedule.name,
        schedule.cron,
        schedule.timezone ?? 'UTC',
        jsonParam(schedule.job, 'schedule job'),
        schedule.nextRunAt ?? null,
        schedule.paused ?? false,
      ],
      'saving a schedule',
    );
    return toSchedule(rows[0] as Parameters<typeof toSchedule>[0]);
  }

  async listSchedules(): Promise<ScheduleDefinition[]> {
    this.open();
    const rows = await this.ctx.query<Parameters<typeof toSchedule>[0]>(
      scheduleSql.list(this.ctx.s),
      [],
      'listing schedules',
    );
    return rows.map(toSchedule);
  }

  async removeSchedule(name: string): Promise<boolean> {
    this.open();
    const rows = await this.ctx.query(
      `DELETE FROM ${this.ctx.s}.schedules WHERE name = $1 RETURNING 1`,
      [name],
      'removing a schedule',
    );
    return rows.length > 0;
  }

  async fireSchedule(
    name: string,
    fireAt: number,
    nextRunAt: number | null,
    job: NewJob,
  ): Promise<EnqueueResult | null> {
    this.open();
    validateNewJob(job);
    const S = this.ctx.s;
    // The conditional update takes the schedule's row lock: a concurrent fire of the same tick waits, then sees
    // lastFiredAt >= fireAt and enqueues nothing. The job is inserted in the same transaction.
    return this.ctx.transaction('firing a schedule', async (client) => {
      const fired = await this.ctx.query(
        `UPDATE ${S}.schedules SET last_fired_at = $2, next_run_at = $3
WHERE name = $1 AND (last_fired_at IS NULL OR last_fired_at < $2) RETURNING 1`,
        [name, fireAt, nextRunAt],
        'firing a schedule',
        client,
      );
      if (fired.length === 0) {
        const exists = await this.ctx.query(
          `SELECT 1 FROM ${S}.schedules WHERE name = $1`,
          [name],
          'firing a schedule',
          client,
        );
        if (exists.length === 0) throw notFound(COMPONENT, `schedule ${name}`);
        return null;
      }
      const [result] = await insertJobs(this.ctx, [job], client);
      return result as EnqueueResult;
    });
  }

  // ---------------------------------------------------------------- internals

  private open(): void {
    if (this.closed) throw closedError('Postgres queue adapter');
  }

  private async mustGet(id: string): Promise<Job> {
    const job = await this.getJob(id);
    if (job === null) throw notFound(COMPONENT, `job ${id}`);
    return job;
  }
}
