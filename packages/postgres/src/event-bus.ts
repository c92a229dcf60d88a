import { randomUUID } from 'node:crypto';
import type { AdapterCapabilities, ConveyorEvent, EventBus, EventListener, SubscribeOptions } from '@conveyor/core';
import { conveyorMessage, WatchProbe } from '@conveyor/core';
import type { LocalBus, Queryable } from './context';
import { PgContext } from './context';
import type { PostgresOptions } from './options';
import { COMPONENT, closedError, POSTGRES_CAPABILITIES, validationError, wrapError } from './options';

/** NOTIFY refuses payloads of 8000 bytes or more; this leaves room for the envelope. */
const MAX_PAYLOAD_BYTES = 7_900;
/** Overflow rows are read by listeners within moments; older ones are deleted. */
const OVERFLOW_KEEP = '10 minutes';

/** {@link PostgresEventBus.hasWatchers} reads `pg_locks` at most this often and answers from the last reply meanwhile. */
const WATCH_CHECK_MS = 1_000;

/** What one NOTIFY carries: the publisher's origin and either the events or the ids of overflow rows. */
interface Envelope {
  o: string;
  e?: ConveyorEvent[];
  r?: number[];
}

/**
 * Split events into NOTIFY payloads of at most {@link MAX_PAYLOAD_BYTES}, in order. Events that do not fit alone are
 * returned apart (they go through the overflow table).
 */
export function packEvents(events: ConveyorEvent[], origin: string): { payloads: string[]; oversized: string[] } {
  const payloads: string[] = [];
  const oversized: string[] = [];
  const head = `{"o":${JSON.stringify(origin)},"e":[`;
  let parts: string[] = [];
  let size = Buffer.byteLength(head) + 2;
  const flush = () => {
    if (parts.length > 0) payloads.push(`${head}${parts.join(',')}]}`);
    parts = [];
    size = Buffer.byteLength(head) + 2;
  };
  for (const event of events) {
    const text = JSON.stringify(event);
    const bytes = Buffer.byteLength(text);
    if (bytes + Buffer.byteLength(head) + 2 > MAX_PAYLOAD_BYTES) {
      flush();
      oversized.push(text);
      continue;
    }
    if (size + bytes + 1 > MAX_PAYLOAD_BYTES) flush();
    parts.push(text);
    size += bytes + 1;
  }
  flush();
  return { payloads, oversized };
}

/**
 * Send `events` on `channel` through `client`. Inside the caller's transaction the notifications (and so the
 * events) are delivered only if it commits. Oversized events are stored in `event_overflow` and announced by id.
 */
export async function notifyEvents(
  ctx: PgContext,
  events: ConveyorEvent[],
  origin: string,
  client?: Queryable,
): Promise<void> {
  const { payloads, oversized } = packEvents(events, origin);
  if (oversized.length > 0) {
    const rows = await ctx.query<{ id: number }>(
      `WITH pruned AS (
         DELETE FROM ${ctx.s}.event_overflow WHERE created_at < now() - interval '${OVERFLOW_KEEP}'
       )
       INSERT INTO ${ctx.s}.event_overflow (body) SELECT b FROM unnest($1::text[]) WITH ORDINALITY AS x(b, n) ORDER BY n
       RETURNING id`,
      [oversized],
      'storing large events',
      client,
    );
    const ids = rows.map((r) => r.id).sort((a, b) => a - b);
    payloads.push(JSON.stringify({ o: origin, r: ids } satisfies Envelope));
  }
  if (payloads.length === 0) return;
  // One round trip for the whole batch. On the pool (not inside a caller's transaction) the commit does not wait for
  // the WAL flush: events are at most once anyway (see PostgresEventBus).
  if (payloads.length === 1) {
    await ctx.query(
      client === undefined ? `SELECT pg_notify($1, $2) FROM ${ctx.relaxedCommit}` : 'SELECT pg_notify($1, $2)',
      [ctx.eventChannel, payloads[0]],
      'publishing events',
      client,
      client === undefined ? `notify_one${ctx.recordsTag}` : undefined,
    );
    return;
  }
  // The payloads travel as one JSON array (native JSON.stringify), not a text[] literal the driver escapes by hand.
  await ctx.query(
    `SELECT pg_notify($1, p) FROM json_array_elements_text($2::json) WITH ORDINALITY AS x(p, n)${
      client === undefined ? ` CROSS JOIN ${ctx.relaxedCommit}` : ''
    } ORDER BY n`,
    [ctx.eventChannel, JSON.stringify(payloads)],
    'publishing events',
    client,
    client === undefined ? `notify_many${ctx.recordsTag}` : undefined,
  );
}

/**
 * {@link EventBus} over LISTEN/NOTIFY: events cross processes (`crossProcessEvents`). A publisher delivers to its
 * own subscribers at once and skips the echo of its own notifications.
 *
 * Size: events are packed into NOTIFY payloads of at most 7,900 bytes (Postgres refuses 8,000). An event larger than
 * that alone is written to the `event_overflow` table and the notification carries its row id; listeners read the
 * body from there (rows older than ten minutes are deleted on the next overflow write).
 *
 * Delivery is at most once and keeps no backlog: a subscriber that is not connected when an event is sent (its LISTEN
 * connection was reconnecting) misses it. Notifications are delivered in commit order; a batch is delivered in
 * publish order.
 */
