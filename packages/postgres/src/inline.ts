import type { AckSideEffects, ConveyorEvent } from '@conveyor/core';
import { conveyorMessage } from '@conveyor/core';
import type { PgContext } from './context';
import { notifyEvents } from './event-bus';
import { COMPONENT } from './options';
import { jsonParam } from './rows';

// History written by the queue adapter's own statements (`capabilities.inlineRecords`): execution records and metric
// events go in the same statement — so the same transaction — as the claim, ack or enqueue that causes them, and
// exist only if its change does. Bus events are published once that statement committed, for the changes it made
// only: delivered in process at once, and to other processes by NOTIFY through one ordered sender (see Notifier). A
// NOTIFY inside the claim or ack would serialise every commit behind the notification queue's lock, WAL flush
// included.

/** The origin a notification from this context carries: the local bus's (it skips its echo), else the context's. */
export function originOf(ctx: PgContext): string {
  return ctx.localBus?.origin ?? ctx.origin;
}

/** Event id of an event the adapter builds: store time and a unique number (token or seq), both hex. */
export function adapterEventId(at: number, tag: string, n: number): string {
  return `${at.toString(16).padStart(12, '0')}${tag}${n.toString(16).padStart(12, '0')}`;
}

/**
 * Publishes the events of committed claims, acks and enqueues: to this process's subscribers at once, and by NOTIFY
 * in publish order, one statement at a time (a batch collects what arrived meanwhile), without waiting for the WAL
 * flush. Delivery is at most once, as for every event on this bus; a failed send is logged, never thrown at the
 * acknowledgement that caused it.
 */
export class Notifier {
  private pending: ConveyorEvent[] = [];
  private running: Promise<void> | null = null;

  constructor(private readonly ctx: PgContext) {}

  /**
   * Deliver in process now and queue for NOTIFY. With `wakeUps` (the `job.enqueued` events of an enqueue) and nobody
   * watching (see `PostgresEventBus.hasWatchers`), other processes only need to wake up: one event per queue and
   * state goes out instead of one per job, as for the per-job events that are only sent while someone watches.
   */
  publish(events: ConveyorEvent[], wakeUps = false): void {
    if (events.length === 0) return;
    const bus = this.ctx.localBus;
    if (bus !== undefined && bus.listenerCount() > 0) bus.deliverLocal(events);
    if (wakeUps && events.length > 1 && bus !== undefined && !bus.hasWatchers()) {
      const sent = new Set<string>();
      for (const event of events) {
        const key = `${event.queue ?? ''}\u0000${String(event.data['state'])}`;
        if (sent.has(key)) continue;
        sent.add(key);
        this.pending.push(event);
      }
    } else {
      for (const event of events) this.pending.push(event);
    }
    this.running ??= this.drain();
  }

  /** Wait until everything queued was sent (or given up). */
  async flush(): Promise<void> {
    while (this.running !== null) await this.running;
  }

