import { randomUUID } from 'node:crypto';
import type { Clock, ConveyorEvent, JobState, Logger } from '@conveyor/core';
import { ConveyorError, silentLogger } from '@conveyor/core';
import Database from 'better-sqlite3';
import { BackgroundCheckpointer } from './checkpointer';
import { closedError, sqliteMessage, translateError } from './errors';
import type { JobRow } from './job-row';
import { fromRaw } from './job-row';
import { migrate, SCHEMA_VERSION } from './migrations';

/** Options of {@link createSqliteBackend} and of every adapter class. */
export interface SqliteBackendOptions {
  /**
   * Where the data lives: a file path (created when missing), `':memory:'` (one connection only: nothing is shared
   * with other connections or processes), or an open better-sqlite3 `Database`, which the backend uses as is and
   * never closes.
   * @default ':memory:'
   */
  connection?: string | Database.Database;
  /**
   * Where diagnostics go; the adapter never writes to the console.
   * @default silentLogger
   */
  logger?: Logger;
  /**
   * Replaces the store's clock (ms). Only for tests that move time by hand; production code leaves it unset, and
   * every time then comes from SQLite itself (`unixepoch('subsec')`), read inside the statement's transaction.
   * @default undefined (SQLite's clock)
   */
  clock?: Clock;
  /**
   * How long a statement waits for another connection's write lock before failing with `TIMEOUT`.
   * @default 5000
   */
  busyTimeoutMs?: number;
  /**
   * How often a subscribed event bus looks for events written by other connections (one `PRAGMA data_version`
   * read per tick; the events table is read only when it changed). This is the cross-process event latency.
   * @default 50
   */
  eventPollMs?: number;
  /**
   * How many events the shared events table keeps for other processes; older rows are pruned as new ones arrive.
   * A process that falls further behind than this misses the oldest events.
   * @default 10000
   */
  eventRetention?: number;
  /**
   * `PRAGMA synchronous`. `NORMAL` (the WAL default of most deployments) never corrupts the file; a power loss may
   * drop the last transactions. `FULL` syncs each commit at a large cost in throughput.
   * @default 'NORMAL'
   */
  synchronous?: 'OFF' | 'NORMAL' | 'FULL' | 'EXTRA';
  /**
   * `PRAGMA wal_autocheckpoint`: the WAL size in pages (4 KiB each by default) at which a commit copies it back into
   * the database file. Every job change rewrites the same hot pages (counters, metrics, index tails), and a
   * checkpoint copies each page once however often it changed, so a larger WAL means less copying and fewer syncs
   * per job (measured on the bench machine: 4000 beat SQLite's 1000, and 16000 was slower again). `0` turns
   * automatic checkpoints off (then run `PRAGMA wal_checkpoint` yourself). With the checkpoint thread
   * (`checkpointIntervalMs`) it is only a backstop for when the thread falls behind, and defaults to 16000.
   * @default 16000 with the checkpoint thread, else 4000
   */
  walAutocheckpoint?: number;
  /**
   * How often a worker thread of this process copies the WAL back into the file (`PRAGMA wal_checkpoint(PASSIVE)`
   * on its own connection), so commits rarely have to: a checkpoint mostly waits for the disk, and done inside a
   * commit it stalls the writer (measured: bulk enqueue +15–20% jobs/s with the thread). `walAutocheckpoint` stays
   * as the backstop. `0` turns the thread off. Only for file databases; an idle tick costs a few microseconds.
   * @default 50
   */
  checkpointIntervalMs?: number;
}

type Statement = Database.Statement<unknown[], unknown>;

/** This process's event bus as the queue adapter sees it, to publish the events it writes with a change. */
export interface LocalEventSink {
  listenerCount(): number;
  /** Deliver to this process's listeners (after the change committed). */
  deliverLocal(events: readonly ConveyorEvent[]): void;
}

/** A prepared statement returning job rows (raw arrays turned into {@link JobRow}s). */
export class JobStatement {
  constructor(private readonly statement: Statement) {}

  get(...params: unknown[]): JobRow | undefined {
    const a = this.statement.get(...params) as unknown[] | undefined;
    return a === undefined ? undefined : fromRaw(a);
  }

  all(...params: unknown[]): JobRow[] {
    return (this.statement.all(...params) as unknown[][]).map(fromRaw);
  }
}

/**
 * One connection shared by the four adapters of a backend: the statement cache, the transaction helpers, the clock
 * and the migrations. The adapters open it (`acquire`) and close it (`release`); the connection closes when the last
 * one does, and only when the store opened it.
 */
