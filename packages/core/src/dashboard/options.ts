import type { Backend } from '../contracts/backend';
import { ConveyorError, conveyorMessage } from '../contracts/errors';
import type { Logger } from '../contracts/logger';
import { silentLogger } from '../contracts/logger';

/** Who made a request and what they may do, as an {@link DashboardAuth} function decides. */
export interface DashboardPrincipal {
  /** A name for logs (user name, e-mail, token id). */
  user: string;
  /** `read` sees everything and changes nothing; `write` may also pause, retry, cancel, delete and enqueue. */
  access: 'read' | 'write';
}

/**
 * Decides whether a request may use the dashboard. `false` → 401 `UNAUTHENTICATED`. `true` → allowed with write
 * access (the dashboard is still read-only when `readOnly: true`). A {@link DashboardPrincipal} names the user and
 * their access. An `auth` function may carry a `wwwAuthenticate` challenge (as {@link basicAuth}'s does), sent with
 * every 401 so browsers prompt for credentials.
 */
export type DashboardAuth = ((
  request: Request,
) => boolean | DashboardPrincipal | Promise<boolean | DashboardPrincipal>) & {
  /** Value of the `WWW-Authenticate` header sent with a 401, e.g. `Basic realm="Conveyor", charset="UTF-8"`. */
  readonly wwwAuthenticate?: string;
};

/** Where a redaction function is being applied. */
export type RedactTarget = 'job' | 'execution' | 'event' | 'error';

/**
 * Replaces secrets before a document leaves the process. It receives a fresh copy it may change in place, and
 * returns the document to send.
 */
export type RedactFunction = (document: Record<string, unknown>, target: RedactTarget) => Record<string, unknown>;

/** Options of {@link createDashboard}: a backend's four parts plus these. */
export interface DashboardOptions extends Backend {
  /**
   * The path the dashboard is mounted at (e.g. `/dashboard`), stripped from incoming URLs. Integrations that pass
   * a per-call `basePath` (the handler's second argument) override it. Used for the UI's asset and API URLs too.
   * @default ''
   */
  basePath?: string;
  /**
   * Who may use the dashboard. Without it every request is allowed and the dashboard is read-only unless
   * `readOnly: false`. See {@link basicAuth}.
   * @default undefined (no authentication)
   */
  auth?: DashboardAuth;
  /**
   * Refuse every mutation with 403 `READ_ONLY`. When not set: read-only without `auth`; with `auth`, what the auth
   * function grants decides.
   * @default true without `auth`, false with `auth`
   */
  readOnly?: boolean;
  /**
   * Secrets to hide wherever a job leaves the process (lists, detail, logs, events, error details): dotted paths
   * from the document's root such as `payload.password`, `payload.*.token`, `result.apiKey`, `lastError.stack`
   * (`*` matches any key or index), or a {@link RedactFunction}. Matched values become `"[REDACTED]"`.
   * @default [] (nothing hidden)
   */
  redact?: readonly string[] | RedactFunction;
  /**
   * Largest request body accepted; bigger ones answer 413 `PAYLOAD_TOO_LARGE`.
   * @default 1_048_576 (1 MiB)
   */
  maxBodyBytes?: number;
  /**
   * Where the dashboard reports faults (unexpected errors answered with 500, dropped clients). Never the console.
   * @default silentLogger
   */
  logger?: Logger;
  /**
   * Live event connections (SSE and WebSocket together) served at once; more answer 503.
   * @default 100
   */
  maxConnections?: number;
  /**
   * Bytes that may wait unsent for one live client; a client whose backlog grows past this is dropped.
   * @default 1_048_576 (1 MiB)
   */
  maxClientBufferBytes?: number;
  /**
   * Interval of the SSE heartbeat comment and the WebSocket ping (at most 15 s by API.md).
   * @default 15_000
   */
  heartbeatMs?: number;
  /**
   * A worker not seen for longer than this is reported `stale` and no longer counts towards saturation.
   * @default 30_000
   */
  staleWorkerMs?: number;
  /**
   * Each health check (queue, storage, metrics) fails as `unhealthy` after this long.
   * @default 2_000
   */
  healthTimeoutMs?: number;
  /**
   * A health check slower than this is reported `degraded`.
   * @default 500
   */
  healthDegradedMs?: number;
  /**
   * Origins (e.g. `https://admin.example.com`) allowed to send mutations besides the request's own host; for
   * proxies that rewrite the `Host` header.
   * @default []
   */
  allowedOrigins?: readonly string[];
  /**
   * Page title of the UI.
   * @default 'Conveyor'
   */
  title?: string;
}