  private async drain(): Promise<void> {
    try {
      while (this.pending.length > 0) {
        const batch = this.pending;
        this.pending = [];
        try {
          await notifyEvents(this.ctx, batch, originOf(this.ctx));
        } catch (error) {
          this.ctx.logger.warn(conveyorMessage(COMPONENT, `could not publish ${batch.length} job event(s).`), {
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    } finally {
      this.running = null;
    }
  }
}

/**
 * The acknowledgement statements' side-effect columns, in this order, with their types. Each travels as two
 * parameters: a JSON array with one value per request, zipped with the requests' arrays by position, and a scalar
 * the statement falls back to when that array is empty. A column whose value is the same for every request of the
 * batch (status, queue, type, worker, metric kind; a whole column of NULLs) is sent once as the scalar, so only the
 * columns that differ per request — the record's id and times, mostly — are read per row.
 */
export const ACK_SIDE_COLUMNS = [
  ['rec_id', 'text'],
  ['rec_job', 'text'],
  ['rec_queue', 'text'],
  ['rec_type', 'text'],
  ['rec_attempt', 'integer'],
  ['rec_status', 'text'],
  ['rec_started', 'double precision'],
  ['rec_finished', 'double precision'],
  ['rec_duration', 'double precision'],
  ['rec_worker', 'text'],
  ['rec_result', 'jsonb'],
  ['rec_error', 'jsonb'],
  ['m_kind', 'text'],
  ['m_queue', 'text'],
  ['m_type', 'text'],
  ['m_at', 'double precision'],
  ['m_dur', 'double precision'],
  ['m_count', 'double precision'],
] as const;

/**
 * The `ROWS FROM` items reading {@link ACK_SIDE_COLUMNS} from parameters `param`… (see there), their names for the
 * column alias list, the select list turning them into the long names (array value, else the scalar), and the CTEs
 * writing them. `ok` must be a CTE of the `(id, token)` pairs the statement changed; `r` the requests.
 *
 * Plain JSON arrays, one per column, instead of one object per request: the server reads each array with one
 * `json_array_elements_text` call and no per-object key lookups (`json_to_recordset` built a hash table per object,
 * about a tenth of an acknowledgement's server time), and `JSON.stringify` of a few arrays is cheaper in Node than of
 * an object per request. What the metric event shares with the record (queue, type, time, the job id of the
 * request) stays NULL and is read back with `coalesce`; so does a count of 1.
 */
export function ackSideSql(
  S: string,
  param: number,
): { rowsFrom: string; names: string; select: string; ctes: string } {
  const n = ACK_SIDE_COLUMNS.length;
  const rowsFrom = ACK_SIDE_COLUMNS.map(([, type], i) =>
    type === 'jsonb'
      ? `, jsonb_array_elements($${param + i}::jsonb)`
      : `, json_array_elements_text($${param + i}::json)`,
  ).join('');
  const names = ACK_SIDE_COLUMNS.map(([name]) => `, a_${name}`).join('');
  const select = ACK_SIDE_COLUMNS.map(([name, type], i) =>
    type === 'jsonb'
      ? `, coalesce(nullif(a_${name}, 'null'::jsonb), $${param + n + i}::jsonb) AS ${name}`
      : `, coalesce(a_${name}, $${param + n + i}::text)::${type} AS ${name}`,
  ).join('');
  const ctes = `xo AS (
  SELECT r.* FROM r JOIN ok ON ok.id = r.id AND ok.token = r.token WHERE r.rec_id IS NOT NULL
),
rec AS (
  INSERT INTO ${S}.executions (id, job_id, queue, type, attempt, status, started_at, finished_at, duration_ms,
    worker_id, result, error)
  SELECT rec_id, coalesce(rec_job, id), rec_queue, rec_type, rec_attempt, rec_status, rec_started, rec_finished,
    rec_duration, rec_worker, rec_result, rec_error FROM xo
  ON CONFLICT (started_at, id) DO NOTHING
),
met AS (
  INSERT INTO ${S}.metric_log (kinds, queues, types, ats, durations, counts)
  SELECT array_agg(m_kind), array_agg(coalesce(m_queue, rec_queue)), array_agg(coalesce(m_type, rec_type)),
    array_agg(coalesce(m_at, rec_finished)), array_agg(m_dur), array_agg(coalesce(m_count, 1))
  FROM xo HAVING count(*) > 0
)`;
  return { rowsFrom, names, select, ctes };
}

/** The parameters of {@link ackSideSql} for a batch, and the events to publish for the ok requests after it. */
export interface AckSidePlan {
  /** The arrays (JSON texts) of every side-effect column, then their scalars. */
  params: unknown[];
  /** Per request: its event (null when none, or for a repeated lease). */
  events: (ConveyorEvent | null)[];
}

/** A value left out (the statement reads it from the record or request, or as NULL). */
function unless<T>(value: T, same: unknown): T | null {
  return value === same ? null : value;
}

/** The key of a lease (job id and token) in the adapter's maps and sets. */
export function leaseKey(jobId: string, token: number): string {
  return `${jobId}\u0000${token}`;
}

/** The JSON text of an execution result or error (NULL for none). */
function jsonValue(value: unknown): string | null {
  return value === null || value === undefined ? null : jsonParam(value, 'an execution record (its result or error)');
}

/** Build the side-effect parameters of an ack batch (requests in order; a repeated lease keeps only its first). */
export function ackSidePlan(
  requests: readonly { jobId: string; token: number; sideEffects?: AckSideEffects }[],
): AckSidePlan {
  const n = requests.length;
  const columns = ACK_SIDE_COLUMNS.map(() => new Array<string | number | null>(n).fill(null));
  const [id, job, queue, type, attempt, status, started, finished, duration, worker, result, error] = columns as [
    (string | null)[],
    (string | null)[],
    (string | null)[],
    (string | null)[],
    (number | null)[],
    (string | null)[],
    (number | null)[],
    (number | null)[],
    (number | null)[],
    (string | null)[],
    (string | null)[],
    (string | null)[],
  ];
  const [kind, mQueue, mType, mAt, mDur, mCount] = columns.slice(12) as [
    (string | null)[],
    (string | null)[],
    (string | null)[],
    (number | null)[],
    (number | null)[],
    (number | null)[],
  ];
  const events = new Array<ConveyorEvent | null>(n).fill(null);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const request = requests[i] as { jobId: string; token: number; sideEffects?: AckSideEffects };
    const se = request.sideEffects;
    // A request without side effects (or a repeated lease) keeps NULL in every column: the statement skips it.
    if (se === undefined) continue;
    const key = leaseKey(request.jobId, request.token);
    if (seen.has(key)) continue;
    seen.add(key);
    const { record, metric, event } = se;
    id[i] = record.id;
    job[i] = unless(record.jobId, request.jobId);
    queue[i] = record.queue;
    type[i] = record.type;
    attempt[i] = record.attempt;
    status[i] = record.status;
    started[i] = record.startedAt;
    finished[i] = record.finishedAt;
    duration[i] = record.durationMs;
    worker[i] = record.workerId ?? null;
    result[i] = jsonValue(record.result);
    error[i] = jsonValue(record.error);
    kind[i] = metric.kind;
    mQueue[i] = unless(metric.queue, record.queue);
    mType[i] = unless(metric.type, record.type);
    mAt[i] = unless(metric.at, record.finishedAt);
    mDur[i] = metric.durationMs ?? null;
    mCount[i] = unless(metric.count ?? 1, 1);
    if (event !== undefined) events[i] = event;
  }
  const arrays = new Array<string>(columns.length);
  const scalars = new Array<string | null>(columns.length);
  for (let c = 0; c < columns.length; c++) {
    const values = columns[c] as (string | number | null)[];
    const first = values[0] ?? null;
    let same = true;
    for (let i = 1; i < n && same; i++) same = values[i] === first;
    const isJson = (ACK_SIDE_COLUMNS[c] as readonly [string, string])[1] === 'jsonb';
    if (same) {
      // Once, as the scalar; the array stays empty (every row reads NULL from it).
      arrays[c] = '[]';
      scalars[c] = first === null ? null : String(first);
    } else {
      // jsonb values are already JSON texts: joined as they are (SQL NULL as JSON null, read back as NULL).
      arrays[c] = isJson
        ? `[${values.map((v) => (v === null ? 'null' : (v as string))).join(',')}]`
        : JSON.stringify(values);
      scalars[c] = null;
    }
  }
  return { params: [...arrays, ...scalars], events };
}

/** After an ack statement: publish the events of the ok requests. */
export function afterAck(ctx: PgContext, plan: AckSidePlan, ok: readonly boolean[]): void {
  const events: ConveyorEvent[] = [];
  for (let i = 0; i < plan.events.length; i++) {
    const event = plan.events[i];
    if (event !== null && event !== undefined && ok[i] === true) events.push(event);
  }
  if (events.length > 0) ctx.notifier().publish(events);
}
