import type {
  AckResult,
  AdapterCapabilities,
  ClaimedJob,
  ClaimRequest,
  CleanRequest,
  CompleteRequest,
  EnqueueCallOptions,
  EnqueueResult,
  EnqueueSideEffects,
  ExtendResult,
  FailRequest,
  Job,
  JobState,
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
  ConveyorError,
  decodeCursor,
  encodeCursor,
  FINISHED_STATES,
  invalidState,
  JOB_STATES,
  LeaseLostError,
  notFound,
  payloadJson,
  STALLED_ERROR,
} from '@conveyor/core';
import { SQLITE_CAPABILITIES } from './capabilities';
import { COMPONENT, checkLimit, closedError, sqliteMessage, validationError } from './errors';
import { generatedAbove, generatedBelow, generatedId, generatedSeq } from './ids';
import { InlineWrites } from './inline';
import type { JobRow } from './job-row';
import {
  bySize,
  INSERT_CHUNK,
  INSERT_JOB_SQL,
  insertJobsSql,
  isLean,
  JOB_COLUMNS,
  jobInsertParams,
  leanInsertParams,
  leanInsertSql,
  parseRetention,
  rowToClaimed,
  rowToJob,
  STATE_CODES,
  STATE_OF_CODE,
  sameShape,
  sharedInsertSql,
  toJson,
  validateNewJob,
} from './job-row';
import { checkMetricEvent } from './metrics-adapter';
import { finishedFrom, nextSeq, RetentionPass } from './retention';
import { checkRecord } from './storage-adapter';
import type { SqliteBackendOptions, SqliteStore } from './store';
import { SqlitePart } from './store';

/** Pending states (waiting, scheduled, retrying, active): codes 0-3 (see STATE_CODES). */
const PENDING_TERM = 'state_code <= 3';
/**
 * Claimable states (waiting, scheduled, retrying): codes 0-2. A range, not an IN list, because the ready index's
 * WHERE is evaluated on every insert (see migrations 4 and 8).
 */
const READY_TERM = 'state_code <= 2';

/**
 * `runAt` of the oldest waiting job of a queue, from the ready index: walk the distinct priorities (one seek each),
 * and in each take the first waiting entry in run_at order (`state` is in the index, so entries of due scheduled or
 * retrying jobs before it are skipped without reading rows). Parameters: the queue, three times.
 */
const OLDEST_WAITING_SQL = `WITH RECURSIVE p(v) AS (
    SELECT max(priority) FROM conveyor_jobs INDEXED BY conveyor_jobs_ready WHERE queue = ? AND ${READY_TERM}
    UNION ALL
    SELECT (SELECT max(priority) FROM conveyor_jobs INDEXED BY conveyor_jobs_ready
      WHERE queue = ? AND ${READY_TERM} AND priority < p.v) FROM p WHERE p.v IS NOT NULL
  )
  SELECT min((SELECT run_at FROM conveyor_jobs INDEXED BY conveyor_jobs_ready
    WHERE queue = ? AND ${READY_TERM} AND priority = p.v AND state_code = 0 ORDER BY run_at LIMIT 1))
  FROM p WHERE p.v IS NOT NULL`;

/**
 * One (queue, type, state) range of each list index (migration 8): `conveyor_jobs_list` holds generated-id jobs keyed
 * by seq (their id order), `conveyor_jobs_list_custom` caller-id jobs keyed by the id. The partial indexes' WHERE is
 * repeated so SQLite may use them; INDEXED BY makes the plan a promise (SQLite refuses the statement rather than
 * scan).
 */
const LIST_GENERATED = `SELECT created_at, seq FROM conveyor_jobs INDEXED BY conveyor_jobs_list
  WHERE queue = ? AND type = ? AND state_code = ? AND custom_id IS NULL`;
const LIST_CUSTOM = `SELECT created_at, custom_id, seq FROM conveyor_jobs INDEXED BY conveyor_jobs_list_custom
  WHERE queue = ? AND type = ? AND state_code = ? AND custom_id IS NOT NULL`;

/** A list index key: created at, public id, seq. */
type ListKey = [createdAt: number, id: string, seq: number];

/** Newest first: by created at, then id, both descending. */
function newerFirst(a: ListKey, b: ListKey): number {
  return b[0] - a[0] || (a[1] < b[1] ? 1 : a[1] > b[1] ? -1 : 0);
}

/** The first `want` keys of two newest-first lists. */
function mergeKeys(a: ListKey[], b: ListKey[], want: number): ListKey[] {
  const out: ListKey[] = [];
  let i = 0;
  let j = 0;
  while (out.length < want && (i < a.length || j < b.length)) {
    if (j >= b.length || (i < a.length && newerFirst(a[i] as ListKey, b[j] as ListKey) <= 0))
      out.push(a[i++] as ListKey);
    else out.push(b[j++] as ListKey);
  }
  return out;
}

/** Jobs per UPDATE of a claim (the store caches one prepared statement per size up to this). */
const CLAIM_CHUNK = 100;

/**
 * The claim UPDATE of `n` jobs: parameters worker id, now, lease expiry, then (seq, token) per job. The rows are read
 * back by {@link claimedRowsSql} in the same transaction: measured, that costs ~1 µs a job less than RETURNING every
 * column (which materializes the returned rows before handing them out).
 */
const claimUpdateSql = bySize(
  (n) => `UPDATE conveyor_jobs SET state_code = 3, attempt = attempt + 1, token = v.column2, worker_id = ?,
    started_at = ?, lease_expires_at = ?, finished_at = NULL
    FROM (VALUES ${Array.from({ length: n }, () => '(?, ?)').join(', ')}) AS v
    WHERE conveyor_jobs.seq = v.column1`,
);

/** The rows of `n` seqs (rowid lookups): parameters the seqs. */
const claimedRowsSql = bySize(
  (n) => `SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE seq IN (${Array.from({ length: n }, () => '?').join(', ')})`,
);

/** The seqs of rows whose caller id is one of `n` ids: parameters the ids; rows (custom id, seq) in raw mode. */
const customSeqsSql = bySize(
  (n) =>
    `SELECT custom_id, seq FROM conveyor_jobs WHERE custom_id IN (${Array.from({ length: n }, () => '?').join(', ')})`,
);

/** Requests per UPDATE of a complete batch (one cached statement per size up to this). */
const ACK_CHUNK = 100;

