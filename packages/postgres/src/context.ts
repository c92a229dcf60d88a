import { randomUUID } from 'node:crypto';
import type { Clock, ConveyorEvent, Logger } from '@conveyor/core';
import { ConveyorError, conveyorMessage, silentLogger } from '@conveyor/core';
import pg from 'pg';
import { Notifier } from './inline';
import { Listener } from './listener';
import { migrate } from './migrations';
import type { PostgresOptions } from './options';
import { COMPONENT, checkSchema, wrapError } from './options';

/** Anything that runs a query: the adapter's pool, or the caller's client inside their own transaction. */
export type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.ClientBase, 'query'>;

/** int8 as a JS number: every bigint the schema holds is a time in ms, a count or a token, all below 2^53. */
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 20) return (value: string) => Number(value);
    return format === 'binary' ? pg.types.getTypeParser(oid, 'binary') : pg.types.getTypeParser(oid, 'text');
  },
};

/**
 * A select-list item marking the statement as one that appends its own count deltas (see migration 9): the count
 * triggers then leave it alone. A statement carrying it must count every job row it inserts, changes or deletes, and
 * must evaluate it whenever it changes any (put it in a CTE the changes read).
 */
export const COUNTED_MARK = "set_config('conveyor.counted', statement_timestamp()::text, true) AS counted";

/** Metric shards: concurrent writers of one bucket land on different rows (reads sum them). */
const METRIC_SHARDS = 8;
/** A process folds the metric log after appending this many metric events. */
const FOLD_AFTER_EVENTS = 20_000;
/** Log rows (one per claim, ack or enqueue statement) one fold statement moves. */
const FOLD_ROWS = 500;
/** Fold statements one fold runs at most (a reader never waits on an unbounded backlog). */
const MAX_FOLD_ROUNDS = 20;

/** The in-process side of a backend's event bus, for events the queue adapter publishes with its own statements. */
export interface LocalBus {
  /** Marks this bus's notifications, which its LISTEN connection skips (they were delivered in process). */
  readonly origin: string;
  /** Hand events to this process's subscribers at once. */
  deliverLocal(events: ConveyorEvent[]): void;
  /** Whether anyone in this process subscribed. */
  listenerCount(): number;
  /** Whether a subscriber other than the runtime's own wake-up listeners exists, here or in another process. */
  hasWatchers(): boolean;
}

/**
 * What the four adapters of one backend share: the pool, the schema, the clock, the logger, the LISTEN connection
 * and one migration run. Reference-counted: the pool (when the adapter created it) ends with the last adapter.
 */
export class PgContext {
  readonly pool: pg.Pool;
  readonly schema: string;
  /** The schema as a quoted identifier, for SQL text. */
  readonly s: string;
  readonly logger: Logger;
  readonly clock: Clock | undefined;
  /** Channel of cross-process events. */
  readonly eventChannel: string;
  /**
   * SQL that turns off the WAL flush wait for the statement's own transaction (a `FROM` item: cross join it), or a
   * no-op with `durableRecords`. Only for history, metrics and events — never for job writes.
   */
  readonly relaxedCommit: string;
  /** Suffix of the prepared statements that embed {@link relaxedCommit}: their text differs with the option. */
  readonly recordsTag: string;
  /**
   * The backend's event bus in this process, once it exists: events written by the queue adapter's statements are
   * delivered to its subscribers directly and sent with its origin.
   */
  localBus: LocalBus | undefined;
  /** Origin of notifications sent without a local bus (or from a caller's transaction): every listener takes them. */
  readonly origin = randomUUID();
  private shard = Math.floor(Math.random() * METRIC_SHARDS);
  private readonly ownsPool: boolean;
  private users = 0;
  private migrated: Promise<void> | undefined;
  private listenerInstance: Listener | undefined;
  private notifierInstance: Notifier | undefined;
  /** Metric events appended to `metric_log` by this process since its last fold. */
  private unfolded = 0;
  private folding: Promise<void> | undefined;
  private ended = false;

  constructor(options: PostgresOptions) {
    this.schema = checkSchema(options.schema ?? 'conveyor');
    this.s = `"${this.schema}"`;
    this.logger = options.logger ?? silentLogger;
    this.clock = options.clock;
    this.eventChannel = `${this.schema}_events`;
    this.recordsTag = options.durableRecords === true ? '_durable' : '';
    this.relaxedCommit =
      options.durableRecords === true
        ? '(SELECT 1) AS relaxed_commit'
        : "(SELECT set_config('synchronous_commit', 'off', true)) AS relaxed_commit";
    if (options.pool !== undefined) {
      this.pool = options.pool;
      this.ownsPool = false;
    } else if (typeof options.connectionString === 'string' && options.connectionString.length > 0) {
      this.pool = new pg.Pool({
        connectionString: options.connectionString,
        max: options.poolSize ?? 10,
        // The adapter's statements are prepared once per connection; their parameters never change the best plan
        // (the claim's would otherwise be planned again on every call). One-shot statements are planned as before.
        options: '-c plan_cache_mode=force_generic_plan',
      });
      this.ownsPool = true;
      // An idle client that loses its connection emits here; without a handler Node would crash the process.
      this.pool.on('error', (error) => {
        this.logger.warn(conveyorMessage(COMPONENT, 'an idle pooled connection failed; the pool replaces it.'), {
          error: error.message,
        });
      });
    } else {
      throw new ConveyorError(
        'CONFIG_INVALID',
        conveyorMessage(
          COMPONENT,
          'missing required option `connectionString` (or `pool`). Pass e.g. `{ connectionString: process.env.DATABASE_URL }`.',
        ),
      );
    }
  }

