import type { AdapterCapabilities, ConveyorEvent, EventBus, EventListener, SubscribeOptions } from '@conveyor/core';
import { WatchProbe } from '@conveyor/core';
import { SQLITE_CAPABILITIES } from './capabilities';
import { validationError } from './errors';
import type { SqliteBackendOptions, SqliteStore } from './store';
import { SqlitePart } from './store';

interface EventRow {
  seq: number;
  event: string;
}

/** How often a subscribed connection refreshes its presence row. */
const PRESENCE_REFRESH_MS = 2000;
/** A presence row older than this belongs to a connection that died; publishers ignore it. */
const PRESENCE_STALE_MS = 30_000;
/** SQLite's clock in ms: presence is about real time even when a test replaces the store's clock. */
const SQL_NOW = "CAST(unixepoch('subsec') * 1000 AS INTEGER)";

/** {@link SqliteEventBus.hasWatchers} reads other connections' presence at most this often. */
const WATCH_CHECK_MS = 1000;

/** Rows written between two prunes: pruning once per this many keeps the table near `eventRetention` rows. */
const PRUNE_EVERY = 256;

/** True when another connection is subscribed (a fresh presence row), so published events must go to the table. */
export function othersListening(store: SqliteStore): boolean {
  return (
    store
      .stmt(`SELECT 1 FROM conveyor_subscribers WHERE seen_at > ${SQL_NOW} - ? AND origin <> ? LIMIT 1`)
      .get(PRESENCE_STALE_MS, store.origin) !== undefined
  );
}

/** Append events to the shared table inside the caller's write (and prune it now and then). */
export function appendShared(store: SqliteStore, events: readonly ConveyorEvent[]): void {
  const insert = store.stmt('INSERT INTO conveyor_events (origin, event) VALUES (?, ?)');
  for (const e of events) insert.run(store.origin, JSON.stringify(e));
  store.eventsWritten += events.length;
  if (store.eventsWritten >= PRUNE_EVERY) {
    store.eventsWritten = 0;
    store
      .stmt('DELETE FROM conveyor_events WHERE seq <= (SELECT max(seq) FROM conveyor_events) - ?')
      .run(store.eventRetention);
  }
}

/**
 * Events shared through a small table. `publish` delivers to this process's listeners at once and appends the batch
 * to `conveyor_events` in one transaction; while anyone is subscribed, a timer polls every `eventPollMs` for rows
 * written by other connections. Each tick first reads `PRAGMA data_version`, which changes only when another
 * connection committed, so an idle poll costs one pragma. Cross-process latency is therefore at most `eventPollMs`
 * (50 ms by default) plus the time a writer holds the lock. The table is capped at about `eventRetention` rows; a
 * process that falls further behind skips what was pruned (and logs how many).
 *
 * A subscribed connection keeps a presence row in `conveyor_subscribers` (refreshed every 2 s, ignored after 30 s
 * without refresh). `publish` writes rows to the shared table only while another connection is present, so a
 * single process pays nothing for the table. Presence is written before the subscriber reads its starting point,
 * and both are writes under the same lock as `publish`, so no event published after `subscribe` returns is missed.
 *
 * The presence row also says whether the connection has a watcher: a subscription that is not `internal` (a
 * dashboard stream, user code; a worker's wake-up listener is internal). {@link SqliteEventBus.hasWatchers} reads
 * that, so workers skip per-job events while nobody outside the runtime listens in any process on the file.
 */
export class SqliteEventBus extends SqlitePart implements EventBus {
  readonly capabilities: AdapterCapabilities = SQLITE_CAPABILITIES;
  private readonly listeners = new Set<EventListener>();
  private timer: NodeJS.Timeout | null = null;
  private lastSeq = 0;
  private lastDataVersion = -1;
  private presenceAt = 0;
  /** Subscriptions that are not `internal`: while there are any, this connection's presence row says it watches. */
  private watching = 0;
  /** Watchers of other connections on the file, read at most once a second. */
  private readonly watchProbe = new WatchProbe(
    async () => {
      const s = this.store;
      return (
        s
          .stmt(
            `SELECT 1 FROM conveyor_subscribers WHERE watching <> 0 AND seen_at > ${SQL_NOW} - ? AND origin <> ? LIMIT 1`,
          )
          .get(PRESENCE_STALE_MS, s.origin) !== undefined
      );
    },
    (error) =>
      this.store.logger.debug('[conveyor] [sqlite] could not read the event watchers; assuming some', {
        error: error instanceof Error ? error.message : String(error),
      }),
    WATCH_CHECK_MS,
  );

  constructor(source?: SqliteStore | SqliteBackendOptions) {
    super(source, 'event bus');
    if (this.store.localBus === null) this.store.localBus = this;
  }

  async publish(events: ConveyorEvent[]): Promise<void> {
    this.guard();
    if (!Array.isArray(events)) throw validationError('publish takes an array of events.');
    if (events.length === 0) return;
    const s = this.store;
    s.ensureReady();
    // Read first, outside any write: with nobody else listening, publishing costs no transaction at all. A
    // subscriber that commits its presence after this read subscribed after this publish.
    if (othersListening(s)) s.write(() => appendShared(s, events));
    for (const e of events) this.deliver(e);
  }

  /** {@link LocalEventSink}: events the queue adapter wrote with a change, for this process's listeners. */
  deliverLocal(events: readonly ConveyorEvent[]): void {
    for (const e of events) this.deliver(e);
  }

