import type { AdapterCapabilities } from '../contracts/capabilities';
import { conveyorMessage } from '../contracts/errors';
import type { ConveyorEvent, EventBus, EventListener } from '../contracts/events';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';
import type { MemoryAdapterOptions } from './options';
import { COMPONENT, closedError, MEMORY_CAPABILITIES } from './options';

/**
 * The reference {@link EventBus}: in-process delivery to a set of listeners. It keeps no backlog: an event reaches
 * the listeners subscribed when it is published and is then gone. Delivery is synchronous, in publish order; a
 * listener that throws is logged and does not stop delivery to the others.
 */
export class MemoryEventBus implements EventBus {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = MEMORY_CAPABILITIES;
  private readonly logger: Logger;
  private readonly listeners = new Set<EventListener>();
  private closed = false;

  constructor(options: MemoryAdapterOptions = {}) {
    this.logger = options.logger ?? silentLogger;
  }

  async init(): Promise<void> {
    this.open();
  }

  /** Drops every subscription. */
  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
  }

  async publish(events: ConveyorEvent[]): Promise<void> {
    this.open();
    if (this.listeners.size === 0) return;
    // A snapshot, so listeners that (un)subscribe during delivery do not change who receives this batch.
    const targets = [...this.listeners];
    for (const event of events) {
      for (const listener of targets) {
        try {
          listener(event);
        } catch (error) {
          this.logger.error(conveyorMessage(COMPONENT, 'an event listener threw; the other listeners still ran.'), {
            eventType: event.type,
            eventId: event.id,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.open();
    // Each subscription is its own entry, so subscribing the same function twice needs two unsubscribes.
    const entry: EventListener = (event) => listener(event);
    this.listeners.add(entry);
    return () => {
      this.listeners.delete(entry);
    };
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  private open(): void {
    if (this.closed) throw closedError('memory event bus');
  }
}
