import { ConveyorError } from '../contracts/errors';

/** Encode a position as an opaque cursor (base64url JSON). */
export function encodeCursor(position: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/**
 * Decode a cursor made by {@link encodeCursor}; `shape` lists the expected element types. A malformed cursor is a
 * `VALIDATION_FAILED` error, never a crash.
 */
export function decodeCursor<const T extends readonly ('string' | 'number')[]>(
  cursor: string,
  shape: T,
): { [K in keyof T]: T[K] extends 'string' ? string : number } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    parsed = undefined;
  }
  if (
    !Array.isArray(parsed) ||
    parsed.length !== shape.length ||
    !parsed.every((v, i) => typeof v === shape[i] && (typeof v !== 'number' || Number.isFinite(v)))
  ) {
    throw new ConveyorError(
      'VALIDATION_FAILED',
      '[conveyor] cursor is not valid: pass the `nextCursor` of a previous page unchanged.',
    );
  }
  return parsed as { [K in keyof T]: T[K] extends 'string' ? string : number };
}
