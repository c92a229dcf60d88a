import type { AdapterCapabilities } from './capabilities';

export const EVENT_TYPES = [
  'job.enqueued',
  'job.started',
  'job.progress',
  'job.completed',
  'job.failed',
  'job.retrying',
  'job.cancelled',
  'job.deleted',
  'queue.paused',
  'queue.resumed',
  'worker.started',
  'worker.heartbeat',
  'worker.stopped',
] as const;

export type ConveyorEventType = (typeof EVENT_TYPES)[number];

/** The one event shape used by the in-process emitter, the event bus, SSE `data:` and WebSocket messages. */
export interface ConveyorEvent {
  /** Unique and, within one bus, increasing where the backend allows (usable as SSE `id:`). */
  id: string;
  type: ConveyorEventType;
  /** ISO-8601 UTC. */
  timestamp: string;
  queue?: string;
  jobId?: string;
  workerId?: string;
  data: Record<string, unknown>;
}

export type EventListener = (event: ConveyorEvent) => void;

/** Options of {@link EventBus.subscribe}; buses may accept more (a resume position, say). */
export interface SubscribeOptions {
  /**
   * The subscriber is the runtime's own (a worker's wake-up listener): it does not make anyone a watcher (see
   * {@link EventBus.hasWatchers}). @default false
   */
  internal?: boolean;
}

/**
 * Publish / subscribe of {@link ConveyorEvent}s. Networked backends deliver across processes
 * (`capabilities.crossProcessEvents`); a subscriber also receives events published by its own process.
 */
export interface EventBus {
  readonly capabilities: AdapterCapabilities;
  init(): Promise<void>;
  close(): Promise<void>;
  /** Publish a batch; resolves once handed to the transport. */
  publish(events: ConveyorEvent[]): Promise<void>;
  /** Receive every event from now on. Returns the function that unsubscribes. */
  subscribe(listener: EventListener, options?: SubscribeOptions): () => void;
  /**
   * Optional. Whether any subscriber that is not `internal` exists, in this process or (on a cross-process bus) in
   * any other, as far as the bus knows now; it may lag a new watcher by a second or two. The runtime builds per-job
   * events (`job.started`, `job.completed`) only while this is true, so a fleet of workers with no dashboard open
   * does not pay for events nobody reads. A bus that cannot tell leaves it out; the runtime then assumes a
   * cross-process bus is watched.
   */
  hasWatchers?(): boolean;
  /** Number of live subscriptions (used to prove that closed streams leave nothing behind). */
  listenerCount(): number;
}