/** The complete UPDATE of `n` jobs: parameters now, then (seq, custom id, token, result, finish order) per job. */
const completeUpdateSql = bySize(
  (n) => `UPDATE conveyor_jobs SET state_code = 4, finished_at = ?, result = v.column4, lease_expires_at = NULL,
    finish_seq = v.column5
    FROM (VALUES ${Array.from({ length: n }, () => '(?, ?, ?, ?, ?)').join(', ')}) AS v
    WHERE conveyor_jobs.seq = v.column1 AND conveyor_jobs.custom_id IS v.column2 AND conveyor_jobs.token = v.column3
      AND conveyor_jobs.state_code = 3
    RETURNING conveyor_jobs.seq, conveyor_jobs.id, conveyor_jobs.queue, conveyor_jobs.remove_on_complete AS rule`,
);

/**
 * Throws `VALIDATION_FAILED` when an ack carries history the store cannot keep (checked before the ack's transaction,
 * so a refused batch changes nothing).
 */
function checkAckSideEffects(requests: ReadonlyArray<CompleteRequest | FailRequest>): void {
  for (let i = 0; i < requests.length; i++) {
    const side = (requests[i] as CompleteRequest | FailRequest).sideEffects;
    if (side === undefined) continue;
    checkRecord(side.record, `request #${i}: execution record`);
    checkMetricEvent(side.metric);
  }
}

function zeroCounts(): StateCounts {
  return { waiting: 0, scheduled: 0, retrying: 0, active: 0, completed: 0, failed: 0, cancelled: 0 };
}

interface ScheduleRow {
  name: string;
  cron: string;
  timezone: string;
  job: string;
  last_fired_at: number | null;
  next_run_at: number | null;
  paused: number;
}

function rowToSchedule(r: ScheduleRow): ScheduleDefinition {
  return {
    name: r.name,
    cron: r.cron,
    timezone: r.timezone,
    job: JSON.parse(r.job) as NewJob,
    lastFiredAt: r.last_fired_at,
    nextRunAt: r.next_run_at,
    paused: r.paused !== 0,
  };
}

/** What complete and fail read back from a row they finished: enough to count it and apply its retention rule. */
interface Acked {
  seq: number;
  queue: string;
  /** Its `remove_on_complete` or `remove_on_fail`, whichever applies. */
  rule: string;
}

/** What a batch complete reads back from each row it finished, in raw mode: seq, id, queue, retention rule. */
type AckedRaw = [seq: number, id: string, queue: string, rule: string];

