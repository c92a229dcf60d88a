import type { Histogram, MetricsTotals } from '../contracts/metrics-adapter';
import { HISTOGRAM_BOUNDS_MS } from '../util/histogram';
import type { ResolvedOptions } from './options';
import { isLiveWorker } from './serialize';

/**
 * `GET /metrics` in the Prometheus text exposition format (version 0.0.4). Counters are the sums of the day buckets
 * still retained (so they only drop if a bucket ages out of retention, which Prometheus reads as a counter reset);
 * histograms use the fixed bucket bounds converted to seconds; gauges come from counters and the worker registry.
 * Labels are queue, type, state and status names only: never a job id or a payload.
 */

/** Content type of the exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const DAY = 86_400_000;
/** Day buckets are kept 366 days; counters sum what is retained. */
const COUNTER_WINDOW_MS = 366 * DAY;

const LABEL_SPECIALS = /[\\"\n]/;

/** Escape a label value: backslash, double quote and line feed. */
export function escapeLabel(value: string): string {
  if (!LABEL_SPECIALS.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `k="v",k2="v2"` with values escaped, without braces: rendered once per series, reused for every sample. */
function labelList(pairs: Record<string, string>): string {
  let out = '';
  for (const key in pairs) out += `${out === '' ? '' : ','}${key}="${escapeLabel(pairs[key] as string)}"`;
  return out;
}

/** A number as the format writes it. */
function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Number.POSITIVE_INFINITY) return '+Inf';
  if (value === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(value);
}

/** The `le` label of each histogram bound (seconds), rendered once. */
const LE_LABELS: readonly string[] = HISTOGRAM_BOUNDS_MS.map((ms) => `le="${num(ms / 1000)}"`);

/** Lines of the exposition, built as strings: a scrape renders thousands of samples. */
class Exposition {
  private readonly lines: string[] = [];
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    this.lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  /** One sample; `labelText` is a {@link labelList} (empty for none). */
  sample(name: string, labelText: string, value: number): void {
    this.lines.push(labelText === '' ? `${name} ${num(value)}` : `${name}{${labelText}} ${num(value)}`);
  }
  histogram(name: string, labelText: string, h: Histogram): void {
    const bucket = `${name}_bucket{${labelText === '' ? '' : `${labelText},`}`;
    let cumulative = 0;
    for (let i = 0; i < LE_LABELS.length; i++) {
      cumulative += h.counts[i] ?? 0;
      this.lines.push(`${bucket}${LE_LABELS[i] as string}} ${num(cumulative)}`);
    }
    this.lines.push(`${bucket}le="+Inf"} ${num(h.count)}`);
    this.sample(`${name}_sum`, labelText, h.sum / 1000);
    this.sample(`${name}_count`, labelText, h.count);
  }
  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}

/**
 * Render the exposition: one `totals` call per queue (grouped by type, run concurrently), plus counters and the
 * worker registry. Each series' label text is escaped once and reused for all of its samples.
 */
export async function renderPrometheus(options: ResolvedOptions): Promise<string> {
  const { queue, storage, metrics } = options.backend;
  const now = await queue.now();
  const [queues, workers] = await Promise.all([queue.listQueues(), storage.listWorkers()]);
  const from = Math.floor((now - COUNTER_WINDOW_MS) / DAY) * DAY;
  const perQueue = await Promise.all(
    queues.map(async (info) => ({
      queue: info.name,
      rows: await metrics.totals({ granularity: 'day', from, to: now + DAY, queue: info.name, groupBy: 'type' }),
    })),
  );
  /** Each (queue, type) row with its rendered `queue="…",type="…"` labels. */
  const pairs: Array<{ labels: string; row: MetricsTotals }> = [];
  for (const { queue: name, rows } of perQueue) {
    for (const row of rows)
      if (row.key !== null) pairs.push({ labels: labelList({ queue: name, type: row.key }), row });
  }

  const out = new Exposition();
  out.family('conveyor_jobs_enqueued_total', 'counter', 'Jobs enqueued, by queue and type.');
  for (const { labels, row } of pairs) out.sample('conveyor_jobs_enqueued_total', labels, row.enqueued);

  out.family(
    'conveyor_jobs_processed_total',
    'counter',
    'Finished executions by queue, type and status (success, failed = failed for good, retried = failed and retried, stalled).',
  );
  for (const { labels, row } of pairs) {
    out.sample('conveyor_jobs_processed_total', `${labels},status="success"`, row.completed);
    out.sample('conveyor_jobs_processed_total', `${labels},status="failed"`, row.failed);
    out.sample('conveyor_jobs_processed_total', `${labels},status="retried"`, row.retried);
    out.sample('conveyor_jobs_processed_total', `${labels},status="stalled"`, row.stalled);
  }

  out.family('conveyor_job_duration_seconds', 'histogram', 'Execution duration, by queue and type.');
  for (const { labels, row } of pairs) out.histogram('conveyor_job_duration_seconds', labels, row.duration);

  out.family('conveyor_job_wait_seconds', 'histogram', 'Time from a job being ready (runAt) to being claimed.');
  for (const { labels, row } of pairs) out.histogram('conveyor_job_wait_seconds', labels, row.wait);

  out.family('conveyor_jobs', 'gauge', 'Jobs by queue and state, now.');
  const queueLabels = queues.map((info) => labelList({ queue: info.name }));
  queues.forEach((info, i) => {
    for (const [state, count] of Object.entries(info.counts)) {
      out.sample('conveyor_jobs', `${queueLabels[i] as string},${labelList({ state })}`, count);
    }
  });

  out.family('conveyor_queue_latency_seconds', 'gauge', 'Age of the oldest waiting job of each queue (0 when none).');
  queues.forEach((info, i) => {
    const age = info.oldestWaitingAt === null ? 0 : Math.max(0, now - info.oldestWaitingAt) / 1000;
    out.sample('conveyor_queue_latency_seconds', queueLabels[i] as string, age);
  });

  out.family('conveyor_workers', 'gauge', 'Registered workers by status (stale: not seen within staleWorkerMs).');
  const live = workers.filter((w) => isLiveWorker(w, now, options.staleWorkerMs)).length;
  out.sample('conveyor_workers', 'status="active"', live);
  out.sample('conveyor_workers', 'status="stale"', workers.length - live);

  out.family('conveyor_up', 'gauge', '1 when the dashboard could read the backend.');
  out.sample('conveyor_up', '', 1);
  return out.toString();
}