  subscribe(listener: EventListener, options?: SubscribeOptions): () => void {
    this.guard();
    const watcher = options?.internal !== true;
    if (this.timer === null) {
      // The first subscription: its presence row is written with the right watcher flag from the start.
      this.startPolling(this.watching + (watcher ? 1 : 0) > 0);
      if (watcher) this.watching++;
    } else if (watcher && ++this.watching === 1) this.updatePresence();
    this.listeners.add(listener);
    let active = true;
    return () => {
      if (!active) return;
      active = false;
      this.listeners.delete(listener);
      if (watcher) this.watching--;
      if (this.listeners.size === 0) this.stopPolling();
      else if (watcher && this.watching === 0) this.updatePresence();
    };
  }

  /**
   * Whether a subscriber that is not the runtime's own exists on this file: here, or in another connection (read
   * from the presence rows at most once a second, so a new watcher elsewhere is seen within about a second; until
   * the first read, and after a failed one, the answer is true).
   */
  hasWatchers(): boolean {
    if (this.watching > 0) return true;
    return this.isClosed || this.store.isClosed ? this.watchProbe.last() : this.watchProbe.read();
  }

  listenerCount(): number {
    return this.listeners.size;
  }

  protected override onClose(): void {
    if (this.store.localBus === this) this.store.localBus = null;
    this.listeners.clear();
    this.watching = 0;
    this.stopPolling();
  }

  private deliver(event: ConveyorEvent): void {
    for (const listener of [...this.listeners]) {
      try {
        listener(event);
      } catch (error) {
        this.store.logger.error('[conveyor] [sqlite] an event listener threw; the other listeners still ran', {
          eventType: event.type,
          error: error instanceof Error ? error.message : String(error),
        });
      }
    }
  }

  private startPolling(watching: boolean): void {
    const s = this.store;
    // "From now on": announce presence and read the starting point in one write, ordered with every publish.
    this.lastSeq = s.write(() => {
      this.touchPresence(watching);
      return s.stmt('SELECT coalesce(max(seq), 0) FROM conveyor_events').pluck().get() as number;
    });
    this.presenceAt = Date.now();
    this.lastDataVersion = this.store.db.pragma('data_version', { simple: true }) as number;
    this.timer = setInterval(() => this.poll(), this.store.eventPollMs);
    this.timer.unref();
  }

  private stopPolling(): void {
    if (this.timer === null) return;
    clearInterval(this.timer);
    this.timer = null;
    try {
      if (!this.store.isClosed) {
        const s = this.store;
        s.write(() => s.stmt('DELETE FROM conveyor_subscribers WHERE origin = ?').run(s.origin));
      }
    } catch (error) {
      // Stale presence only makes other publishers write rows for up to 30 s; nothing to do.
      this.store.logger.debug('[conveyor] [sqlite] could not remove the event subscriber row', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  private touchPresence(watching = this.watching > 0): void {
    const s = this.store;
    s.stmt(
      `INSERT INTO conveyor_subscribers (origin, seen_at, watching) VALUES (?, ${SQL_NOW}, ?)
        ON CONFLICT (origin) DO UPDATE SET seen_at = excluded.seen_at, watching = excluded.watching`,
    ).run(s.origin, watching ? 1 : 0);
  }

  /** Write the watcher flag now (it changed); on failure the next refresh writes it. */
  private updatePresence(): void {
    try {
      this.store.write(() => this.touchPresence());
      this.presenceAt = Date.now();
    } catch (error) {
      this.store.logger.debug('[conveyor] [sqlite] could not update the event subscriber row; the next refresh will', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  /** One tick: skip unless another connection committed, then deliver foreign rows after `lastSeq`. */
  private poll(): void {
    if (this.isClosed || this.store.isClosed) {
      this.stopPolling();
      return;
    }
    try {
      if (Date.now() - this.presenceAt >= PRESENCE_REFRESH_MS) {
        this.presenceAt = Date.now();
        this.store.write(() => this.touchPresence());
      }
      const version = this.store.db.pragma('data_version', { simple: true }) as number;
      if (version === this.lastDataVersion) return;
      this.lastDataVersion = version;
      const s = this.store;
      // One snapshot: the rows read and the newest seq agree, so nothing committed in between is skipped.
      const { rows, newest, oldest } = s.read(() => ({
        oldest: s.stmt('SELECT min(seq) FROM conveyor_events').pluck().get() as number | null,
        rows: s
          .stmt('SELECT seq, event FROM conveyor_events WHERE seq > ? AND origin <> ? ORDER BY seq LIMIT 1000')
          .all(this.lastSeq, s.origin) as EventRow[],
        newest: s.stmt('SELECT coalesce(max(seq), 0) FROM conveyor_events').pluck().get() as number,
      }));
      if (oldest !== null && oldest > this.lastSeq + 1 && this.lastSeq > 0) {
        s.logger.warn('[conveyor] [sqlite] this process fell behind the events table; some events were pruned', {
          missed: oldest - this.lastSeq - 1,
        });
      }
      for (const row of rows) {
        this.lastSeq = row.seq;
        this.deliver(JSON.parse(row.event) as ConveyorEvent);
      }
      // A full page means more to read: poll again next tick without waiting for another commit. Otherwise skip
      // our own rows up to the newest seq of this snapshot.
      if (rows.length === 1000) this.lastDataVersion = -1;
      else this.lastSeq = Math.max(this.lastSeq, newest);
    } catch (error) {
      this.store.logger.error('[conveyor] [sqlite] polling the events table failed; retrying on the next tick', {
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