/** A single enqueue waiting for the shared transaction of its event-loop turn. */
interface PendingEnqueue {
  job: NewJob;
  sideEffects: EnqueueSideEffects | undefined;
  resolve: (result: EnqueueResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Where a job id points: the row's `seq` and the `custom_id` it must hold (null for a generated id). Statements
 * match `seq = ? AND custom_id IS ?`, a rowid lookup.
 */
type JobKey = readonly [seq: number, customId: string | null];

/** A key that matches no row (for an id that names no job). */
const NO_KEY: JobKey = [0, null];

/**
 * Candidate of a claim before the final merge across queues, read in raw mode (an array per row costs a fraction of
 * an object built through better-sqlite3's native API): seq, queue, state, priority, run at.
 */
type Candidate = [seq: number, queue: string, stateCode: number, priority: number, runAt: number];

/**
 * Jobs and their life cycle on SQLite. Every method runs in one transaction; writes use `BEGIN IMMEDIATE`, so a
 * claim's read and update are atomic across every process that opens the same file.
 */
export class SqliteQueueAdapter extends SqlitePart implements QueueAdapter {
  readonly capabilities: AdapterCapabilities = SQLITE_CAPABILITIES;
  /**
   * Rows known to exist (never deleted, so the cache never goes stale): `q\0<queue>` in `conveyor_queues`,
   * `t\0<queue>\0<type>` in `conveyor_job_types`.
   */
  private readonly known = new Set<string>();

  constructor(source?: SqliteStore | SqliteBackendOptions) {
    super(source, 'queue adapter');
  }

  async now(): Promise<number> {
    this.guard();
    return this.store.now();
  }

  /**
   * Single enqueues that arrive in the same turn of the event loop share one transaction (a commit costs more than
   * the insert): each call is queued and the queue is written at `setImmediate`. If that transaction fails, every
   * job is retried in its own transaction, so each caller gets its own result or error.
   */
  async enqueue(job: NewJob, options?: EnqueueCallOptions): Promise<EnqueueResult> {
    this.guard();
    validateNewJob(job);
    return new Promise<EnqueueResult>((resolve, reject) => {
      this.singles.push({ job, sideEffects: options?.sideEffects, resolve, reject });
      if (this.singles.length === 1) setImmediate(() => this.flushSingles());
    });
  }

  private singles: PendingEnqueue[] = [];

  private flushSingles(): void {
    const batch = this.singles;
    if (batch.length === 0) return;
    this.singles = [];
    const one = (p: PendingEnqueue): void => {
      try {
        const added: string[] = [];
        const inline = p.sideEffects === undefined ? null : new InlineWrites(this.store);
        const result = this.store.write(() => {
          const r = this.insertOne(p.job, this.store.now(), added, inline, p.sideEffects?.events === true);
          inline?.write();
          return r;
        });
        for (const k of added) this.known.add(k);
        inline?.deliver();
        p.resolve(result);
      } catch (error) {
        p.reject(error);
      }
    };
    if (this.store.isClosed) {
      for (const p of batch) p.reject(closedError('queue adapter'));
      return;
    }
    if (batch.length === 1) {
      one(batch[0] as PendingEnqueue);
      return;
    }
    let results: EnqueueResult[];
    const added: string[] = [];
    const inline = batch.some((p) => p.sideEffects !== undefined) ? new InlineWrites(this.store) : null;
    try {
      results = this.store.write(() => {
        const now = this.store.now();
        const out = batch.map((p) =>
          this.insertOne(
            p.job,
            now,
            added,
            p.sideEffects === undefined ? null : inline,
            p.sideEffects?.events === true,
          ),
        );
        inline?.write();
        return out;
      });
    } catch {
      for (const p of batch) one(p);
      return;
    }
    for (const k of added) this.known.add(k);
    inline?.deliver();
    batch.forEach((p, i) => {
      p.resolve(results[i] as EnqueueResult);
    });
  }

  /** Enqueues accepted before close are written before the connection is released. */
  protected override onClose(): void {
    this.flushSingles();
  }

  async enqueueMany(jobs: NewJob[], options?: EnqueueCallOptions): Promise<EnqueueResult[]> {
    this.guard();
    if (!Array.isArray(jobs)) throw validationError('enqueueMany takes an array of jobs.');
    for (const [i, job] of jobs.entries()) validateNewJob(job, i);
    if (jobs.length === 0) return [];
    const added: string[] = [];
    const inline = options?.sideEffects === undefined ? null : new InlineWrites(this.store);
    const events = options?.sideEffects?.events === true;
    const results = this.store.write(() => {
      const now = this.store.now();
      const out: EnqueueResult[] = [];
      // Jobs without an id or a unique key cannot be deduplicated: they are collected and written by multi-row
      // INSERTs (one statement per INSERT_CHUNK rows costs a fraction of one statement per row). A job that may be
      // deduplicated first flushes what was collected, so its lookups see every earlier job of the batch.
      let plain: Job[] = [];
      let texts: string[] = [];
      for (const input of jobs) {
        if (input.id === undefined && (input.uniqueKey === undefined || input.uniqueKey === null)) {
          // The id is set once the row has its seq (insertPlain).
          const job = buildJob(input, now, '');
          plain.push(job);
          texts.push(payloadJson(input));
          out.push({ job, deduplicated: false });
          continue;
        }
        if (plain.length > 0) {
          this.insertPlain(plain, texts, added, inline, events);
          plain = [];
          texts = [];
        }
        out.push(this.insertOne(input, now, added, inline, events));
      }
      if (plain.length > 0) this.insertPlain(plain, texts, added, inline, events);
      inline?.write();
      return out;
    });
    for (const k of added) this.known.add(k);
    inline?.deliver();
    return results;
  }

  /**
   * Insert jobs known to be new (generated ids, no unique key): runs of jobs with the same shape (lean or full, see
   * `isLean`), up to INSERT_CHUNK rows per statement, then give each job the id of its seq. Rows of one INSERT get
   * consecutive seqs (AUTOINCREMENT under the write lock), so the last one's rowid gives them all. `payloads[i]` is
   * the JSON of `jobs[i].payload` (`payloadJson`: the runtime's own text when it made one).
   */
  private insertPlain(
    jobs: Job[],
    payloads: string[],
    added: string[],
    inline: InlineWrites | null = null,
    events = false,
  ): void {
    const s = this.store;
    const withEvents = inline !== null && events && inline.wantsEvents();
    let start = 0;
    while (start < jobs.length) {
      const first = jobs[start] as Job;
      const lean = isLean(first);
      let end = start + 1;
      let shared = lean;
      while (end < jobs.length && end - start < INSERT_CHUNK) {
        const job = jobs[end] as Job;
        if (isLean(job) !== lean) break;
        if (shared && !sameShape(first, job)) {
          // A shared run ends where the shape changes; a run of mixed lean rows goes on as per-row lean inserts.
          if (end - start > 1) break;
          shared = false;
        }
        end++;
      }
      if (end - start === 1) shared = false;
      const params: unknown[] = shared
        ? [
            first.queue,
            first.type,
            STATE_CODES[first.state],
            first.priority,
            first.maxAttempts,
            first.createdAt,
            first.runAt,
          ]
        : [];
      for (let i = start; i < end; i++) {
        const job = jobs[i] as Job;
        const payload = payloads[i] as string;
        if (shared) params.push(payload);
        else if (lean) leanInsertParams(job, payload, params);
        else jobInsertParams(job, payload, null, params);
        if (!shared) s.count(job.queue, job.state, 1);
        if (i === start || job.queue !== first.queue || job.type !== first.type) this.note(job, added);
      }
      const n = end - start;
      if (shared) s.count(first.queue, first.state, n);
      const sql = shared ? sharedInsertSql(n) : lean ? leanInsertSql(n) : insertJobsSql(n);
      const last = Number(s.stmt(sql).run(params).lastInsertRowid);
      for (let i = end - 1, seq = last; i >= start; i--) (jobs[i] as Job).id = generatedId(seq--);
      if (inline !== null) {
        if (shared) inline.enqueued(first.queue, first.type, first.createdAt, n);
        for (let i = start; i < end; i++) {
          const job = jobs[i] as Job;
          if (!shared) inline.enqueued(job.queue, job.type, job.createdAt, 1);
          if (withEvents) inline.enqueuedEvent(job, last - (end - 1 - i));
        }
      }
      start = end;
    }
  }

  /**
   * Write the job's queue to `conveyor_queues` and its (queue, type) to `conveyor_job_types` unless known; `added`
   * collects what this transaction wrote, for the cache once it commits.
   */
  private note(job: Job, added: string[]): void {
    const queue = `q\u0000${job.queue}`;
    if (!this.known.has(queue) && !added.includes(queue)) {
      this.store.stmt('INSERT OR IGNORE INTO conveyor_queues (name) VALUES (?)').run(job.queue);
      added.push(queue);
    }
    const pair = `t\u0000${job.queue}\u0000${job.type}`;
    if (!this.known.has(pair) && !added.includes(pair)) {
      this.store.stmt('INSERT OR IGNORE INTO conveyor_job_types (queue, type) VALUES (?, ?)').run(job.queue, job.type);
      added.push(pair);
    }
  }

  /** The key of the job `id` names, or null when it names none (see ids.ts: caller ids are looked up first). */
  private keyOf(id: string): JobKey | null {
    const seq = this.store.stmt('SELECT seq FROM conveyor_jobs WHERE custom_id = ?').pluck().get(id) as
      | number
      | undefined;
    if (seq !== undefined) return [seq, id];
    const generated = generatedSeq(id);
    return generated === null ? null : [generated, null];
  }

  /**
   * {@link keyOf} for the jobs of `requests[start..end)`, with one lookup of caller ids for all of them (a statement
   * per id cost more than the ack's UPDATE of the same ids).
   */
  private keysOf(requests: ReadonlyArray<LeaseRef>, start: number, end: number): Array<JobKey | null> {
    const ids: string[] = [];
    for (let i = start; i < end; i++) ids.push((requests[i] as LeaseRef).jobId);
    const custom = new Map<string, number>();
    for (const [id, seq] of this.store.stmt(customSeqsSql(ids.length)).raw(true).all(ids) as Array<[string, number]>) {
      custom.set(id, seq);
    }
    return ids.map((id): JobKey | null => {
      const seq = custom.get(id);
      if (seq !== undefined) return [seq, id];
      const generated = generatedSeq(id);
      return generated === null ? null : [generated, null];
    });
  }

  /** The row of the job `id` names, if any. */
  private findRow(id: string): JobRow | undefined {
    const key = this.keyOf(id);
    if (key === null) return undefined;
    return this.store.jobStmt(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE seq = ? AND custom_id IS ?`).get(...key);
  }

  /** Insert one job inside the caller's transaction, deduplicating by id, then by live unique key. */
  private insertOne(
    input: NewJob,
    now: number,
    added: string[],
    inline: InlineWrites | null = null,
    events = false,
  ): EnqueueResult {
    const s = this.store;
    if (input.id !== undefined) {
      const existing = this.findRow(input.id);
      if (existing !== undefined) return { job: rowToJob(existing), deduplicated: true };
    }
    if (input.uniqueKey !== undefined && input.uniqueKey !== null) {
      const live = s
        .jobStmt(
          `SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE queue = ? AND unique_key = ? AND unique_key IS NOT NULL AND ${PENDING_TERM}`,
        )
        .get(input.queue, input.uniqueKey) as JobRow | undefined;
      if (live !== undefined) return { job: rowToJob(live), deduplicated: true };
    }
    const job = buildJob(input, now, input.id ?? '');
    const seq = Number(
      s.stmt(INSERT_JOB_SQL).run(jobInsertParams(job, payloadJson(input), input.id ?? null)).lastInsertRowid,
    );
    if (input.id === undefined) job.id = generatedId(seq);
    else {
      // A caller id of the generated form: move the rowid counter past it, so no generated job ever gets this id.
      const named = generatedSeq(input.id);
      if (named !== null && named > seq) {
        s.stmt("UPDATE sqlite_sequence SET seq = ? WHERE name = 'conveyor_jobs' AND seq < ?").run(named, named);
      }
    }
    s.count(job.queue, job.state, 1);
    this.note(job, added);
    if (inline !== null) {
      inline.enqueued(job.queue, job.type, job.createdAt, 1);
      if (events && inline.wantsEvents()) inline.enqueuedEvent(job, seq);
    }
    return { job, deduplicated: false };
  }

  async claim(request: ClaimRequest): Promise<ClaimedJob[]> {
    this.guard();
    const { queues, workerId, limit, leaseMs, types } = request;
    if (!Number.isInteger(limit)) throw validationError('claim limit must be an integer.');
    if (!(typeof leaseMs === 'number' && leaseMs > 0))
      throw validationError('claim leaseMs must be a positive number.');
    if (!Array.isArray(queues)) throw validationError('claim needs `queues`, an array of queue names.');
    if (limit < 1 || queues.length === 0 || (types !== undefined && types.length === 0)) return [];
    const distinct = [...new Set(queues)];
    const typeList = types === undefined ? [] : [...new Set(types)];
    const typeTerm = typeList.length === 0 ? '' : ` AND type IN (${typeList.map(() => '?').join(', ')})`;
    const candidatesSql = `SELECT seq, queue, state_code, priority, run_at FROM conveyor_jobs INDEXED BY conveyor_jobs_ready
      WHERE queue = ? AND ${READY_TERM} AND run_at <= ?${typeTerm} ORDER BY priority DESC, run_at, seq LIMIT ?`;
    const inline = request.recordStart === undefined ? null : new InlineWrites(this.store);
    const claimed = this.store.write(() => {
      const s = this.store;
      const now = s.now();
      let picked: Candidate[] = [];
      const paused = s.stmt('SELECT paused FROM conveyor_queues WHERE name = ?').pluck();
      for (const queue of distinct) {
        if (paused.get(queue) === 1) continue;
        const rows = s
          .stmt(candidatesSql)
          .raw(true)
          .all(queue, now, ...typeList, limit) as Candidate[];
        picked = picked.length === 0 ? rows : picked.concat(rows);
      }
      if (picked.length === 0) return [];
      if (distinct.length > 1) {
        picked.sort((a, b) => b[3] - a[3] || a[4] - b[4] || a[0] - b[0]);
        picked.length = Math.min(picked.length, limit);
      }
      // Tokens come from one store-wide counter: strictly increasing per job even if a job id is removed and reused.
      let token = nextSeq(s, picked.length);
      const expires = now + leaseMs;
      // One UPDATE per CLAIM_CHUNK jobs (seq and token pairs joined from VALUES), not one statement per job.
      const bySeq = new Map<number, JobRow>();
      for (let start = 0; start < picked.length; start += CLAIM_CHUNK) {
        const end = Math.min(picked.length, start + CLAIM_CHUNK);
        const params: unknown[] = [workerId, now, expires];
        const seqs: number[] = [];
        for (let i = start; i < end; i++) {
          const c = picked[i] as Candidate;
          params.push(c[0], token++);
          seqs.push(c[0]);
          this.moved(c[1], STATE_OF_CODE[c[2]] as JobState, 'active');
        }
        s.stmt(claimUpdateSql(end - start)).run(params);
        for (const row of s.jobStmt(claimedRowsSql(end - start)).all(...seqs)) bySeq.set(row.seq, row);
      }
      if (inline !== null) {
        const events = request.recordStart?.events === true && inline.wantsEvents();
        for (const c of picked) inline.started(bySeq.get(c[0]) as JobRow, now, workerId, events);
        inline.write();
      }
      return picked.map((c) => rowToClaimed(bySeq.get(c[0]) as JobRow));
    });
    inline?.deliver();
    return claimed;
  }

  async extendLeases(leases: LeaseRef[], leaseMs: number): Promise<ExtendResult[]> {
    this.guard();
    if (!(typeof leaseMs === 'number' && leaseMs > 0)) throw validationError('leaseMs must be a positive number.');
    if (leases.length === 0) return [];
    return this.store.write(() => {
      const expires = this.store.now() + leaseMs;
      const update = this.store
        .stmt(
          'UPDATE conveyor_jobs SET lease_expires_at = ? WHERE seq = ? AND custom_id IS ? AND token = ? AND state_code = 3 RETURNING lease_expires_at',
        )
        .pluck();
      return leases.map(({ jobId, token }) => {
        const at = update.get(expires, ...(this.keyOf(jobId) ?? NO_KEY), token) as number | undefined;
        return { jobId, ok: at !== undefined, leaseExpiresAt: at ?? null };
      });
    });
  }

  async updateProgress(lease: LeaseRef, progress: unknown): Promise<void> {
    this.guard();
    const changed = this.store.write(
      () =>
        this.store
          .stmt(
            'UPDATE conveyor_jobs SET progress = ? WHERE seq = ? AND custom_id IS ? AND token = ? AND state_code = 3',
          )
          .run(toJson(progress), ...(this.keyOf(lease.jobId) ?? NO_KEY), lease.token).changes,
    );
    if (changed === 0) throw new LeaseLostError(lease.jobId, COMPONENT);
  }

  // complete and fail answer `job: null` (the contract allows it; the runtime keeps the job it claimed): reading
  // the whole row back and parsing its JSON columns cost more than the update itself on the processing path.
  async complete(requests: CompleteRequest[]): Promise<AckResult[]> {
    this.guard();
    if (requests.length === 0) return [];
    checkAckSideEffects(requests);
    const inline = requests.some((r) => r.sideEffects !== undefined) ? new InlineWrites(this.store) : null;
    const acks = this.store.write(() => {
      const s = this.store;
      const now = s.now();
      const pass = new RetentionPass(s);
      let order = nextSeq(s, requests.length);
      const ids = new Set<string>();
      for (const r of requests) ids.add(r.jobId);
      if (ids.size < requests.length) {
        // The same job twice in one batch: one statement per request, so the second sees the first's change.
        const update = s.stmt(
          `UPDATE conveyor_jobs SET state_code = 4, finished_at = ?, result = ?, lease_expires_at = NULL,
            finish_seq = ? WHERE seq = ? AND custom_id IS ? AND token = ? AND state_code = 3
            RETURNING seq, queue, remove_on_complete AS rule`,
        );
        const acks = requests.map(({ jobId, token, result, sideEffects }): AckResult => {
          const key = this.keyOf(jobId) ?? NO_KEY;
          const row = update.get(now, result === undefined ? null : toJson(result), order++, ...key, token) as
            | Acked
            | undefined;
          if (row === undefined) return { jobId, ok: false, code: 'LEASE_LOST' };
          this.moved(row.queue, 'active', 'completed');
          pass.add(row.seq, row.queue, 'completed', parseRetention(row.rule));
          if (sideEffects !== undefined) inline?.acked(sideEffects.record, sideEffects.metric, sideEffects.event);
          return { jobId, ok: true, job: null };
        });
        pass.apply(now);
        inline?.write();
        return acks;
      }
      // One UPDATE per ACK_CHUNK requests, (seq, custom id, token, result, finish order) joined from VALUES.
      const done = new Set<string>();
      for (let start = 0; start < requests.length; start += ACK_CHUNK) {
        const end = Math.min(requests.length, start + ACK_CHUNK);
        const params: unknown[] = [now];
        const keys = this.keysOf(requests, start, end);
        for (let i = start; i < end; i++) {
          const { token, result } = requests[i] as CompleteRequest;
          const key = keys[i - start] ?? NO_KEY;
          params.push(key[0], key[1], token, result === undefined ? null : toJson(result), order++);
        }
        const rows = s
          .stmt(completeUpdateSql(end - start))
          .raw(true)
          .all(...params) as AckedRaw[];
        for (const [seq, id, queue, rule] of rows) {
          done.add(id);
          this.moved(queue, 'active', 'completed');
          pass.add(seq, queue, 'completed', parseRetention(rule));
        }
      }
      pass.apply(now);
      if (inline !== null) {
        for (const { jobId, sideEffects } of requests) {
          if (sideEffects !== undefined && done.has(jobId)) {
            inline.acked(sideEffects.record, sideEffects.metric, sideEffects.event);
          }
        }
        inline.write();
      }
      return requests.map(
        ({ jobId }): AckResult =>
          done.has(jobId) ? { jobId, ok: true, job: null } : { jobId, ok: false, code: 'LEASE_LOST' },
      );
    });
    inline?.deliver();
    return acks;
  }

  async fail(requests: FailRequest[]): Promise<AckResult[]> {
    this.guard();
    if (requests.length === 0) return [];
    checkAckSideEffects(requests);
    const inline = requests.some((r) => r.sideEffects !== undefined) ? new InlineWrites(this.store) : null;
    const results = this.store.write(() => {
      const now = this.store.now();
      const toFailed = this.store.stmt(
        `UPDATE conveyor_jobs SET state_code = 5, finished_at = ?, last_error = ?, lease_expires_at = NULL,
          finish_seq = ? WHERE seq = ? AND custom_id IS ? AND token = ? AND state_code = 3
          RETURNING seq, queue, remove_on_fail AS rule`,
      );
      const toRetrying = this.store.stmt(
        `UPDATE conveyor_jobs SET state_code = 2, run_at = ?, last_error = ?, lease_expires_at = NULL
          WHERE seq = ? AND custom_id IS ? AND token = ? AND state_code = 3 RETURNING queue`,
      );
      const pass = new RetentionPass(this.store);
      let order = nextSeq(this.store, requests.length);
      const acks = requests.map(({ jobId, token, error, retryDelayMs, sideEffects }): AckResult => {
        const errorJson = JSON.stringify(error);
        const key = this.keyOf(jobId) ?? NO_KEY;
        if (retryDelayMs !== null && retryDelayMs !== undefined) {
          const row = toRetrying.get(now + Math.max(0, retryDelayMs), errorJson, ...key, token) as
            | { queue: string }
            | undefined;
          if (row === undefined) return { jobId, ok: false, code: 'LEASE_LOST' };
          this.moved(row.queue, 'active', 'retrying');
          if (sideEffects !== undefined) inline?.acked(sideEffects.record, sideEffects.metric, sideEffects.event);
          return { jobId, ok: true, job: null };
        }
        const row = toFailed.get(now, errorJson, order++, ...key, token) as Acked | undefined;
        if (row === undefined) return { jobId, ok: false, code: 'LEASE_LOST' };
        this.moved(row.queue, 'active', 'failed');
        pass.add(row.seq, row.queue, 'failed', parseRetention(row.rule));
        if (sideEffects !== undefined) inline?.acked(sideEffects.record, sideEffects.metric, sideEffects.event);
        return { jobId, ok: true, job: null };
      });
      pass.apply(now);
      inline?.write();
      return acks;
    });
    inline?.deliver();
    return results;
  }

  async release(leases: LeaseRef[]): Promise<AckResult[]> {
    this.guard();
    if (leases.length === 0) return [];
    return this.store.write(() => {
      const update = this.store.jobStmt(
        `UPDATE conveyor_jobs SET state_code = 0, lease_expires_at = NULL
          WHERE seq = ? AND custom_id IS ? AND token = ? AND state_code = 3 RETURNING ${JOB_COLUMNS}`,
      );
      return leases.map(({ jobId, token }): AckResult => {
        const row = update.get(...(this.keyOf(jobId) ?? NO_KEY), token) as JobRow | undefined;
        if (row === undefined) return { jobId, ok: false, code: 'LEASE_LOST' };
        this.moved(row.queue, 'active', 'waiting');
        return { jobId, ok: true, job: rowToJob(row) };
      });
    });
  }

  async recoverStalled(options: { limit?: number } = {}): Promise<RecoveredJob[]> {
    this.guard();
    const limit = options.limit ?? 1000;
    if (!Number.isInteger(limit) || limit < 1) throw validationError('recoverStalled limit must be an integer >= 1.');
    return this.store.write(() => {
      const s = this.store;
      const now = s.now();
      // Active jobs are few (bounded by the workers' total concurrency): walk each queue's active range instead of
      // keeping a lease index that every claim and every ack would have to update.
      const activeOf = [
        'conveyor_jobs_list WHERE custom_id IS NULL',
        'conveyor_jobs_list_custom WHERE custom_id IS NOT NULL',
      ].map((range) =>
        s.stmt(
          `SELECT seq, token, lease_expires_at AS expires FROM conveyor_jobs INDEXED BY ${range}
            AND queue = ? AND type = ? AND state_code = ? AND lease_expires_at < ?`,
        ),
      );
      let expired: Array<{ seq: number; token: number; expires: number }> = [];
      for (const [queue, type] of s.stmt('SELECT queue, type FROM conveyor_job_types').raw(true).all() as string[][]) {
        for (const active of activeOf) {
          expired.push(
            ...(active.all(queue, type, STATE_CODES.active, now) as Array<{
              seq: number;
              token: number;
              expires: number;
            }>),
          );
        }
      }
      if (expired.length > limit) expired = expired.sort((a, b) => a.expires - b.expires).slice(0, limit);
      if (expired.length === 0) return [];
      const stalledError = JSON.stringify(STALLED_ERROR);
      const before = s.stmt('SELECT worker_id, attempt, started_at FROM conveyor_jobs WHERE seq = ?');
      // Conditional on the token and the expiry: a job completed or re-leased in between is left alone.
      const toWaiting = s.jobStmt(
        `UPDATE conveyor_jobs SET state_code = 0, lease_expires_at = NULL, last_error = ?
          WHERE seq = ? AND token = ? AND state_code = 3 AND lease_expires_at < ? AND attempt < max_attempts RETURNING ${JOB_COLUMNS}`,
      );
      const toFailed = s.jobStmt(
        `UPDATE conveyor_jobs SET state_code = 5, finished_at = ?, last_error = ?, lease_expires_at = NULL,
          finish_seq = ? WHERE seq = ? AND token = ? AND state_code = 3 AND lease_expires_at < ? RETURNING ${JOB_COLUMNS}`,
      );
      let order = nextSeq(s, expired.length);
      const pass = new RetentionPass(s);
      const out: Array<{
        row: JobRow;
        prior: { worker_id: string | null; attempt: number; started_at: number | null };
      }> = [];
      for (const { seq, token } of expired) {
        const prior = before.get(seq) as { worker_id: string | null; attempt: number; started_at: number | null };
        let row = toWaiting.get(stalledError, seq, token, now) as JobRow | undefined;
        if (row !== undefined) this.moved(row.queue, 'active', 'waiting');
        else {
          row = toFailed.get(now, stalledError, order++, seq, token, now) as JobRow | undefined;
          if (row === undefined) continue;
          this.moved(row.queue, 'active', 'failed');
          pass.add(row.seq, row.queue, 'failed', parseRetention(row.remove_on_fail));
        }
        out.push({ row, prior });
      }
      pass.apply(now);
      return out.map(({ row, prior }) => ({
        job: rowToJob(row),
        workerId: prior.worker_id,
        attempt: prior.attempt,
        startedAt: prior.started_at,
      }));
    });
  }

  async getJob(id: string): Promise<Job | null> {
    this.guard();
    const row = this.store.read(() => this.findRow(id));
    return row === undefined ? null : rowToJob(row);
  }

  async listJobs(query: ListJobsQuery): Promise<Page<Job>> {
    this.guard();
    checkLimit(query.limit);
    if (query.search !== undefined && query.search !== '') {
      throw new ConveyorError(
        'SEARCH_UNSUPPORTED',
        sqliteMessage(
          'listJobs({ search }) is not supported by the SQLite adapter (capabilities.search is false). Filter by queue, state or type instead.',
        ),
      );
    }
    if (query.state !== undefined && !(JOB_STATES as readonly string[]).includes(query.state)) {
      throw validationError(`state must be one of ${JOB_STATES.join(', ')}.`);
    }
    const below =
      query.cursor !== undefined && query.cursor !== null
        ? decodeCursor(query.cursor, ['number', 'string'] as const)
        : null;
    // Each read below is one range of a list index: one queue, one type, one state, generated or caller ids (see
    // LIST_GENERATED). Without a filter, the ranges of every queue, every type of that queue and every state with
    // jobs (from the counters) are merged: each range gives the keys of at most one page (from the index alone), and
    // only the merged page's rows are read. Once a page is full, later ranges only return keys that would enter it
    // (`above`), so many ranges cost little more than one seek each. A bound (created at, id) is applied to
    // generated ids as (created at, seq): their ids are seq in fixed-width hex, so `id < bound` exactly when
    // `seq < generatedBelow(bound)`.
    const order = (last: string) => `ORDER BY created_at DESC, ${last} DESC LIMIT ?`;
    const genWhere = below === null ? '' : ' AND (created_at, seq) < (?, ?)';
    const cusWhere = below === null ? '' : ' AND (created_at, custom_id) < (?, ?)';
    const genSql = `${LIST_GENERATED}${genWhere} ${order('seq')}`;
    const genAboveSql = `${LIST_GENERATED}${genWhere} AND (created_at, seq) > (?, ?) ${order('seq')}`;
    const cusSql = `${LIST_CUSTOM}${cusWhere} ${order('custom_id')}`;
    const cusAboveSql = `${LIST_CUSTOM}${cusWhere} AND (created_at, custom_id) > (?, ?) ${order('custom_id')}`;
    const belowSeq = below === null ? 0 : generatedBelow(below[1]);
    const want = query.limit + 1;
    const rows = this.store.read(() => {
      const s = this.store;
      const queues =
        query.queue !== undefined
          ? [query.queue]
          : (s.stmt('SELECT name FROM conveyor_queues').pluck().all() as string[]);
      const typesOf = s.stmt('SELECT type FROM conveyor_job_types WHERE queue = ?').pluck();
      const statesOf = s.stmt('SELECT state FROM conveyor_counts WHERE queue = ? AND n > 0').pluck();
      const gen = s.stmt(genSql).raw(true);
      const genAbove = s.stmt(genAboveSql).raw(true);
      const cus = s.stmt(cusSql).raw(true);
      const cusAbove = s.stmt(cusAboveSql).raw(true);
      let page: ListKey[] = [];
      const add = (found: ListKey[]): void => {
        if (found.length > 0) page = page.length === 0 ? found : mergeKeys(page, found, want);
      };
      for (const queue of queues) {
        const states = query.state !== undefined ? [query.state] : (statesOf.all(queue) as JobState[]);
        if (states.length === 0) continue;
        const types = query.type !== undefined ? [query.type] : (typesOf.all(queue) as string[]);
        for (const type of types) {
          for (const state of states) {
            const code = STATE_CODES[state];
            // The parameters of one range: its key, the cursor bound, the page's worst key once the page is full.
            const range = (cursorBound: unknown, worstBound: (id: string) => unknown) => {
              const params: unknown[] = [queue, type, code];
              if (below !== null) params.push(below[0], cursorBound);
              const worst = page.length === want ? (page[want - 1] as ListKey) : null;
              if (worst !== null) params.push(worst[0], worstBound(worst[1]));
              params.push(want);
              return { params, full: worst !== null };
            };
            const generated = range(belowSeq, generatedAbove);
            const seqs = (generated.full ? genAbove : gen).all(...generated.params) as Array<[number, number]>;
            add(seqs.map(([createdAt, seq]): ListKey => [createdAt, generatedId(seq), seq]));
            const caller = range(below?.[1], (id) => id);
            add((caller.full ? cusAbove : cus).all(...caller.params) as ListKey[]);
          }
        }
      }
      const row = s.jobStmt(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE seq = ?`);
      return page.map(([, , seq]) => row.get(seq) as JobRow);
    });
    const more = rows.length > query.limit;
    if (more) rows.length = query.limit;
    const last = rows[rows.length - 1];
    return {
      items: rows.map(rowToJob),
      nextCursor: more && last !== undefined ? encodeCursor([last.created_at, last.id]) : null,
    };
  }

