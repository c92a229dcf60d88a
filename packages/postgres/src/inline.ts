import type { AckSideEffects, ConveyorEvent } from '@conveyor/core';
import { conveyorMessage } from '@conveyor/core';
import type { PgContext } from './context';
import { notifyEvents } from './event-bus';
import { COMPONENT } from './options';
import { jsonParam } from './rows';

// History written by the queue adapter's own statements (`capabilities.inlineRecords`): execution records, metric
// events and bus events go in the same statement — so the same transaction — as the claim, ack or enqueue that
// causes them, and exist only if its change does. Notifications sent inside a transaction are delivered on commit.

/** NOTIFY refuses 8000 bytes; events are grouped into payloads below this (envelope included). */
const MAX_PAYLOAD_BYTES = 7_900;
/**
 * SQL-built events (job.started, job.enqueued) are grouped by running size: a group holds less than this plus one
 * event (at most ~1.2 kB with 255-character names and ids), so a payload stays under {@link MAX_PAYLOAD_BYTES}.
 */
const SQL_CHUNK_BYTES = 6_000;

/** The origin a notification from this context carries: the local bus's (it skips its echo), else the context's. */
export function originOf(ctx: PgContext): string {
  return ctx.localBus?.origin ?? ctx.origin;
}

/** `{"o":<origin>,"e":[` — the head of a NOTIFY envelope, closed by `]}`. */
export function envelopeHead(origin: string): string {
  return `{"o":${JSON.stringify(origin)},"e":[`;
}

/** A store time in ms as ISO-8601 UTC text, in SQL (matches `new Date(ms).toISOString()`). */
function isoSql(ms: string): string {
  return `to_char(to_timestamp((${ms})::double precision / 1000) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;
}

/** Event id of an event built in SQL: store time and a unique number (token or seq), both hex. */
export function sqlEventId(at: number, tag: string, n: number): string {
  return `${at.toString(16).padStart(12, '0')}${tag}${n.toString(16).padStart(12, '0')}`;
}

function sqlEventIdExpr(at: string, tag: string, n: string): string {
  return `lpad(to_hex((${at})::bigint), 12, '0') || '${tag}' || lpad(to_hex((${n})::bigint), 12, '0')`;
}

/**
 * CTEs that notify SQL-built events: `rows` (a CTE name) has a `seq` column for order and an `e` column of event
 * JSON text. `$chan` and `$head` are parameter references.
 */
export function notifySql(rows: string, chan: string, head: string): string {
  return `ev_sized AS (
  SELECT seq, e, floor(sum(octet_length(e)) OVER (ORDER BY seq) / ${SQL_CHUNK_BYTES}) AS chunk FROM ${rows}
),
ev AS (
  SELECT pg_notify(${chan}, ${head} || p || ']}') FROM (
    SELECT chunk, string_agg(e, ',' ORDER BY seq) AS p FROM ev_sized GROUP BY chunk ORDER BY chunk
  ) z
)`;
}

/** JSON of a `job.started` event of a claimed row (alias `c`, claim time `now`, worker `$worker`). */
export function startedEventSql(now: string, worker: string): string {
  return `json_build_object('id', ${sqlEventIdExpr(now, 's', 'c.token')}, 'type', 'job.started',
    'timestamp', ${isoSql(now)}, 'queue', c.queue, 'jobId', c.id, 'workerId', ${worker},
    'data', json_build_object('type', c.type, 'attempt', c.attempt, 'maxAttempts', c.max_attempts))::text`;
}

/** JSON of a `job.enqueued` event of an inserted row (alias `i`). */
export function enqueuedEventSql(): string {
  return `json_build_object('id', ${sqlEventIdExpr('i.created_at', 'e', 'i.seq')}, 'type', 'job.enqueued',
    'timestamp', ${isoSql('i.created_at')}, 'queue', i.queue, 'jobId', i.id,
    'data', json_build_object('type', i.type, 'state', i.state, 'priority', i.priority, 'runAt', ${isoSql('i.run_at')}))::text`;
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
  ['ev', 'text'],
  ['ev_chunk', 'integer'],
] as const;

/** `$n::type[]` references of {@link ACK_SIDE_COLUMNS} from parameter `first`, then shard, channel and head. */
export function ackSideSql(S: string, first: number): { unnest: string; names: string; ctes: string; tail: string } {
  const unnest = ACK_SIDE_COLUMNS.map(([, type], i) => `, $${first + i}::${type}[]`).join('');
  const names = ACK_SIDE_COLUMNS.map(([name]) => `, ${name}`).join('');
  const shard = `$${first + ACK_SIDE_COLUMNS.length}`;
  const chan = `$${first + ACK_SIDE_COLUMNS.length + 1}`;
  const head = `$${first + ACK_SIDE_COLUMNS.length + 2}`;
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
  SELECT ${S}.add_metrics(${shard}::integer, array_agg(m_kind), array_agg(m_queue), array_agg(m_type), array_agg(m_at),
    array_agg(m_dur), NULL, array_agg(m_count)) AS n
  FROM xo HAVING count(*) > 0
),
ev AS (
  SELECT pg_notify(${chan}, ${head} || p || ']}') FROM (
    SELECT ev_chunk, string_agg(ev, ',' ORDER BY ord) AS p FROM xo WHERE ev IS NOT NULL GROUP BY ev_chunk ORDER BY ev_chunk
  ) z
)`;
  return { unnest, names, ctes, tail: '(SELECT count(*) FROM met) + (SELECT count(*) FROM ev)' };
}

