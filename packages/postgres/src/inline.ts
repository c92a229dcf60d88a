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
 * The acknowledgement statements' side-effect columns (appended to the `unnest` of the requests, in this order) and
 * CTEs. `ok` must be a CTE of the `(id, token)` pairs the statement changed; `r` the requests with `ord`.
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

/** `$n::type[]` references of {@link ACK_SIDE_COLUMNS} from parameter `first`, and the CTEs writing them. */
export function ackSideSql(S: string, first: number): { unnest: string; names: string; ctes: string } {
  const unnest = ACK_SIDE_COLUMNS.map(([, type], i) => `, $${first + i}::${type}[]`).join('');
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
  return { unnest, names, ctes };
}

/** The parameters of {@link ackSideSql} for a batch, and the events to publish for the ok requests after it. */
export interface AckSidePlan {
  params: unknown[];
  /** Per request: its event (null when none, or for a repeated lease). */
  events: (ConveyorEvent | null)[];
}

/** Build the side-effect parameters of an ack batch (requests in order; a repeated lease keeps only its first). */
export function ackSidePlan(
  requests: readonly { jobId: string; token: number; sideEffects?: AckSideEffects }[],
): AckSidePlan {
  const n = requests.length;
  const cols: unknown[][] = ACK_SIDE_COLUMNS.map(() => new Array<unknown>(n).fill(null));
  const events = new Array<ConveyorEvent | null>(n).fill(null);
  const seen = new Set<string>();
  const jsonCache = new Map<unknown, string | null>();
  const json = (value: unknown, what: string): string | null => {
    if (value === undefined || value === null) return null;
    let text = jsonCache.get(value);
    if (text === undefined) {
      text = jsonParam(value, what);
      if (typeof value === 'object') jsonCache.set(value, text);
    }
    return text;
  };
  const [recId, recJob, recQueue, recType, recAttempt, recStatus, recStarted, recFinished, recDuration] = cols;
  const [, , , , , , , , , recWorker, recResult, recError, mKind, mQueue, mType, mAt, mDur, mCount] = cols;
  for (let i = 0; i < n; i++) {
    const request = requests[i] as { jobId: string; token: number; sideEffects?: AckSideEffects };
    const se = request.sideEffects;
    if (se === undefined) continue;
    const key = `${request.jobId}\u0000${request.token}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { record, metric, event } = se;
    (recId as unknown[])[i] = record.id;
    (recJob as unknown[])[i] = record.jobId;
    (recQueue as unknown[])[i] = record.queue;
    (recType as unknown[])[i] = record.type;
    (recAttempt as unknown[])[i] = record.attempt;
    (recStatus as unknown[])[i] = record.status;
    (recStarted as unknown[])[i] = record.startedAt;
    (recFinished as unknown[])[i] = record.finishedAt;
    (recDuration as unknown[])[i] = record.durationMs;
    (recWorker as unknown[])[i] = record.workerId ?? null;
    (recResult as unknown[])[i] = json(record.result, 'an execution result');
    (recError as unknown[])[i] = json(record.error, 'an execution error');
    (mKind as unknown[])[i] = metric.kind;
    (mQueue as unknown[])[i] = metric.queue;
    (mType as unknown[])[i] = metric.type;
    (mAt as unknown[])[i] = metric.at;
    (mDur as unknown[])[i] = metric.durationMs ?? null;
    (mCount as unknown[])[i] = metric.count ?? 1;
    if (event !== undefined) events[i] = event;
  }
  return { params: cols, events };
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