export class PostgresEventBus implements EventBus, LocalBus {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = POSTGRES_CAPABILITIES;
  /** Identifies this bus's notifications, so it does not deliver its own events twice. */
  readonly origin = randomUUID();
  private readonly echoPrefix = `{"o":${JSON.stringify(this.origin)},`;
  private readonly ctx: PgContext;
  private readonly listeners = new Set<EventListener>();
  private closed = false;
  private unlisten: (() => Promise<void>) | undefined;
  /** Notifications are handled one after another, so an overflow read never lets a later event overtake. */
  private chain: Promise<void> = Promise.resolve();
  /** Subscriptions that are not `internal`; while any exist the LISTEN connection holds the watch key. */
  private watching = 0;
  /** Changes of the watch lock, one after another. */
  private watchChain: Promise<void> = Promise.resolve();
  /** Watchers in other processes: holders of the watch key in `pg_locks`, read at most once a second. */
  private readonly watchProbe = new WatchProbe(
    async () => {
      const rows = await this.ctx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
           AND ((classid::bigint << 32) | objid::bigint) = hashtextextended($1, 0)`,
        [this.watchKey()],
        'reading event watchers',
      );
      return (rows[0]?.n ?? 1) > 0;
    },
    (error) =>
      this.ctx.logger.debug(conveyorMessage(COMPONENT, 'could not read the event watchers; assuming some.'), {
        error: error instanceof Error ? error.message : String(error),
      }),
    WATCH_CHECK_MS,
  );

  /** Pass options, or the context shared by a backend's adapters. */
  constructor(options: PostgresOptions | PgContext) {
    this.ctx = options instanceof PgContext ? options : new PgContext(options);
    this.ctx.acquire();
    this.ctx.localBus ??= this;
  }

  async init(): Promise<void> {
    this.open();
    await this.ctx.migrate();
    if (this.unlisten !== undefined) return;
    try {
      this.unlisten = await this.ctx.listener().listen(this.ctx.eventChannel, (payload) => this.receive(payload));
    } catch (error) {
      throw wrapError(error, 'listening for events');
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.listeners.clear();
    if (this.watching > 0) {
      this.watching = 0;
      this.setWatch(false);
    }
    await this.watchChain;
    const unlisten = this.unlisten;
    this.unlisten = undefined;
    await unlisten?.();
    await this.chain;
    if (this.ctx.localBus === this) this.ctx.localBus = undefined;
    await this.ctx.release();
  }

  async publish(events: ConveyorEvent[]): Promise<void> {
    this.open();
    if (!Array.isArray(events)) throw validationError('publish takes an array of events.');
    if (events.length === 0) return;
    this.deliver(events);
    await notifyEvents(this.ctx, events, this.origin);
  }

  subscribe(listener: EventListener, options: SubscribeOptions = {}): () => void {
    this.open();
    const entry: EventListener = (event) => listener(event);
    this.listeners.add(entry);
    const watcher = options.internal !== true;
    if (watcher && ++this.watching === 1) this.setWatch(true);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners.delete(entry);
      if (watcher && --this.watching === 0) this.setWatch(false);
    };
  }

  /**
   * Whether a subscriber that is not the runtime's own exists on this schema, here or in another process. A watched
   * bus holds a shared advisory lock on its LISTEN connection (gone with the connection); others read `pg_locks` at
   * most once a second, so a new watcher elsewhere is seen within about a second. Until the first reply: true.
   */
  hasWatchers(): boolean {
    if (this.watching > 0) return true;
    return this.closed ? this.watchProbe.last() : this.watchProbe.read();
  }

  private watchKey(): string {
    return `conveyor:watch:${this.ctx.schema}`;
  }

  private setWatch(on: boolean): void {
    const key = on ? this.watchKey() : null;
    this.watchChain = this.watchChain
      .then(() => this.ctx.listener().holdWatch(key))
      .catch((error: unknown) => {
        this.ctx.logger.warn(conveyorMessage(COMPONENT, 'could not change this bus’s event-watcher lock.'), {
          error: error instanceof Error ? error.message : String(error),
        });
      });
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  /** Backend pid of the LISTEN connection, or null while it reconnects (for operational checks and tests). */
  listenerPid(): number | null {
    return this.ctx.listener().pid;
  }

  private open(): void {
    if (this.closed) throw closedError('Postgres event bus');
  }

  private receive(payload: string): void {
    // Our own echo: already delivered at publish. Recognised by its prefix, without parsing it.
    if (payload.startsWith(this.echoPrefix)) return;
    let envelope: Envelope;
    try {
      envelope = JSON.parse(payload) as Envelope;
    } catch {
      this.ctx.logger.warn(conveyorMessage(COMPONENT, 'ignored a malformed event notification.'));
      return;
    }
    if (envelope.o === this.origin) return;
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      if (envelope.e !== undefined) this.deliver(envelope.e);
      if (envelope.r !== undefined && envelope.r.length > 0) {
        try {
          const rows = await this.ctx.query<{ body: string }>(
            `SELECT body FROM ${this.ctx.s}.event_overflow WHERE id = ANY($1::bigint[]) ORDER BY id`,
            [envelope.r],
            'reading large events',
          );
          this.deliver(rows.map((r) => JSON.parse(r.body) as ConveyorEvent));
        } catch (error) {
          this.ctx.logger.error(conveyorMessage(COMPONENT, 'could not read large events; they were skipped.'), {
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    });
  }

  /** @inheritdoc */
  deliverLocal(events: ConveyorEvent[]): void {
    if (!this.closed) this.deliver(events);
  }

  private deliver(events: ConveyorEvent[]): void {
    if (this.listeners.size === 0) return;
    const targets = [...this.listeners];
    for (const event of events) {
      for (const listener of targets) {
        try {
          listener(event);
        } catch (error) {
          this.ctx.logger.error(conveyorMessage(COMPONENT, 'an event listener threw; the other listeners still ran.'), {
            eventType: event.type,
            eventId: event.id,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    }
  }
}
