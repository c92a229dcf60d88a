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
 * The acknowledgement statements' side-effect columns, in this order, and their types: one JSON object per request
 * (`json_to_recordset`) zipped with the requests' arrays by position.
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
 * The `ROWS FROM` item reading {@link ACK_SIDE_COLUMNS} from parameter `param` (a JSON array with one object per
 * request), their names for the column alias list, and the CTEs writing them. `ok` must be a CTE of the
 * `(id, token)` pairs the statement changed; `r` the requests with `ord`.
 *
 * One JSON text instead of eighteen arrays: `JSON.stringify` is native, while the driver builds each array literal
 * in JavaScript, escaping every element (an execution result's JSON twice over).
 */
export function ackSideSql(S: string, param: number): { rowsFrom: string; names: string; ctes: string } {
  const rowsFrom = `, json_to_recordset($${param}::json) AS (${ACK_SIDE_COLUMNS.map(([n, t]) => `${n} ${t}`).join(', ')})`;
  const names = ACK_SIDE_COLUMNS.map(([name]) => `, ${name}`).join('');
  const ctes = `xo AS (
  SELECT r.* FROM r JOIN ok ON ok.id = r.id AND ok.token = r.token WHERE r.rec_id IS NOT NULL
),
rec AS (
  INSERT INTO ${S}.executions (id, job_id, queue, type, attempt, status, started_at, finished_at, duration_ms,
    worker_id, result, error)
  SELECT rec_id, rec_job, rec_queue, rec_type, rec_attempt, rec_status, rec_started, rec_finished, rec_duration,
    rec_worker, rec_result, rec_error FROM xo
  ON CONFLICT (id) DO NOTHING
),
met AS (
  INSERT INTO ${S}.metric_log (kinds, queues, types, ats, durations, counts)
  SELECT array_agg(m_kind), array_agg(m_queue), array_agg(m_type), array_agg(m_at), array_agg(m_dur), array_agg(m_count)
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
    // Keys are the column names of ACK_SIDE_COLUMNS; an absent key (undefined) or JSON null reads as SQL NULL.
    rows[i] = {
      rec_id: record.id,
      rec_job: record.jobId,
      rec_queue: record.queue,
      rec_type: record.type,
      rec_attempt: record.attempt,
      rec_status: record.status,
      rec_started: record.startedAt,
      rec_finished: record.finishedAt,
      rec_duration: record.durationMs,
      rec_worker: record.workerId ?? null,
      rec_result: record.result ?? null,
      rec_error: record.error ?? null,
      m_kind: metric.kind,
      m_queue: metric.queue,
      m_type: metric.type,
      m_at: metric.at,
      m_dur: metric.durationMs ?? null,
      m_count: metric.count ?? 1,
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