  async counts(queue?: string): Promise<Record<string, StateCounts>> {
    this.guard();
    return this.store.read(() => this.countsNow(queue));
  }

  private countsNow(queue?: string): Record<string, StateCounts> {
    const s = this.store;
    const out: Record<string, StateCounts> = {};
    if (queue !== undefined) {
      out[queue] = zeroCounts();
      for (const r of s.stmt('SELECT state, n FROM conveyor_counts WHERE queue = ?').all(queue) as Array<{
        state: keyof StateCounts;
        n: number;
      }>) {
        out[queue][r.state] = r.n;
      }
      return out;
    }
    for (const name of s.stmt('SELECT name FROM conveyor_queues ORDER BY name').pluck().all() as string[]) {
      out[name] = zeroCounts();
    }
    for (const r of s.stmt('SELECT queue, state, n FROM conveyor_counts').all() as Array<{
      queue: string;
      state: keyof StateCounts;
      n: number;
    }>) {
      const c = out[r.queue] ?? zeroCounts();
      c[r.state] = r.n;
      out[r.queue] = c;
    }
    return out;
  }

  async listQueues(): Promise<QueueInfo[]> {
    this.guard();
    return this.store.read(() => {
      const s = this.store;
      const counts = this.countsNow();
      const oldest = s.stmt(OLDEST_WAITING_SQL).pluck();
      const rows = s.stmt('SELECT name, paused FROM conveyor_queues ORDER BY name').all() as Array<{
        name: string;
        paused: number;
      }>;
      return rows.map((r) => ({
        name: r.name,
        paused: r.paused !== 0,
        counts: counts[r.name] ?? zeroCounts(),
        oldestWaitingAt: (oldest.get(r.name, r.name, r.name) as number | null) ?? null,
      }));
    });
  }

