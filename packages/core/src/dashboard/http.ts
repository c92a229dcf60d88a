import { ConveyorError, conveyorMessage, type ErrorCode } from '../contracts/errors';

/** HTTP status of each stable error code. Codes not listed are faults of the server: 500. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  VALIDATION_FAILED: 400,
  SEARCH_UNSUPPORTED: 400,
  CONFIG_INVALID: 400,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  READ_ONLY: 403,
  CROSS_SITE_REQUEST: 403,
  NOT_FOUND: 404,
  INVALID_STATE: 409,
  DUPLICATE_JOB: 409,
  QUEUE_PAUSED: 409,
  LEASE_LOST: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNHEALTHY: 503,
  CONNECTION_FAILED: 503,
  ADAPTER_CLOSED: 503,
  TIMEOUT: 504,
};

/** Status for an error code (500 for anything unexpected). */
export function statusForCode(code: ErrorCode): number {
  return STATUS_BY_CODE[code] ?? 500;
}

/**
 * A {@link ConveyorError} that carries its own HTTP status and headers, for answers whose status does not follow
 * from the code alone (`401` with a `WWW-Authenticate` challenge, `503` with `Retry-After` when connections run out).
 */
export class DashboardHttpError extends ConveyorError {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  constructor(
    code: ErrorCode,
    sentence: string,
    options: { status?: number; headers?: Record<string, string>; details?: unknown } = {},
  ) {
    super(code, conveyorMessage('dashboard', sentence), { details: options.details });
    this.name = 'DashboardHttpError';
    this.status = options.status ?? statusForCode(code);
    this.headers = options.headers ?? {};
  }
}

/** Headers every answer of the dashboard carries. */
export const BASE_HEADERS: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'same-origin',
};

/**
 * JSON that cannot be mistaken for markup even by a browser that ignores the content type: `<`, `>`, `&` and the
 * JavaScript line separators are written as `\u` escapes (still the same JSON value).
 */
export function safeJsonStringify(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** A JSON answer. */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(safeJsonStringify(body), {
    status,
    headers: {
      ...BASE_HEADERS,
      'content-type': 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      ...headers,
    },
  });
}

/** The error envelope of API.md. */
export interface ErrorEnvelope {
  error: { code: string; message: string; details?: unknown };
}

/** An error answer for a {@link ConveyorError}; `details` should already be redacted. */
export function errorResponse(error: ConveyorError, details: unknown = error.details): Response {
  const status = error instanceof DashboardHttpError ? error.status : statusForCode(error.code);
  const body: ErrorEnvelope = { error: { code: error.code, message: error.message } };
  if (details !== undefined) body.error.details = details;
  return jsonResponse(body, status, error instanceof DashboardHttpError ? { ...error.headers } : {});
}

/** The answer to an unexpected fault: 500 `INTERNAL`, no stack, no message from inside. */
export function internalErrorResponse(): Response {
  return jsonResponse(
    {
      error: {
        code: 'INTERNAL',
        message: conveyorMessage(
          'dashboard',
          'an unexpected error occurred while answering this request. The server log has the details.',
        ),
      },
    },
    500,
  );
}

/** ISO-8601 UTC text of epoch milliseconds, or null. */
export function iso(ms: number | null | undefined): string | null {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return null;
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? null : date.toISOString();
}

/** Like {@link iso} for a value that is always present. */
export function isoRequired(ms: number): string {
  return iso(ms) ?? new Date(0).toISOString();
}
