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
  subscribe(listener: EventListener): () => void;
  /** Number of live subscriptions (used to prove that closed streams leave nothing behind). */
  listenerCount(): number;
}