  /** The row of `id`, or NOT_FOUND. */
  private rowOf(id: string): JobRow {
    const row = this.findRow(id);
    if (row === undefined) throw notFound(COMPONENT, `job ${id}`);
    return row;
  }

  /** A live job other than `seq` holding the same unique key, if any. */
  private keyHolder(row: JobRow): string | null {
    if (row.unique_key === null) return null;
    const holder = this.store
      .stmt(
        `SELECT id FROM conveyor_jobs WHERE queue = ? AND unique_key = ? AND unique_key IS NOT NULL AND ${PENDING_TERM}`,
      )
      .pluck()
      .get(row.queue, row.unique_key) as string | undefined;
    return holder !== undefined && holder !== row.id ? holder : null;
  }

  async retry(id: string): Promise<Job> {
    this.guard();
    return this.store.write(() => {
      const row = this.rowOf(id);
      if (row.state !== 'failed' && row.state !== 'cancelled') {
        throw invalidState(COMPONENT, `job ${id} is ${row.state}; only failed or cancelled jobs can be retried.`);
      }
      const holder = this.keyHolder(row);
      if (holder !== null) {
        throw invalidState(
          COMPONENT,
          `job ${id} cannot be retried: job ${holder} holds its unique key "${row.unique_key}" and is still pending. Wait for it to finish.`,
        );
      }
      return rowToJob(this.toWaitingAgain(row, this.store.now()));
    });
  }