  /** The metric shard of the next write: rotates, so the writes in flight at one moment rarely share a row. */
  nextShard(): number {
    this.shard = (this.shard + 1) % METRIC_SHARDS;
    return this.shard;
  }

  /** Register one adapter using this context. */
  acquire(): void {
    this.users++;
  }

  /** One adapter is done; the last one ends the LISTEN connection and the pool (if ours). */
  async release(): Promise<void> {
    this.users--;
    if (this.users > 0 || this.ended) return;
    this.ended = true;
    await this.notifierInstance?.flush();
    await this.folding;
    await this.listenerInstance?.close();
    if (this.ownsPool) await this.pool.end();
  }

  /** The override clock's reading, or null: SQL turns null into database time (`now_ms($1)`). */
  nowParam(): number | null {
    return this.clock === undefined ? null : this.clock();
  }

  /** Run the migrations once per context (under the advisory lock, so many processes may start at once). */
  migrate(): Promise<void> {
    this.migrated ??= migrate(this.pool, this.schema, this.logger).catch((error: unknown) => {
      this.migrated = undefined;
      throw wrapError(error, 'migrating the schema');
    });
    return this.migrated;
  }

  /** The sender of the events of committed claims, acks and enqueues (see {@link Notifier}). */
  notifier(): Notifier {
    this.notifierInstance ??= new Notifier(this);
    return this.notifierInstance;
  }

  /**
   * Note metric events appended to `metric_log`; past {@link FOLD_AFTER_EVENTS} a fold runs in the background (its own
   * pooled connection, never awaited by the claim or ack that triggered it).
   */
  loggedMetrics(events: number): void {
    this.unfolded += events;
    if (this.unfolded < FOLD_AFTER_EVENTS || this.folding !== undefined || this.ended) return;
    this.unfolded = 0;
    this.folding = this.foldMetrics()
      .catch((error: unknown) => {
        this.logger.warn(conveyorMessage(COMPONENT, 'folding metric events failed; the next read or fold retries.'), {
          error: error instanceof Error ? error.message : String(error),
        });
      })
      .finally(() => {
        this.folding = undefined;
      });
  }

  /** Move the metric log into the buckets (bounded batches, each its own short transaction). */
  async foldMetrics(): Promise<void> {
    for (let i = 0; i < MAX_FOLD_ROUNDS; i++) {
      const rows = await this.query<{ n: number }>(
        `SELECT ${this.s}.fold_metrics($1) AS n FROM ${this.relaxedCommit}`,
        [FOLD_ROWS],
        'folding metrics',
        undefined,
        `fold_metrics${this.recordsTag}`,
      );
      if ((rows[0]?.n ?? 0) < FOLD_ROWS) return;
    }
  }

  /** The LISTEN connection, started on first use. */
  listener(): Listener {
    this.listenerInstance ??= new Listener(this.pool, this.logger, `conveyor-listener:${this.schema}`);
    return this.listenerInstance;
  }

  /**
   * Run one statement and return its rows. `name` makes it a prepared statement (hot paths: the plan is cached per
   * connection). Driver errors become `ConveyorError`s.
   */
  async query<R>(text: string, values: unknown[], what: string, client?: Queryable, name?: string): Promise<R[]> {
    const config: pg.QueryConfig & { types: typeof TYPES } = { text, values, types: TYPES };
    if (name !== undefined) config.name = `cv_${this.schema}_${name}`;
    try {
      const result = await (client ?? this.pool).query(config);
      return result.rows as R[];
    } catch (error) {
      throw wrapError(error, what);
    }
  }

  /**
   * Like {@link query}, rows as arrays in select-list order (`rowMode: 'array'`): no per-row object with 20-odd keys
   * to build on hot paths. Always a prepared statement.
   */
  async queryArrays(
    text: string,
    values: unknown[],
    what: string,
    name: string,
    client?: Queryable,
  ): Promise<unknown[][]> {
    const config: pg.QueryArrayConfig & { types: typeof TYPES } = {
      text,
      values,
      types: TYPES,
      rowMode: 'array',
      name: `cv_${this.schema}_${name}`,
    };
    try {
      const result = await (client ?? this.pool).query(config);
      return result.rows;
    } catch (error) {
      throw wrapError(error, what);
    }
  }

  /** Run `body` in a transaction on one pooled connection. */
  async transaction<T>(what: string, body: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (error) {
      throw wrapError(error, what);
    }
    let broken: unknown;
    try {
      await client.query('BEGIN');
      const out = await body(client);
      await client.query('COMMIT');
      return out;
    } catch (error) {
      try {
        await client.query('ROLLBACK');
      } catch (rollbackError) {
        broken = rollbackError;
      }
      throw wrapError(error, what);
    } finally {
      client.release(broken instanceof Error ? broken : undefined);
    }
  }
}