/** Options with every default applied. */
export interface ResolvedOptions {
  backend: Backend;
  basePath: string;
  auth: DashboardAuth | undefined;
  readOnly: boolean | undefined;
  redact: readonly string[] | RedactFunction;
  maxBodyBytes: number;
  logger: Logger;
  maxConnections: number;
  maxClientBufferBytes: number;
  heartbeatMs: number;
  staleWorkerMs: number;
  healthTimeoutMs: number;
  healthDegradedMs: number;
  allowedOrigins: ReadonlySet<string>;
  title: string;
}

function configError(sentence: string): ConveyorError {
  return new ConveyorError('CONFIG_INVALID', conveyorMessage('dashboard', sentence));
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0) {
    throw configError(`option \`${name}\` must be a positive number, got ${String(value)}.`);
  }
  return value;
}

/** Normalise a mount path: leading slash, no trailing slash, '' for the root. */
export function normaliseBasePath(basePath: string | undefined): string {
  const trimmed = (basePath ?? '').trim().replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/** Check and complete the options; throws `CONFIG_INVALID` with the option to fix. */
export function resolveOptions(options: DashboardOptions): ResolvedOptions {
  for (const part of ['queue', 'storage', 'metrics', 'events'] as const) {
    if (options[part] === undefined || options[part] === null) {
      throw configError(
        `missing required option \`${part}\`. Pass a backend: createDashboard({ ...createMemoryBackend() }).`,
      );
    }
  }
  if (options.auth !== undefined && typeof options.auth !== 'function') {
    throw configError('option `auth` must be a function (request) => boolean | {user, access}; see basicAuth().');
  }
  const redact = options.redact ?? [];
  if (typeof redact !== 'function' && !Array.isArray(redact)) {
    throw configError('option `redact` must be an array of paths like "payload.password" or a function.');
  }
  const heartbeatMs = positive('heartbeatMs', options.heartbeatMs, 15_000);
  if (heartbeatMs > 15_000) throw configError('option `heartbeatMs` must be at most 15000 (API.md).');
  const origins = new Set<string>();
  for (const origin of options.allowedOrigins ?? []) {
    try {
      origins.add(new URL(origin).origin);
    } catch {
      throw configError(`option \`allowedOrigins\` holds "${origin}", which is not an origin like https://host:port.`);
    }
  }
  return {
    backend: { queue: options.queue, storage: options.storage, metrics: options.metrics, events: options.events },
    basePath: normaliseBasePath(options.basePath),
    auth: options.auth,
    readOnly: options.readOnly,
    redact,
    maxBodyBytes: positive('maxBodyBytes', options.maxBodyBytes, 1_048_576),
    logger: options.logger ?? silentLogger,
    maxConnections: Math.floor(positive('maxConnections', options.maxConnections, 100)),
    maxClientBufferBytes: positive('maxClientBufferBytes', options.maxClientBufferBytes, 1_048_576),
    heartbeatMs,
    staleWorkerMs: positive('staleWorkerMs', options.staleWorkerMs, 30_000),
    healthTimeoutMs: positive('healthTimeoutMs', options.healthTimeoutMs, 2_000),
    healthDegradedMs: positive('healthDegradedMs', options.healthDegradedMs, 500),
    allowedOrigins: origins,
    title: options.title ?? 'Conveyor',
  };
}