  private toWaitingAgain(row: JobRow, now: number): JobRow {
    this.moved(row.queue, row.state, 'waiting');
    return this.store
      .jobStmt(
        `UPDATE conveyor_jobs SET state_code = 0, run_at = ?, finished_at = NULL, finish_seq = NULL, result = NULL,
          lease_expires_at = NULL, max_attempts = max(max_attempts, attempt + 1) WHERE seq = ? RETURNING ${JOB_COLUMNS}`,
      )
      .get(now, row.seq) as JobRow;
  }

  /** Count one job of `queue` moving from one state to another (inside a write). */
  private moved(queue: string, from: JobState, to: JobState): void {
    this.store.count(queue, from, -1);
    this.store.count(queue, to, 1);
  }

  async retryFailed(queue: string, limit: number): Promise<number> {
    this.guard();
    if (!Number.isInteger(limit) || limit < 0) throw validationError('retryFailed limit must be an integer >= 0.');
    if (limit === 0) return 0;
    return this.store.write(() => {
      const now = this.store.now();
      const rows = this.store
        .jobStmt(`SELECT ${JOB_COLUMNS} FROM ${finishedFrom('failed')} ORDER BY finished_at, finish_seq LIMIT ?`)
        .all(queue, limit) as JobRow[];
      let moved = 0;
      for (const row of rows) {
        if (this.keyHolder(row) !== null) continue;
        this.toWaitingAgain(row, now);
        moved++;
      }
      return moved;
    });
  }

