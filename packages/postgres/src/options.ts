import type { AdapterCapabilities, Clock, Logger } from '@conveyor/core';
import { ConveyorError, conveyorMessage, DEFAULT_CAPABILITIES } from '@conveyor/core';
import type pg from 'pg';

/** The component name in every message: `[conveyor] [postgres] …`. */
export const COMPONENT = 'postgres';

/** Options shared by every Postgres adapter and by {@link createPostgresBackend}. */
export interface PostgresOptions {
  /**
   * A libpq connection string (`postgres://user:pass@host:5432/db`). The adapter creates and owns a `pg.Pool`.
   * Give this or `pool`.
   */
  connectionString?: string;
  /**
   * An existing pool to run on. The adapter never ends a pool it did not create. The LISTEN connection is a separate
   * `pg.Client` built from the pool's connection options. Give this or `connectionString`.
   */
  pool?: pg.Pool;
  /**
   * Size of the pool the adapter creates from `connectionString` (ignored with `pool`). One extra connection is
   * opened for LISTEN.
   * @default 10
   */
  poolSize?: number;
  /**
   * The Postgres schema holding every table of this backend. Lowercase letters, digits and `_`, at most 40
   * characters. Two backends with different schemas in one database never see each other's jobs.
   * @default 'conveyor'
   */
  schema?: string;
  /**
   * Where diagnostics go; the adapter never writes to the console.
   * @default silentLogger
   */
  logger?: Logger;
  /**
   * Replaces the database clock (ms). Tests only: the conformance suite moves time with it. It is sent as a query
   * parameter, so the database applies it. When unset every time comes from the database (`statement_timestamp()`),
   * so clock skew between worker machines changes nothing.
   * @default undefined (database time)
   */
  clock?: Clock;
  /**
   * Commit claims, execution records, metrics and events with `synchronous_commit = on` (wait for the WAL flush, as
   * every other job write does). By default they commit with `synchronous_commit = off`: a crash of the database
   * server may lose the last fraction of a second of them — history and telemetry the runtime already writes behind,
   * in batches, and claims, whose jobs then run again as after a worker crash (fencing tokens never repeat, see the
   * README's "Durability") — but never an enqueued or finished job, and nothing is ever corrupted. Saves one WAL flush
   * wait per claim and per batch.
   * @default false
   */
  durableRecords?: boolean;
}

/** What the Postgres backend supports. Search is off: a substring scan over payloads is not cheap at 1M jobs. */
export const POSTGRES_CAPABILITIES: AdapterCapabilities = Object.freeze({
  ...DEFAULT_CAPABILITIES,
  search: false,
  crossProcessEvents: true,
  transactionalEnqueue: true,
  multiProcess: true,
  pushWakeup: true,
  inlineRecords: true,
});

const SCHEMA_PATTERN = /^[a-z_][a-z0-9_]{0,39}$/;

/** Validate and return the schema name. */
export function checkSchema(schema: string): string {
  if (!SCHEMA_PATTERN.test(schema)) {
    throw new ConveyorError(
      'CONFIG_INVALID',
      conveyorMessage(
        COMPONENT,
        `schema ${JSON.stringify(schema)} is not a valid schema name. Use 1–40 lowercase letters, digits or _, starting with a letter or _.`,
      ),
    );
  }
  return schema;
}

export function closedError(what: string): ConveyorError {
  return new ConveyorError(
    'ADAPTER_CLOSED',
    conveyorMessage(COMPONENT, `the ${what} was closed. Create a new backend with createPostgresBackend().`),
  );
}

export function validationError(sentence: string): ConveyorError {
  return new ConveyorError('VALIDATION_FAILED', conveyorMessage(COMPONENT, sentence));
}

/** `limit` of a list query: an integer in 1–`max`. */
export function checkLimit(limit: number, max = 1000): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw validationError(`limit must be an integer from 1 to ${max}, got ${String(limit)}. Pass a smaller page size.`);
  }
}

/** SQLSTATE classes that mean the connection, not the statement, failed. */
const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'ETIMEDOUT', 'EPIPE', '57P01', '57P03']);

/** Turn a driver error into a `ConveyorError` (connection problems get `CONNECTION_FAILED`). */
export function wrapError(error: unknown, what: string): unknown {
  if (error instanceof ConveyorError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (
    (typeof code === 'string' && (CONNECTION_CODES.has(code) || code.startsWith('08'))) ||
    /Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(message)
  ) {
    return new ConveyorError(
      'CONNECTION_FAILED',
      conveyorMessage(
        COMPONENT,
        `${what} could not reach Postgres (${message}). Check that the server is up and the connection string is right.`,
      ),
      { cause: error },
    );
  }
  return new ConveyorError(
    'INTERNAL',
    conveyorMessage(
      COMPONENT,
      `${what} failed in Postgres (${typeof code === 'string' ? `${code}: ` : ''}${message}). This is a bug or a schema mismatch; report it with the message.`,
    ),
    { cause: error },
  );
}
