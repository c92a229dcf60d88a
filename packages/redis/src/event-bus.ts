import { randomUUID } from 'node:crypto';
import type { AdapterCapabilities, ConveyorEvent, EventBus, EventListener, SubscribeOptions } from '@conveyor/core';
import { conveyorMessage, WatchProbe } from '@conveyor/core';
import { type RedisClient, RedisConnection } from './connection';
import { COUNT_WATCHERS, WATCH_EVENTS } from './lua/storage';
import type { RedisBackendOptions } from './options';
import { COMPONENT, closedError, REDIS_CAPABILITIES, validationError } from './options';

/** How long one blocking read waits before it loops (it returns at once when events arrive). */
const BLOCK_MS = 1000;
const READ_COUNT = 200;
/** Events per stream entry: a publish of more is split, so the stream's cap bounds memory. */
export const EVENTS_PER_ENTRY = 100;
/** Stream entries a resume looks back through to find `lastEventId`. */
const RESUME_SCAN_ENTRIES = 10_000;

/** A watched bus renews its presence this often; a presence not renewed lapses after `WATCH_TTL_MS`. */
const WATCH_RENEW_MS = 10_000;
const WATCH_TTL_MS = 30_000;
/** {@link RedisEventBus.hasWatchers} asks Redis at most this often and answers from the last reply meanwhile. */
const WATCH_CHECK_MS = 1_000;

/** Options of {@link RedisEventBus.subscribe}. */
export interface RedisSubscribeOptions extends SubscribeOptions {
  /**
   * Resume after this event id (an SSE client's `Last-Event-ID`): the events published after it that the capped
   * stream still holds are delivered first, then live ones. When the id is no longer in the stream (trimmed), only
   * live events follow and a warning is logged. Without it, delivery starts with events published from now on.
   * @default undefined
   */
  lastEventId?: string;
}

interface Position {
  entry: string;
  index: number;
}

interface Subscription {
  listener: EventListener;
  /** Last stream position delivered: only later events reach the listener, in order, once each. */
  last: Position | null;
  /** While the missed events of a resumed subscription are read, live entries wait here. */
  buffer: [string, string[]][] | null;
}

function entryCompare(a: string, b: string): number {
  const [am, as] = a.split('-').map(Number) as [number, number];
  const [bm, bs] = b.split('-').map(Number) as [number, number];
  return am - bm || as - bs;
}

function decodeBatch(fields: string[]): ConveyorEvent[] {
  const i = fields.indexOf('e');
  if (i < 0) return [];
  try {
    return JSON.parse(fields[i + 1] as string) as ConveyorEvent[];
  } catch {
    return [];
  }
}

/**
 * {@link EventBus} on a capped Redis stream (`{prefix}:events`, `XADD MAXLEN ~`). A `publish` call writes its
 * events as stream entries of up to {@link EVENTS_PER_ENTRY} each, so events cost one command per hundred, not one
 * per event, and the cap (`eventStreamMaxLen` entries) bounds the stream at that many × 100 events. Each process reads the
 * stream with one blocking `XREAD` on its own connection while it has subscribers. Events keep the id their
 * publisher gave them; pass an SSE client's `Last-Event-ID` as `subscribe(listener, { lastEventId })` to get what
 * it missed first (as far back as the stream's cap reaches).
 *
 * Pub/sub was the alternative; the stream costs a little memory but lets a reconnecting dashboard catch up.
 */
export class RedisEventBus implements EventBus {
  /** @inheritdoc */
  readonly capabilities: AdapterCapabilities = REDIS_CAPABILITIES;
  private readonly conn: RedisConnection;
  private readonly key: string;
  private readonly subs = new Set<Subscription>();
  private closed = false;
  private reader: RedisClient | undefined;
  private loop: Promise<void> | undefined;
  /** Where the reader continues: an entry id, or a promise for the stream's end when the reader started. */
  private cursor: string | Promise<string> = '$';
  /** This bus's id in the watchers set. */
  private readonly busId = randomUUID();
  /** Subscriptions that are not `internal`: while there are any, this bus keeps its presence as a watcher. */
  private watching = 0;
  private watchTimer: ReturnType<typeof setInterval> | undefined;
  /** Watchers in other processes, read from Redis at most once a second. */
  private readonly watchProbe = new WatchProbe(
    async () => Number(await this.conn.run(COUNT_WATCHERS, [])) > 0,
    (error) =>
      this.conn.logger.debug(conveyorMessage(COMPONENT, 'could not read the event watchers; assuming some.'), {
        error: error instanceof Error ? error.message : String(error),
      }),
    WATCH_CHECK_MS,
  );

