import type { ConveyorEvent, ConveyorEventType } from '../../contracts/events';
import { DashboardHttpError, safeJsonStringify } from '../http';
import type { ResolvedOptions } from '../options';
import type { Redactor } from '../redact';

/** What a live client asked to receive. */
export interface EventFilter {
  /** Only these types; all when null. */
  types: ReadonlySet<ConveyorEventType> | null;
  /** Only events about this queue; all when null. */
  queue: string | null;
}

/** Does `event` pass `filter`? */
export function matches(filter: EventFilter, event: ConveyorEvent): boolean {
  if (filter.types !== null && !filter.types.has(event.type)) return false;
  if (filter.queue !== null && event.queue !== filter.queue) return false;
  return true;
}

/**
 * Counts live clients (SSE and WebSocket together) against `maxConnections` and prepares events for them. Each
 * client holds one bus subscription, released exactly once when it leaves, so a closed client leaves no listener.
 */
export class LiveHub {
  private open = 0;

  constructor(
    private readonly options: ResolvedOptions,
    private readonly redactor: Redactor,
  ) {}

  /** Live clients now. */
  get connections(): number {
    return this.open;
  }

  /**
   * Reserve a connection slot; throws 503 when none is left. Returns the function that gives it back (idempotent).
   */
  acquire(): () => void {
    if (this.open >= this.options.maxConnections) {
      throw new DashboardHttpError(
        'CONNECTION_FAILED',
        `too many live event connections (at most ${this.options.maxConnections}). Close other dashboard tabs, poll /api/stats/live, or raise \`maxConnections\`.`,
        { status: 503, headers: { 'retry-after': '5' } },
      );
    }
    this.open++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
    };
  }

  /** Subscribe to the bus with a listener that never throws into the bus. */
  subscribe(listener: (event: ConveyorEvent) => void): () => void {
    const unsubscribe = this.options.backend.events.subscribe((event) => {
      try {
        listener(event);
      } catch (error) {
        this.options.logger.warn('[conveyor] [dashboard] a live client failed to take an event.', {
          error: error instanceof Error ? error.message : String(error),
        });
      }
    });
    let done = false;
    return () => {
      if (done) return;
      done = true;
      unsubscribe();
    };
  }

  /** The event as JSON text, redacted. */
  serialise(event: ConveyorEvent): string {
    return safeJsonStringify(this.redactor.none ? event : { ...event, data: this.redactor.apply(event.data, 'event') });
  }
}
