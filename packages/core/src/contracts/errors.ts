/**
 * Errors with stable codes. Codes are part of the public API: they never change meaning across versions.
 * Messages follow `[conveyor] [component] what happened. How to fix it.`
 */

export const ERROR_CODES = [
  'VALIDATION_FAILED',
  'NOT_FOUND',
  'INVALID_STATE',
  'LEASE_LOST',
  'PAYLOAD_TOO_LARGE',
  'QUEUE_PAUSED',
  'SEARCH_UNSUPPORTED',
  'DUPLICATE_JOB',
  'CONFIG_INVALID',
  'CONNECTION_FAILED',
  'ADAPTER_CLOSED',
  'TIMEOUT',
  'UNRECOVERABLE',
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'READ_ONLY',
  'CROSS_SITE_REQUEST',
  'UNHEALTHY',
  'INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

/** Every error Conveyor throws on purpose. Match on `code`, not on the message. */
export class ConveyorError extends Error {
  /** Stable, uppercase, guaranteed across versions. */
  readonly code: ErrorCode;
  /** Structured context (for `VALIDATION_FAILED`: the zod issues). */
  readonly details: unknown;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ConveyorError';
    this.code = code;
    this.details = options.details;
  }
}

/** A write presented a fencing token that is no longer the job's current lease. Nothing was changed. */
export class LeaseLostError extends ConveyorError {
  readonly jobId: string;
  constructor(jobId: string, component = 'queue') {
    super(
      'LEASE_LOST',
      `[conveyor] [${component}] the lease on job ${jobId} is no longer held (it expired, was recovered, or the job was cancelled or deleted); the write was refused and changed nothing.`,
    );
    this.name = 'LeaseLostError';
    this.jobId = jobId;
  }
}

/** Throw from a handler to fail the job at once, skipping any remaining retries. */
export class UnrecoverableError extends Error {
  readonly code = 'UNRECOVERABLE';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnrecoverableError';
  }
}

/** Build the prefixed message used across packages: `[conveyor] [sqlite] …`. */
export function conveyorMessage(component: string, sentence: string): string {
  return `[conveyor] [${component}] ${sentence}`;
}

export function notFound(component: string, what: string): ConveyorError {
  return new ConveyorError('NOT_FOUND', conveyorMessage(component, `${what} does not exist.`));
}

export function invalidState(component: string, sentence: string): ConveyorError {
  return new ConveyorError('INVALID_STATE', conveyorMessage(component, sentence));
}

export function isConveyorError(error: unknown, code?: ErrorCode): error is ConveyorError {
  return error instanceof ConveyorError && (code === undefined || error.code === code);
}