  async promote(id: string): Promise<Job> {
    this.guard();
    return this.store.write(() => {
      const row = this.rowOf(id);
      if (row.state !== 'scheduled' && row.state !== 'retrying') {
        throw invalidState(COMPONENT, `job ${id} is ${row.state}; only scheduled or retrying jobs can be promoted.`);
      }
      const now = this.store.now();
      this.moved(row.queue, row.state, 'waiting');
      return rowToJob(
        this.store
          .jobStmt(
            `UPDATE conveyor_jobs SET state_code = 0, run_at = min(run_at, ?) WHERE seq = ? RETURNING ${JOB_COLUMNS}`,
          )
          .get(now, row.seq) as JobRow,
      );
    });
  }

  async cancel(id: string): Promise<Job> {
    this.guard();
    return this.store.write(() => {
      const row = this.rowOf(id);
      if (!['waiting', 'scheduled', 'retrying', 'active'].includes(row.state)) {
        throw invalidState(COMPONENT, `job ${id} is ${row.state}; only pending or active jobs can be cancelled.`);
      }
      // The token stays; acks and heartbeats require state 'active', so the old lease is refused from now on.
      this.moved(row.queue, row.state, 'cancelled');
      return rowToJob(
        this.store
          .jobStmt(
            `UPDATE conveyor_jobs SET state_code = 6, finished_at = ?, lease_expires_at = NULL, finish_seq = ?
              WHERE seq = ? RETURNING ${JOB_COLUMNS}`,
          )
          .get(this.store.now(), nextSeq(this.store, 1), row.seq) as JobRow,
      );
    });
  }

