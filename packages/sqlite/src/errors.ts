import { ConveyorError, conveyorMessage } from '@conveyor/core';

/** The component name in every message of this package: `[conveyor] [sqlite] …`. */
export const COMPONENT = 'sqlite';

export function sqliteMessage(sentence: string): string {
  return conveyorMessage(COMPONENT, sentence);
}

export function closedError(what: string): ConveyorError {
  return new ConveyorError(
    'ADAPTER_CLOSED',
    sqliteMessage(`the ${what} was closed. Create a new backend with createSqliteBackend() to keep using the store.`),
  );
}

export function validationError(sentence: string): ConveyorError {
  return new ConveyorError('VALIDATION_FAILED', sqliteMessage(sentence));
}

/** `limit` of a list query: an integer in 1–`max`. */
export function checkLimit(limit: number, max = 1000): void {
  if (!Number.isInteger(limit) || limit < 1 || limit > max) {
    throw validationError(`limit must be an integer from 1 to ${max}, got ${String(limit)}. Pass a smaller page size.`);
  }
}

interface SqliteErrorLike {
  code?: unknown;
  message?: unknown;
}

/**
 * Turn a driver error into a `ConveyorError` with a stable code. `SQLITE_BUSY` means another process held the write
 * lock for longer than `busy_timeout`; a closed handle means someone closed the `Database` under us.
 */
export function translateError(error: unknown): unknown {
  if (error instanceof ConveyorError) return error;
  const e = error as SqliteErrorLike;
  const code = typeof e?.code === 'string' ? e.code : '';
  const message = typeof e?.message === 'string' ? e.message : String(error);
  if (code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_')) {
    return new ConveyorError(
      'TIMEOUT',
      sqliteMessage(
        `the database stayed locked by another connection for longer than busyTimeoutMs (${message}). Raise busyTimeoutMs, or look for a process holding a long write transaction.`,
      ),
      { cause: error },
    );
  }
  if (error instanceof TypeError && /database connection is not open/i.test(message)) {
    return new ConveyorError(
      'ADAPTER_CLOSED',
      sqliteMessage('the better-sqlite3 Database was closed by its owner. Keep it open while the backend is in use.'),
      { cause: error },
    );
  }
  if (code.startsWith('SQLITE_')) {
    return new ConveyorError(
      'INTERNAL',
      sqliteMessage(
        `SQLite refused a statement (${code}: ${message}). This is a bug or a damaged file; report it with the message.`,
      ),
      { cause: error },
    );
  }
  return error;
}
