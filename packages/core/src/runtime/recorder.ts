import type { Backend } from '../contracts/backend';
import type { ConveyorEvent, EventBus } from '../contracts/events';
import type { Logger } from '../contracts/logger';
import type { MetricEvent, MetricKind } from '../contracts/metrics-adapter';
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
   * Whether per-job events (`job.started`, `job.completed`, …) can reach anyone: what the bus says when it can tell
   * (`hasWatchers`), else always on a cross-process bus, and on an in-process bus only while someone besides the
   * runtime's own wake-up listeners is subscribed (a dashboard stream, a test, user code). Building and delivering events nobody receives is most of the cost of a no-op job.
   */
  wantsJobEvents(): boolean {
    const bus = this.bus;
    if (bus.hasWatchers !== undefined) return bus.hasWatchers();
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
 * Metric events, merged on the way in: observations with the same kind, queue, type, second and duration (or
 * wait) become one event with a `count`. Bucket placement and histogram sums are exactly as if each were recorded
 * alone, and a burst of similar jobs costs the metrics store one entry instead of thousands. An observation that
 * merges allocates nothing.
 */
export class MetricBatcher {
  private readonly flusher: Flusher<MetricEvent>;
  /** queue → type → the events of the current second that can still absorb observations. */
  private open = new Map<string, Map<string, MergeSlot>>();
  /** The slot of the last (queue, type) observed: a worker's observations nearly always repeat it. */
  private lastQueue: string | null = null;
  private lastType: string | null = null;
  private lastSlot: MergeSlot | null = null;

  constructor(options: FlusherOptions<MetricEvent>) {
    const write = options.write;
    this.flusher = new Flusher<MetricEvent>({
      ...options,
      write: (items) => {
        // The batch leaves now: later observations must not add to events already handed to the store.
        this.open = new Map();
        this.lastSlot = null;
        return write(items);
      },
    });
  }

  /** Events waiting to be written. */
  get size(): number {
    return this.flusher.size;
  }

  /** Record one event as given (no merging). */
  push(event: MetricEvent): void {
    this.flusher.push(event);
  }

  /**
   * Record one observation of `kind`, with a duration or a wait (whole milliseconds merge; anything else is
   * recorded as its own event).
   */
  observe(kind: MetricKind, queue: string, type: string, at: number, durationMs?: number, waitMs?: number): void {
    const value = durationMs === undefined ? waitMs : waitMs === undefined ? durationMs : -1;
    if (value !== undefined && !(Number.isInteger(value) && value >= 0 && value < MAX_MERGED_VALUE)) {
      this.flusher.push(metricEvent(kind, queue, type, at, durationMs, waitMs));
      return;
    }
    const second = Math.floor(at / 1000);
    let slot = queue === this.lastQueue && type === this.lastType ? this.lastSlot : null;
    if (slot === null) {
      let byType = this.open.get(queue);
      if (byType === undefined) {
        byType = new Map();
        this.open.set(queue, byType);
      }
      slot = byType.get(type) ?? null;
      if (slot === null) {
        slot = { second, events: new Map(), seconds: new Map() };
        slot.seconds.set(second, slot.events);
        byType.set(type, slot);
      }
      this.lastQueue = queue;
      this.lastType = type;
      this.lastSlot = slot;
    }
    if (slot.second !== second) {
      // Time moves forward in practice, so the last second is cached; older seconds stay mergeable too.
      let events = slot.seconds.get(second);
      if (events === undefined) {
        events = new Map();
        slot.seconds.set(second, events);
      }
      slot.second = second;
      slot.events = events;
    }
    const key =
      KIND_INDEX[kind] * MAX_MERGED_VALUE * 2 +
      (value === undefined ? 0 : value + 1) * 2 +
      (waitMs === undefined ? 0 : 1);
    const existing = slot.events.get(key);
    if (existing !== undefined) {
      existing.count = (existing.count ?? 1) + 1;
      return;
    }
    const event = metricEvent(kind, queue, type, at, durationMs, waitMs);
    slot.events.set(key, event);
    this.flusher.push(event);
  }

  flush(): Promise<void> {
    return this.flusher.flush();
  }

  close(): Promise<void> {
    return this.flusher.close();
  }
}

interface MergeSlot {
  /** The second last observed, and its events (a cache of `seconds.get(second)`). */
  second: number;
  events: Map<number, MetricEvent>;
  seconds: Map<number, Map<number, MetricEvent>>;
}

/** Durations and waits under ~4.6 hours merge (keys stay small integers); longer ones are recorded one by one. */
const MAX_MERGED_VALUE = 2 ** 24;
const KIND_INDEX: Record<MetricKind, number> = {
  enqueued: 0,
  started: 1,
  completed: 2,
  failed: 3,
  retried: 4,
  stalled: 5,
  timeout: 6,
};

function metricEvent(
  kind: MetricKind,
  queue: string,
  type: string,
  at: number,
  durationMs: number | undefined,
  waitMs: number | undefined,
): MetricEvent {
  const event: MetricEvent = { kind, queue, type, at, count: 1 };
  if (durationMs !== undefined) event.durationMs = durationMs;
  if (waitMs !== undefined) event.waitMs = waitMs;
  return event;
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
  const unsubscribe = bus.subscribe(listener, { internal: true });
  internal.set(bus, internalSubscriptions(bus) + 1);
  let done = false;
  return () => {
    if (done) return;
    done = true;
    unsubscribe();
    internal.set(bus, Math.max(0, internalSubscriptions(bus) - 1));
  };
}
