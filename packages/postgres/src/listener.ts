import type { Logger } from '@conveyor/core';
import { conveyorMessage } from '@conveyor/core';
import pg from 'pg';
import { COMPONENT } from './options';

type Handler = (payload: string) => void;

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 5_000;

/**
 * The one LISTEN connection of a backend: a dedicated `pg.Client` (a pooled connection would be handed to other
 * queries between notifications). When the connection drops — a restart, a failover, `pg_terminate_backend` — it
 * reconnects by itself with exponential backoff (50 ms to 5 s) and LISTENs again on every channel, then calls the
 * `onReconnect` hooks. Notifications sent while it was away are lost (NOTIFY keeps no backlog); callers that must
 * not miss work poll as well.
 */
export class Listener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<Handler>>();
  private readonly reconnectHooks = new Set<() => void>();
  private connecting: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private backoffMs = MIN_BACKOFF_MS;
  private closed = false;
  private connectedOnce = false;
  /** The advisory key this connection holds (shared) while the bus has watchers, re-taken after a reconnect. */
  private watchKey: string | null = null;

  constructor(
    private readonly pool: pg.Pool,
    private readonly logger: Logger,
    private readonly applicationName = 'conveyor-listener',
  ) {}

  /** Backend pid of the live connection (tests terminate it to prove the reconnect), or null while away. */
  get pid(): number | null {
    const pid = (this.client as unknown as { processID?: number } | undefined)?.processID;
    return typeof pid === 'number' ? pid : null;
  }

  /** Call `handler` with every payload sent on `channel`. Resolves once the LISTEN is in place. */
  async listen(channel: string, handler: Handler): Promise<() => Promise<void>> {
    let set = this.handlers.get(channel);
    const fresh = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.handlers.set(channel, set);
    }
    set.add(handler);
    await this.ensureConnected();
    if (fresh && this.client !== undefined) await this.client.query(`LISTEN ${quoteIdent(channel)}`);
    return async () => {
      const current = this.handlers.get(channel);
      if (current === undefined) return;
      current.delete(handler);
      if (current.size > 0) return;
      this.handlers.delete(channel);
      try {
        if (this.client !== undefined) await this.client.query(`UNLISTEN ${quoteIdent(channel)}`);
      } catch {
        // A dead connection listens to nothing anyway.
      }
    };
  }

  /**
   * Hold (a key) or let go (null) a shared session-level advisory lock on this connection: other processes see it in
   * `pg_locks` while the connection lives, and it goes away by itself when the connection or process dies.
   */
  async holdWatch(key: string | null): Promise<void> {
    const previous = this.watchKey;
    this.watchKey = key;
    const client = this.client;
    if (client === undefined) return; // taken on (re)connect
    if (key !== null && previous === null) {
      await client.query('SELECT pg_advisory_lock_shared(hashtextextended($1, 0))', [key]);
    } else if (key === null && previous !== null) {
      await client.query('SELECT pg_advisory_unlock_shared(hashtextextended($1, 0))', [previous]);
    }
  }

  /** Run `hook` after every reconnect (not the first connect). Returns the function that removes it. */
  onReconnect(hook: () => void): () => void {
    this.reconnectHooks.add(hook);
    return () => this.reconnectHooks.delete(hook);
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const client = this.client;
    this.client = undefined;
    this.handlers.clear();
    if (client !== undefined) {
      client.removeAllListeners('notification');
      try {
        await client.end();
      } catch {
        // Already gone.
      }
    }
  }

  private ensureConnected(): Promise<void> {
    if (this.client !== undefined) return Promise.resolve();
    this.connecting ??= this.connect().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({ ...this.pool.options, application_name: this.applicationName });
    let dropped = false;
    const onDrop = (error?: Error) => {
      if (dropped) return;
      dropped = true;
      if (this.client === client) this.client = undefined;
      if (this.closed) return;
      this.logger.warn(conveyorMessage(COMPONENT, 'the LISTEN connection dropped; reconnecting.'), {
        error: error?.message,
      });
      this.scheduleReconnect();
    };
    client.on('error', onDrop);
    client.on('end', () => onDrop());
    client.on('notification', (msg) => {
      const set = this.handlers.get(msg.channel);
      if (set === undefined || msg.payload === undefined) return;
      for (const handler of [...set]) {
        try {
          handler(msg.payload);
        } catch (error) {
          this.logger.error(conveyorMessage(COMPONENT, 'a notification handler threw; others still ran.'), {
            channel: msg.channel,
            error: error instanceof Error ? error.message : String(error),
          });
        }
      }
    });
    try {
      await client.connect();
      for (const channel of this.handlers.keys()) await client.query(`LISTEN ${quoteIdent(channel)}`);
      if (this.watchKey !== null) {
        await client.query('SELECT pg_advisory_lock_shared(hashtextextended($1, 0))', [this.watchKey]);
      }
    } catch (error) {
      dropped = true;
      client.removeAllListeners();
      client.on('error', () => {});
      client.end().catch(() => {});
      throw error;
    }
    if (this.closed) {
      await client.end().catch(() => {});
      return;
    }
    this.client = client;
    this.backoffMs = MIN_BACKOFF_MS;
    if (this.connectedOnce) {
      this.logger.info(conveyorMessage(COMPONENT, 'the LISTEN connection is back.'));
      for (const hook of [...this.reconnectHooks]) hook();
    }
    this.connectedOnce = true;
  }

  private scheduleReconnect(): void {
    if (this.closed || this.timer !== undefined) return;
    const delay = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (this.closed || this.client !== undefined) return;
      this.ensureConnected().catch((error: unknown) => {
        this.logger.warn(conveyorMessage(COMPONENT, 'reconnecting the LISTEN connection failed; retrying.'), {
          error: error instanceof Error ? error.message : String(error),
          retryInMs: this.backoffMs,
        });
        this.scheduleReconnect();
      });
    }, delay);
  }
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
