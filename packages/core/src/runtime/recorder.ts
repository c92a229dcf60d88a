import type { Backend } from '../contracts/backend';
import type { ConveyorEvent, EventBus } from '../contracts/events';
import type { Logger } from '../contracts/logger';
import type { MetricEvent } from '../contracts/metrics-adapter';
import type { ExecutionRecord } from '../contracts/storage-adapter';
import { Flusher, type FlusherOptions } from './flusher';

/** How the runtime batches what it writes besides job state. */
export interface RecorderOptions {
  /** Flush a buffer once it holds this many items. @default 1000 */
  maxBatch?: number;
  /** Flush at the latest this long after the first buffered item; 0 means "next event-loop turn". @default 0 */
  maxDelayMs?: number;
}

/**
 * The runtime's write-behind for execution records, metrics and bus events: three {@link Flusher}s over one
 * backend. Everything a job produces in one burst of work reaches the store in one call per kind.
 *
 * Metric semantics (what the runtime records):
 * - `enqueued`: a job was stored (not counted when the enqueue was deduplicated);
 * - `started`: an attempt began, with `waitMs` = claim time − `runAt`;
 * - `completed`: an attempt succeeded, with `durationMs`;
 * - `retried`: an attempt failed (or timed out) and the job will run again, with `durationMs`;
 * - `failed`: an attempt failed and the job is now `failed` for good, with `durationMs`;
 * - `stalled`: a lease expired and the stalled sweep took the job back.
 */
export class Recorder {
  readonly executions: Flusher<ExecutionRecord>;
  readonly metrics: MetricBatcher;
  readonly events: Flusher<ConveyorEvent>;
  private readonly bus: EventBus;

  constructor(backend: Backend, logger: Logger, options: RecorderOptions = {}, onError?: (error: unknown) => void) {
    const maxSize = options.maxBatch ?? 1000;
    const maxDelayMs = options.maxDelayMs ?? 0;
    const common = { maxSize, maxDelayMs, logger, ...(onError === undefined ? {} : { onError }) };
    this.executions = new Flusher({
      ...common,
      name: 'execution records',
      write: (items) => backend.storage.recordExecutions(items),
    });
    this.metrics = new MetricBatcher({
      ...common,
      name: 'metric events',
      write: (items) => backend.metrics.record(items),
    });
    this.events = new Flusher({ ...common, name: 'events', write: (items) => backend.events.publish(items) });
    this.bus = backend.events;
  }

  /**
   * Whether per-job events (`job.started`, `job.completed`, …) can reach anyone: always on a cross-process bus;
   * on an in-process bus only while someone besides the runtime's own wake-up listeners is subscribed (a dashboard
   * stream, a test, user code). Building and delivering events nobody receives is most of the cost of a no-op job.
   */
  wantsJobEvents(): boolean {
    const bus = this.bus;
    return bus.capabilities.crossProcessEvents || bus.listenerCount() > internalSubscriptions(bus);
  }

  /** Write everything buffered now. */
  async flush(): Promise<void> {
    await Promise.all([this.executions.flush(), this.metrics.flush(), this.events.flush()]);
  }

  /** Final flush; nothing is scheduled afterwards. */
  async close(): Promise<void> {
    await Promise.all([this.executions.close(), this.metrics.close(), this.events.close()]);
  }
}

/**
 * Metric events, merged on the way in: observations with the same kind, queue, type, second, duration and wait
 * become one event with a `count`. Bucket placement and histogram sums are exactly as if each were recorded alone,
 * and a burst of similar jobs costs the metrics store one entry instead of thousands.
 */
export class MetricBatcher {
  private readonly flusher: Flusher<MetricEvent>;
  private pending = new Map<string, MetricEvent>();

  constructor(options: FlusherOptions<MetricEvent>) {
    const write = options.write;
    this.flusher = new Flusher<MetricEvent>({
      ...options,
      write: (items) => {
        // The batch leaves now: later observations must not add to events already handed to the store.
        this.pending = new Map();
        return write(items);
      },
    });
  }

  /** Events waiting to be written. */
  get size(): number {
    return this.flusher.size;
  }

  /** Record one observation (or add it to an identical one still buffered). */
  push(event: MetricEvent): void {
    const key = `${event.kind}|${event.queue}|${event.type}|${Math.floor(event.at / 1000)}|${event.durationMs ?? ''}|${event.waitMs ?? ''}`;
    const existing = this.pending.get(key);
    if (existing !== undefined) {
      existing.count = (existing.count ?? 1) + (event.count ?? 1);
      return;
    }
    this.pending.set(key, event);
    this.flusher.push(event);
  }

  flush(): Promise<void> {
    return this.flusher.flush();
  }

  close(): Promise<void> {
    return this.flusher.close();
  }
}

const internal = new WeakMap<EventBus, number>();

function internalSubscriptions(bus: EventBus): number {
  return internal.get(bus) ?? 0;
}

/**
 * Subscribe a runtime-internal listener (a worker's wake-up listener). It is counted apart, so it alone does not
 * make the runtime build per-job events (see {@link Recorder.wantsJobEvents}).
 */
export function subscribeInternal(bus: EventBus, listener: (event: ConveyorEvent) => void): () => void {
  const unsubscribe = bus.subscribe(listener);
  internal.set(bus, internalSubscriptions(bus) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    unsubscribe();
    internal.set(bus, Math.max(0, internalSubscriptions(bus) - 1));
  };
}