export class SqliteStore {
  readonly db: Database.Database;
  readonly logger: Logger;
  /** Identifies this connection in the events table, so the bus skips its own rows when polling. */
  readonly origin = randomUUID();
  readonly eventPollMs: number;
  readonly eventRetention: number;
  private readonly ownsConnection: boolean;
  private readonly clock: Clock | undefined;
  private readonly statements = new Map<string, Statement>();
  private readonly jobStatements = new Map<string, JobStatement>();
  /** Count changes of the running write transaction: queue → state → delta. */
  private readonly deltas = new Map<string, Map<JobState, number>>();
  private readonly tx: Database.Transaction<(fn: () => unknown) => unknown>;
  private migrated = false;
  private holders = 0;
  /**
   * `queue\0type` pairs known to be in `conveyor_metric_keys` (rows there are never deleted), so metric writes skip
   * their INSERT OR IGNORE. Filled once the transaction that wrote them commits.
   */
  readonly metricKeys = new Set<string>();
  private pendingMetricKeys: string[] = [];
  /** The event bus of this store, when one was created on it. */
  localBus: LocalEventSink | null = null;
  /** Rows appended to `conveyor_events` since the last prune. */
  eventsWritten = 0;
  private closed = false;
  private readonly checkpointIntervalMs: number;
  /** The background checkpoint thread, once the file is migrated (see `checkpointIntervalMs`). */
  checkpointer: BackgroundCheckpointer | null = null;

  constructor(options: SqliteBackendOptions = {}) {
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock;
    this.eventPollMs = options.eventPollMs ?? 50;
    this.eventRetention = options.eventRetention ?? 10_000;
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    this.checkpointIntervalMs = options.checkpointIntervalMs ?? 50;
    // With the checkpoint thread the writer's own checkpoint is only a backstop: a high one lets the thread do the
    // copying (measured: bulk enqueue +3–28% with 16000 over 4000 in four pairs).
    const walAutocheckpoint = options.walAutocheckpoint ?? (this.checkpointIntervalMs > 0 ? 16_000 : 4000);
    for (const [name, value] of [
      ['checkpointIntervalMs', this.checkpointIntervalMs],
      ['busyTimeoutMs', busyTimeoutMs],
      ['eventPollMs', this.eventPollMs],
      ['eventRetention', this.eventRetention],
      ['walAutocheckpoint', walAutocheckpoint],
    ] as const) {
      const min = name === 'busyTimeoutMs' || name === 'walAutocheckpoint' || name === 'checkpointIntervalMs' ? 0 : 1;
      if (!Number.isInteger(value) || value < min) {
        throw new ConveyorError(
          'CONFIG_INVALID',
          sqliteMessage(`option ${name} must be a positive integer, got ${String(value)}. Fix the backend options.`),
        );
      }
    }
    const connection = options.connection ?? ':memory:';
    if (typeof connection === 'string') {
      try {
        this.db = new Database(connection);
      } catch (error) {
        throw new ConveyorError(
          'CONNECTION_FAILED',
          sqliteMessage(
            `could not open the database file "${connection}" (${(error as Error).message}). Check that the directory exists and is writable.`,
          ),
          { cause: error },
        );
      }
      this.ownsConnection = true;
    } else if (connection instanceof Database) {
      if (!connection.open) {
        throw new ConveyorError(
          'CONNECTION_FAILED',
          sqliteMessage('the Database passed as `connection` is closed. Pass an open better-sqlite3 Database.'),
        );
      }
      this.db = connection;
      this.ownsConnection = false;
    } else {
      throw new ConveyorError(
        'CONFIG_INVALID',
        sqliteMessage(
          'option `connection` must be a file path, ":memory:" or a better-sqlite3 Database. Fix the backend options.',
        ),
      );
    }
    this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    if (this.db.name !== ':memory:' && this.db.name !== '') {
      // WAL: readers never block the writer and the writer never blocks readers; the setting is persistent.
      const mode = this.db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') this.logger.warn(`[conveyor] [sqlite] journal_mode is ${String(mode)}, not wal`, { mode });
      this.db.pragma(`wal_autocheckpoint = ${walAutocheckpoint}`);
    }
    this.db.pragma(`synchronous = ${options.synchronous ?? 'NORMAL'}`);
    this.tx = this.db.transaction((fn: () => unknown) => fn());
  }