  /** Pass options to own a connection, or a {@link RedisConnection} to share one with the other adapters. */
  constructor(options: RedisBackendOptions | RedisConnection = {}) {
    this.conn = options instanceof RedisConnection ? options : new RedisConnection(options);
    this.conn.acquire();
    this.key = `{${this.conn.prefix}}:events`;
  }

  async init(): Promise<void> {
    this.open();
    await this.conn.checkServer();
  }

  /** Stops the reader and drops every subscription. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.subs.clear();
    if (this.watching > 0) {
      this.watching = 0;
      await this.stopWatching();
    }
    await this.stopReader();
    await this.conn.release();
  }

  async publish(events: ConveyorEvent[]): Promise<void> {
    this.open();
    if (!Array.isArray(events)) throw validationError('publish takes an array of events.');
    if (events.length === 0) return;
    const bodies: string[] = [];
    try {
      for (let i = 0; i < events.length; i += EVENTS_PER_ENTRY) {
        bodies.push(JSON.stringify(events.slice(i, i + EVENTS_PER_ENTRY)));
      }
    } catch (error) {
      throw validationError(`events must be JSON-serialisable (${error instanceof Error ? error.message : error}).`);
    }
    const maxLen = this.conn.eventStreamMaxLen;
    if (bodies.length === 1) {
      await this.conn.client.xadd(this.key, 'MAXLEN', '~', maxLen, '*', 'e', bodies[0] as string);
      return;
    }
    // One round trip; MULTI keeps the entries of one publish adjacent in the stream.
    const tx = this.conn.client.multi();
    for (const body of bodies) tx.xadd(this.key, 'MAXLEN', '~', maxLen, '*', 'e', body);
    const replies = await tx.exec();
    const failed = replies?.find(([error]) => error !== null);
    if (failed) throw failed[0];
  }

  /**
   * Receive every event published from now on (by any process on this prefix, this one included), or, with
   * `lastEventId`, the retained events after that one first. Returns the function that unsubscribes.
   */
  subscribe(listener: EventListener, options: RedisSubscribeOptions = {}): () => void {
    this.open();
    const resumeAfter = options.lastEventId;
    if (resumeAfter !== undefined && (typeof resumeAfter !== 'string' || resumeAfter.length === 0)) {
      throw validationError('lastEventId must be a non-empty string (the id of an event this bus delivered).');
    }
    const sub: Subscription = { listener, last: null, buffer: resumeAfter === undefined ? null : [] };
    this.subs.add(sub);
    const watcher = options.internal !== true;
    if (watcher && ++this.watching === 1) this.startWatching();
    if (this.loop === undefined) {
      // Ask for the stream's current end on the command connection now: a publish made after this call is queued
      // behind it on the same connection, so the reader cannot miss it.
      this.cursor = this.conn.client
        .xrevrange(this.key, '+', '-', 'COUNT', 1)
        .then((reply) => (reply as [string, string[]][])[0]?.[0] ?? '0-0');
      const reader = this.conn.duplicate();
      this.reader = reader;
      this.loop = this.readLoop(reader);
    }
    if (resumeAfter !== undefined) void this.replay(sub, resumeAfter);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.subs.delete(sub);
      if (watcher && --this.watching === 0) void this.stopWatching();
      if (this.subs.size === 0) void this.stopReader();
    };
  }

  listenerCount(): number {
    return this.subs.size;
  }

  /**
   * Whether a subscriber that is not the runtime's own exists on this prefix, in this process or another: a
   * dashboard stream, user code. Other processes' presence is read from Redis at most once a second (a new watcher
   * elsewhere is seen within about a second); until the first reply the answer is true.
   */
  hasWatchers(): boolean {
    if (this.watching > 0) return true;
    return this.closed ? this.watchProbe.last() : this.watchProbe.read();
  }

  private startWatching(): void {
    void this.renewWatch();
    this.watchTimer = setInterval(() => void this.renewWatch(), WATCH_RENEW_MS);
    this.watchTimer.unref?.();
  }

  private async renewWatch(): Promise<void> {
    try {
      await this.conn.run(WATCH_EVENTS, [this.busId, WATCH_TTL_MS]);
    } catch (error) {
      this.conn.logger.warn(conveyorMessage(COMPONENT, 'could not renew this bus as an event watcher; retrying.'), {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private async stopWatching(): Promise<void> {
    if (this.watchTimer !== undefined) clearInterval(this.watchTimer);
    this.watchTimer = undefined;
    try {
      await this.conn.run(WATCH_EVENTS, [this.busId, '']);
    } catch {
      // The presence lapses by itself after WATCH_TTL_MS.
    }
  }

  private async stopReader(): Promise<void> {
    const reader = this.reader;
    const loop = this.loop;
    this.reader = undefined;
    this.loop = undefined;
    if (reader === undefined) return;
    reader.disconnect();
    await loop;
  }

  private async readLoop(reader: RedisClient): Promise<void> {
    let backoff = 50;
    while (this.reader === reader) {
      try {
        const from = await this.cursor;
        const reply = (await reader.xread('COUNT', READ_COUNT, 'BLOCK', BLOCK_MS, 'STREAMS', this.key, from)) as
          | [string, [string, string[]][]][]
          | null;
        backoff = 50;
        if (this.reader !== reader || reply === null) continue;
        for (const [, entries] of reply) {
          for (const [entryId, fields] of entries) {
            this.cursor = entryId;
            this.deliver(entryId, fields);
          }
        }
      } catch (error) {
        if (this.reader !== reader) return;
        this.conn.logger.warn(conveyorMessage(COMPONENT, 'reading the event stream failed; retrying.'), {
          error: error instanceof Error ? error.message : String(error),
        });
        await new Promise((resolve) => setTimeout(resolve, backoff));
        backoff = Math.min(backoff * 2, 2000);
      }
    }
  }

  /**
   * Deliver what a resumed subscription missed: look back through the stream (newest first) for the entry holding
   * `lastEventId`, deliver the events after it, then the live entries that arrived meanwhile.
   */
  private async replay(sub: Subscription, lastEventId: string): Promise<void> {
    try {
      const missed: [string, ConveyorEvent[]][] = [];
      let found: Position | null = null;
      let end = '+';
      let scanned = 0;
      while (found === null && scanned < RESUME_SCAN_ENTRIES) {
        const entries = (await this.conn.client.xrevrange(this.key, end, '-', 'COUNT', 500)) as [string, string[]][];
        if (entries.length === 0) break;
        scanned += entries.length;
        for (const [entryId, fields] of entries) {
          const events = decodeBatch(fields);
          missed.push([entryId, events]);
          const at = events.findIndex((e) => e.id === lastEventId);
          if (at >= 0) {
            found = { entry: entryId, index: at };
            break;
          }
        }
        end = `(${(entries[entries.length - 1] as [string, string[]])[0]}`;
      }
      if (found !== null) {
        sub.last = found;
        for (let i = missed.length - 1; i >= 0; i--) {
          const [entryId, events] = missed[i] as [string, ConveyorEvent[]];
          this.deliverTo(sub, entryId, events);
        }
      } else {
        this.conn.logger.warn(
          conveyorMessage(
            COMPONENT,
            `event ${lastEventId} is no longer in the event stream; resuming with live events.`,
          ),
          { maxLen: this.conn.eventStreamMaxLen },
        );
      }
    } catch (error) {
      this.conn.logger.warn(conveyorMessage(COMPONENT, 'replaying missed events failed; delivering live events.'), {
        error: error instanceof Error ? error.message : String(error),
      });
    }
    const buffered = sub.buffer ?? [];
    sub.buffer = null;
    for (const [entryId, fields] of buffered) this.deliverTo(sub, entryId, decodeBatch(fields));
  }

  /** Hand one stream entry's events to every subscriber (a resuming one buffers them). */
  private deliver(entryId: string, fields: string[]): void {
    const events = decodeBatch(fields);
    for (const sub of [...this.subs]) {
      if (sub.buffer !== null) sub.buffer.push([entryId, fields]);
      else this.deliverTo(sub, entryId, events);
    }
  }

  /** Events after the subscription's last position, in order; a throwing listener is logged. */
  private deliverTo(sub: Subscription, entryId: string, events: ConveyorEvent[]): void {
    // Compare the entry with the last position once: every event of a later entry is new.
    const last = sub.last;
    const c = last === null ? 1 : entryCompare(entryId, last.entry);
    if (c < 0) return;
    const first = c > 0 ? 0 : (last as Position).index + 1;
    for (let i = first; i < events.length; i++) {
      if (!this.subs.has(sub)) return;
      sub.last = { entry: entryId, index: i };
      const event = events[i] as ConveyorEvent;
      try {
        sub.listener(event);
      } catch (error) {
        this.conn.logger.error(conveyorMessage(COMPONENT, 'an event listener threw; the other listeners still ran.'), {
          eventType: event.type,
          eventId: event.id,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  private open(): void {
    if (this.closed) throw closedError('Redis event bus');
  }
}