  async remove(id: string): Promise<void> {
    this.guard();
    this.store.write(() => {
      const row = this.rowOf(id);
      if (row.state === 'active') {
        throw invalidState(COMPONENT, `job ${id} is active; cancel it first, then remove it.`);
      }
      this.store.stmt('DELETE FROM conveyor_jobs WHERE seq = ?').run(row.seq);
      this.store.count(row.queue, row.state, -1);
    });
  }

  async clean(request: CleanRequest): Promise<number> {
    this.guard();
    const { queue, state } = request;
    const olderThanMs = request.olderThanMs ?? 0;
    const limit = request.limit ?? 1000;
    if (!(FINISHED_STATES as readonly string[]).includes(state)) {
      throw validationError(`clean state must be one of ${FINISHED_STATES.join(', ')}.`);
    }
    if (!Number.isInteger(limit) || limit < 0) throw validationError('clean limit must be an integer >= 0.');
    if (limit === 0) return 0;
    if (!(typeof olderThanMs === 'number' && olderThanMs >= 0)) throw validationError('olderThanMs must be >= 0.');
    return this.store.write(() => {
      const removed = this.store
        .stmt(
          `DELETE FROM conveyor_jobs WHERE seq IN (SELECT seq FROM ${finishedFrom(state)} AND finished_at <= ?
            ORDER BY finished_at, finish_seq LIMIT ?)`,
        )
        .run(queue, this.store.now() - olderThanMs, limit).changes;
      this.store.count(queue, state, -removed);
      return removed;
    });
  }

  async pause(queue: string): Promise<void> {
    this.setPaused(queue, true);
  }

  async resume(queue: string): Promise<void> {
    this.setPaused(queue, false);
  }

  private setPaused(queue: string, paused: boolean): void {
    this.guard();
    if (typeof queue !== 'string' || queue.length === 0) throw validationError('queue must be a non-empty string.');
    this.store.write(() =>
      this.store
        .stmt(
          'INSERT INTO conveyor_queues (name, paused) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET paused = excluded.paused',
        )
        .run(queue, paused ? 1 : 0),
    );
    this.known.add(`q\u0000${queue}`);
  }

  async isPaused(queue: string): Promise<boolean> {
    this.guard();
    this.store.ensureReady();
    return this.store.stmt('SELECT paused FROM conveyor_queues WHERE name = ?').pluck().get(queue) === 1;
  }

  async upsertSchedule(schedule: Omit<ScheduleDefinition, 'lastFiredAt'>): Promise<ScheduleDefinition> {
    this.guard();
    if (typeof schedule.name !== 'string' || schedule.name.length === 0) {
      throw validationError('schedule name must be a non-empty string.');
    }
    if (typeof schedule.cron !== 'string' || schedule.cron.trim().length === 0) {
      throw validationError(`schedule ${schedule.name}: cron must be a non-empty cron expression.`);
    }
    validateNewJob(schedule.job);
    return this.store.write(() =>
      rowToSchedule(
        this.store
          .stmt(
            `INSERT INTO conveyor_schedules (name, cron, timezone, job, last_fired_at, next_run_at, paused)
                VALUES (?, ?, ?, ?, NULL, ?, ?)
                ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, timezone = excluded.timezone, job = excluded.job,
                  next_run_at = excluded.next_run_at, paused = excluded.paused
                RETURNING *`,
          )
          .get(
            schedule.name,
            schedule.cron,
            schedule.timezone ?? 'UTC',
            JSON.stringify(schedule.job),
            schedule.nextRunAt ?? null,
            schedule.paused ? 1 : 0,
          ) as ScheduleRow,
      ),
    );
  }

  async listSchedules(): Promise<ScheduleDefinition[]> {
    this.guard();
    this.store.ensureReady();
    return (this.store.stmt('SELECT * FROM conveyor_schedules ORDER BY name').all() as ScheduleRow[]).map(
      rowToSchedule,
    );
  }

  async removeSchedule(name: string): Promise<boolean> {
    this.guard();
    return this.store.write(
      () => this.store.stmt('DELETE FROM conveyor_schedules WHERE name = ?').run(name).changes > 0,
    );
  }

  async fireSchedule(
    name: string,
    fireAt: number,
    nextRunAt: number | null,
    job: NewJob,
  ): Promise<EnqueueResult | null> {
    this.guard();
    validateNewJob(job);
    const added: string[] = [];
    const result = this.store.write(() => {
      // The conditional update is the whole protocol: of N schedulers firing the same tick, one changes the row.
      const fired = this.store
        .stmt(
          `UPDATE conveyor_schedules SET last_fired_at = ?, next_run_at = ?
            WHERE name = ? AND (last_fired_at IS NULL OR last_fired_at < ?)`,
        )
        .run(fireAt, nextRunAt, name, fireAt).changes;
      if (fired === 0) {
        const exists = this.store.stmt('SELECT 1 FROM conveyor_schedules WHERE name = ?').get(name);
        if (exists === undefined) throw notFound(COMPONENT, `schedule ${name}`);
        return null;
      }
      return this.insertOne(job, this.store.now(), added);
    });
    for (const k of added) this.known.add(k);
    return result;
  }
}