  /** A cached prepared statement. */
  stmt(sql: string): Statement {
    let s = this.statements.get(sql);
    if (s === undefined) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** A cached statement that reads job rows (it must select {@link JOB_COLUMNS}), in raw mode. */
  jobStmt(sql: string): JobStatement {
    let s = this.jobStatements.get(sql);
    if (s === undefined) {
      s = new JobStatement(this.db.prepare(sql).raw(true));
      this.jobStatements.set(sql, s);
    }
    return s;
  }

  /** Store time in ms: the injected clock, else SQLite's own clock. */
  now(): number {
    if (this.clock !== undefined) return this.clock();
    return this.stmt("SELECT CAST(unixepoch('subsec') * 1000 AS INTEGER)").pluck().get() as number;
  }

  /**
   * Run `fn` in a `BEGIN IMMEDIATE` transaction: the write lock is taken first, so read-then-write is atomic. Count
   * changes noted with {@link count} are applied just before commit.
   */
  write<T>(fn: () => T): T {
    this.ensureReady();
    this.deltas.clear();
    this.pendingMetricKeys.length = 0;
    let result: T;
    try {
      result = this.tx.immediate(() => {
        const out = fn();
        this.flushCounts();
        return out;
      }) as T;
    } catch (error) {
      this.deltas.clear();
      this.pendingMetricKeys.length = 0;
      throw translateError(error);
    }
    for (const k of this.pendingMetricKeys) this.metricKeys.add(k);
    this.pendingMetricKeys.length = 0;
    return result;
  }

  /** Note that the running write stored the metric key `queue\0type` (known once it commits). */
  metricKeyWritten(key: string): void {
    this.pendingMetricKeys.push(key);
  }

  /** Note that `n` jobs of `queue` entered (n > 0) or left (n < 0) `state`, inside a {@link write}. */
  count(queue: string, state: JobState, n: number): void {
    if (n === 0) return;
    let byState = this.deltas.get(queue);
    if (byState === undefined) {
      byState = new Map();
      this.deltas.set(queue, byState);
    }
    byState.set(state, (byState.get(state) ?? 0) + n);
  }

  /** Apply the noted count changes now (before reading `conveyor_counts` inside the same transaction). */
  flushCounts(): void {
    if (this.deltas.size === 0) return;
    const upsert = this.stmt(
      'INSERT INTO conveyor_counts (queue, state, n) VALUES (?, ?, ?) ON CONFLICT (queue, state) DO UPDATE SET n = n + excluded.n',
    );
    for (const [queue, byState] of this.deltas) {
      for (const [state, n] of byState) if (n !== 0) upsert.run(queue, state, n);
    }
    this.deltas.clear();
  }

  /** Run `fn` in a read transaction: every statement inside sees the same snapshot. */
  read<T>(fn: () => T): T {
    this.ensureReady();
    try {
      return this.tx.deferred(fn) as T;
    } catch (error) {
      throw translateError(error);
    }
  }

  /** Apply the migrations once per store (idempotent across processes). */
  ensureReady(): void {
    if (this.migrated) return;
    if (this.closed) return;
    try {
      const applied = migrate(this.db, () => this.now0());
      if (applied.length > 0) this.logger.info('[conveyor] [sqlite] applied migrations', { versions: applied });
      const stored = this.db.prepare('SELECT max(version) FROM conveyor_migrations').pluck().get() as number;
      if (stored > SCHEMA_VERSION) {
        this.logger.warn(
          '[conveyor] [sqlite] the database was migrated by a newer @conveyor/sqlite; upgrade this process too',
          { stored, known: SCHEMA_VERSION },
        );
      }
    } catch (error) {
      throw translateError(error);
    }
    this.migrated = true;
    this.startCheckpointer();
  }

  /** The background checkpoint thread, for a file in WAL mode (the file exists now: the migrations wrote it). */
  private startCheckpointer(): void {
    if (this.checkpointIntervalMs === 0 || this.db.name === ':memory:' || this.db.name === '') return;
    if (this.db.readonly || this.db.pragma('journal_mode', { simple: true }) !== 'wal') return;
    try {
      this.checkpointer = new BackgroundCheckpointer(this.db.name, this.checkpointIntervalMs, this.logger);
    } catch (error) {
      this.logger.warn('[conveyor] [sqlite] could not start the background checkpoint thread', {
        error: (error as Error).message,
      });
    }
  }

  private now0(): number {
    return this.clock !== undefined ? this.clock() : Date.now();
  }

  /** An adapter starts using the store. */
  acquire(): void {
    this.holders++;
  }

  /**
   * An adapter is done with the store; the last one closes the connection (when the store opened it) and resolves
   * once the checkpoint thread has closed its own.
   */
  async release(): Promise<void> {
    this.holders = Math.max(0, this.holders - 1);
    if (this.holders === 0 && !this.closed) {
      this.closed = true;
      this.statements.clear();
      this.jobStatements.clear();
      const stopped = this.checkpointer?.stop();
      if (this.ownsConnection && this.db.open) this.db.close();
      await stopped;
    }
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/**
 * Base of the four adapters: a store shared or owned, a closed flag, and the `ADAPTER_CLOSED` guard.
 */
export abstract class SqlitePart {
  protected readonly store: SqliteStore;
  private closedFlag = false;

  constructor(
    source: SqliteStore | SqliteBackendOptions | undefined,
    private readonly what: string,
  ) {
    this.store = source instanceof SqliteStore ? source : new SqliteStore(source);
    this.store.acquire();
  }

  /** Apply migrations (idempotent). */
  async init(): Promise<void> {
    this.guard();
    this.store.ensureReady();
  }

  /** Stop using the connection; later calls reject with `ADAPTER_CLOSED`. Closing twice is harmless. */
  async close(): Promise<void> {
    if (this.closedFlag) return;
    this.closedFlag = true;
    this.onClose();
    await this.store.release();
  }

  protected onClose(): void {}

  protected get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Throws `ADAPTER_CLOSED` after close(). */
  protected guard(): void {
    if (this.closedFlag || this.store.isClosed) throw closedError(this.what);
  }
}