/** The parameters of {@link ackSideSql} for a batch, and what is done in JavaScript once the statement returned. */
export interface AckSidePlan {
  params: unknown[];
  /** Per request: its event (null when none or a later duplicate), for local delivery of the ok ones. */
  events: (ConveyorEvent | null)[];
  /** Requests whose event is too large for a notification: sent (if ok) after the statement, from the table. */
  oversized: number[];
}

/** Build the side-effect parameters of an ack batch (requests in order; a repeated lease keeps only its first). */
export function ackSidePlan(
  ctx: PgContext,
  requests: readonly { jobId: string; token: number; sideEffects?: AckSideEffects }[],
): AckSidePlan {
  const n = requests.length;
  const cols: unknown[][] = ACK_SIDE_COLUMNS.map(() => new Array<unknown>(n).fill(null));
  const events = new Array<ConveyorEvent | null>(n).fill(null);
  const oversized: number[] = [];
  const seen = new Set<string>();
  const origin = originOf(ctx);
  const headBytes = Buffer.byteLength(envelopeHead(origin)) + 2;
  let chunk = 0;
  let size = headBytes;
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
  for (let i = 0; i < n; i++) {
    const request = requests[i] as { jobId: string; token: number; sideEffects?: AckSideEffects };
    const se = request.sideEffects;
    if (se === undefined) continue;
    const key = `${request.jobId}\u0000${request.token}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const { record, metric, event } = se;
    cols[0]![i] = record.id;
    cols[1]![i] = record.jobId;
    cols[2]![i] = record.queue;
    cols[3]![i] = record.type;
    cols[4]![i] = record.attempt;
    cols[5]![i] = record.status;
    cols[6]![i] = record.startedAt;
    cols[7]![i] = record.finishedAt;
    cols[8]![i] = record.durationMs;
    cols[9]![i] = record.workerId ?? null;
    cols[10]![i] = json(record.result, 'an execution result');
    cols[11]![i] = json(record.error, 'an execution error');
    cols[12]![i] = metric.kind;
    cols[13]![i] = metric.queue;
    cols[14]![i] = metric.type;
    cols[15]![i] = metric.at;
    cols[16]![i] = metric.durationMs ?? null;
    cols[17]![i] = metric.count ?? 1;
    if (event !== undefined) {
      events[i] = event;
      const text = JSON.stringify(event);
      const bytes = Buffer.byteLength(text);
      if (bytes + headBytes > MAX_PAYLOAD_BYTES) {
        oversized.push(i);
        continue;
      }
      if (size + bytes + 1 > MAX_PAYLOAD_BYTES) {
        chunk++;
        size = headBytes;
      }
      size += bytes + 1;
      cols[18]![i] = text;
      cols[19]![i] = chunk;
    }
  }
  return { params: [...cols, ctx.nextShard(), ctx.eventChannel, envelopeHead(origin)], events, oversized };
}

/** After an ack statement: deliver the events of the ok requests in process, and send the oversized ones. */
export async function afterAck(ctx: PgContext, plan: AckSidePlan, ok: readonly boolean[]): Promise<void> {
  const bus = ctx.localBus;
  if (bus !== undefined && bus.listenerCount() > 0) {
    const local: ConveyorEvent[] = [];
    for (let i = 0; i < plan.events.length; i++) {
      const event = plan.events[i];
      if (event !== null && event !== undefined && ok[i] === true) local.push(event);
    }
    if (local.length > 0) bus.deliverLocal(local);
  }
  if (plan.oversized.length === 0) return;
  const late = plan.oversized.filter((i) => ok[i] === true).map((i) => plan.events[i] as ConveyorEvent);
  if (late.length === 0) return;
  try {
    await notifyEvents(ctx, late, originOf(ctx));
  } catch (error) {
    // Events are at most once: the acknowledgement stands.
    ctx.logger.warn(conveyorMessage(COMPONENT, 'could not publish large job events; they were skipped.'), {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}
