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
 * The acknowledgement statements' side-effect columns, in this order, their types, and the short key each has in the
 * JSON objects: one object per request (`json_to_recordset`) zipped with the requests' arrays by position. The
 * statement renames the columns to the long names in its alias list; short keys only make the text (built by
 * `JSON.stringify`, lexed by the server) smaller.
 */
export const ACK_SIDE_COLUMNS = [
  ['rec_id', 'text', 'i'],
  ['rec_job', 'text', 'j'],
  ['rec_queue', 'text', 'q'],
  ['rec_type', 'text', 't'],
  ['rec_attempt', 'integer', 'a'],
  ['rec_status', 'text', 's'],
  ['rec_started', 'double precision', 'b'],
  ['rec_finished', 'double precision', 'f'],
  ['rec_duration', 'double precision', 'd'],
  ['rec_worker', 'text', 'w'],
  ['rec_result', 'jsonb', 'r'],
  ['rec_error', 'jsonb', 'e'],
  ['m_kind', 'text', 'k'],
  ['m_queue', 'text', 'Q'],
  ['m_type', 'text', 'T'],
  ['m_at', 'double precision', 'F'],
  ['m_dur', 'double precision', 'D'],
  ['m_count', 'double precision', 'n'],
] as const;

/**
 * The `ROWS FROM` item reading {@link ACK_SIDE_COLUMNS} from parameter `param` (a JSON array with one object per
 * request), their names for the column alias list, and the CTEs writing them. `ok` must be a CTE of the
 * `(id, token)` pairs the statement changed; `r` the requests with `ord`.
 *
 * One JSON text instead of eighteen arrays: `JSON.stringify` is native, while the driver builds each array literal
 * in JavaScript, escaping every element (an execution result's JSON twice over). What the metric event shares with
 * the record (queue, type, time, the job id of the request) is left out of the object and read back with `coalesce`;
 * a count of 1 and SQL NULLs are left out too (an absent key reads as NULL).
 */
export function ackSideSql(S: string, param: number): { rowsFrom: string; names: string; ctes: string } {
  const rowsFrom = `, json_to_recordset($${param}::json) AS (${ACK_SIDE_COLUMNS.map(([, t, k]) => `"${k}" ${t}`).join(', ')})`;
  const names = ACK_SIDE_COLUMNS.map(([name]) => `, ${name}`).join('');
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
  return { rowsFrom, names, ctes };
}

/** The parameters of {@link ackSideSql} for a batch, and the events to publish for the ok requests after it. */
export interface AckSidePlan {
  /** One parameter: the JSON array of side-effect objects. */
  params: unknown[];
  /** Per request: its event (null when none, or for a repeated lease). */
  events: (ConveyorEvent | null)[];
}

/** A request without side effects (or a repeated lease): every column NULL. */
const NO_SIDE_EFFECTS = Object.freeze({});

/** A value the object leaves out (the statement reads it from the record, or as NULL); `undefined` is not written. */
function unless<T>(value: T, same: unknown): T | undefined {
  return value === same ? undefined : value;
}

/** Build the side-effect parameters of an ack batch (requests in order; a repeated lease keeps only its first). */
export function ackSidePlan(
  requests: readonly { jobId: string; token: number; sideEffects?: AckSideEffects }[],
): AckSidePlan {
  const n = requests.length;
  const rows = new Array<object>(n);
  const events = new Array<ConveyorEvent | null>(n).fill(null);
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const request = requests[i] as { jobId: string; token: number; sideEffects?: AckSideEffects };
    const se = request.sideEffects;
    rows[i] = NO_SIDE_EFFECTS;
    if (se === undefined) continue;
    const key = `${request.jobId}\u0000${request.token}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { record, metric, event } = se;
    // Keys are the short keys of ACK_SIDE_COLUMNS; an absent key (undefined) or JSON null reads as SQL NULL, and the
    // statement fills the left-out job id, metric queue, type and time from the request and record, a count with 1.
    rows[i] = {
      i: record.id,
      j: unless(record.jobId, request.jobId),
      q: record.queue,
      t: record.type,
      a: record.attempt,
      s: record.status,
      b: record.startedAt,
      f: record.finishedAt,
      d: record.durationMs,
      w: record.workerId ?? undefined,
      r: record.result ?? undefined,
      e: record.error ?? undefined,
      k: metric.kind,
      Q: unless(metric.queue, record.queue),
      T: unless(metric.type, record.type),
      F: unless(metric.at, record.finishedAt),
      D: metric.durationMs ?? undefined,
      n: unless(metric.count ?? 1, 1),
    };
    if (event !== undefined) events[i] = event;
  }
  return { params: [jsonParam(rows, 'an execution record (its result or error)')], events };
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
