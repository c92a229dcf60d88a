import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConveyorError, conveyorMessage } from '../contracts/errors';
import { DashboardHttpError } from './http';
import type { DashboardAuth, DashboardPrincipal, ResolvedOptions } from './options';

/** Options of {@link basicAuth}. */
export interface BasicAuthOptions {
  username: string;
  password: string;
  /**
   * What authenticated users may do.
   * @default 'write'
   */
  access?: 'read' | 'write';
  /**
   * The realm browsers show in their login prompt.
   * @default 'Conveyor'
   */
  realm?: string;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * HTTP Basic authentication for the dashboard's `auth` option. Credentials are compared in constant time
 * (`timingSafeEqual` on SHA-256 digests, so neither the content nor the length leaks through timing). A 401 carries
 * `WWW-Authenticate: Basic`, so browsers prompt for the credentials. Use it over HTTPS only.
 *
 * ```ts
 * createDashboard({ ...backend, auth: basicAuth({ username: 'admin', password: process.env.DASHBOARD_PASSWORD! }) });
 * ```
 */
export function basicAuth(options: BasicAuthOptions): DashboardAuth {
  if (typeof options.username !== 'string' || typeof options.password !== 'string' || options.password === '') {
    throw new ConveyorError(
      'CONFIG_INVALID',
      conveyorMessage('dashboard', 'basicAuth() needs a `username` and a non-empty `password` string.'),
    );
  }
  const expectedUser = digest(options.username);
  const expectedPassword = digest(options.password);
  const access = options.access ?? 'write';
  const realm = (options.realm ?? 'Conveyor').replace(/["\\\r\n]/g, '');
  const check = (request: Request): boolean | DashboardPrincipal => {
    const header = request.headers.get('authorization') ?? '';
    const match = /^Basic[ \t]+([A-Za-z0-9+/=_-]+)[ \t]*$/i.exec(header);
    if (!match) return false;
    const decoded = Buffer.from(match[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return false;
    const user = decoded.slice(0, colon);
    // Both comparisons always run, so a wrong user name takes as long as a wrong password.
    const userOk = timingSafeEqual(digest(user), expectedUser);
    const passwordOk = timingSafeEqual(digest(decoded.slice(colon + 1)), expectedPassword);
    return userOk && passwordOk ? { user, access } : false;
  };
  return Object.assign(check, { wwwAuthenticate: `Basic realm="${realm}", charset="UTF-8"` });
}

/** The outcome of authentication for one request. */
export interface RequestAccess {
  user: string | null;
  /** May this request change anything? */
  canWrite: boolean;
  /** Why not, when it may not: the dashboard is read-only, or this user has read access only. */
  denial: 'READ_ONLY' | 'FORBIDDEN' | null;
}

/** Run the `auth` option; throws 401 `UNAUTHENTICATED` when it refuses. */
export async function authenticate(request: Request, options: ResolvedOptions): Promise<RequestAccess> {
  const auth = options.auth;
  if (auth === undefined) {
    const canWrite = options.readOnly === false;
    return { user: null, canWrite, denial: canWrite ? null : 'READ_ONLY' };
  }
  const verdict = await auth(request);
  if (
    verdict === false ||
    verdict === null ||
    verdict === undefined ||
    (verdict !== true && typeof verdict !== 'object')
  ) {
    throw new DashboardHttpError(
      'UNAUTHENTICATED',
      'authentication is required to use this dashboard. Sign in with valid credentials.',
      auth.wwwAuthenticate ? { headers: { 'www-authenticate': auth.wwwAuthenticate } } : {},
    );
  }
  const principal: DashboardPrincipal = verdict === true ? { user: 'anonymous', access: 'write' } : verdict;
  if (options.readOnly === true) return { user: principal.user, canWrite: false, denial: 'READ_ONLY' };
  const canWrite = principal.access === 'write';
  return { user: principal.user, canWrite, denial: canWrite ? null : 'FORBIDDEN' };
}

/** Throws 403 `CROSS_SITE_REQUEST` when a mutation comes from another site. */
export function assertSameSite(request: Request, url: URL, options: ResolvedOptions): void {
  const fetchSite = request.headers.get('sec-fetch-site');
  if (fetchSite !== null && fetchSite.trim().toLowerCase() === 'cross-site') {
    throw crossSite('the browser marked it `Sec-Fetch-Site: cross-site`');
  }
  const origin = request.headers.get('origin');
  if (origin === null) return;
  let parsed: URL;
  try {
    parsed = new URL(origin);
  } catch {
    throw crossSite(`its Origin "${origin.slice(0, 100)}" is opaque or malformed`);
  }
  if (options.allowedOrigins.has(parsed.origin)) return;
  const hosts = new Set<string>([url.host.toLowerCase()]);
  const hostHeader = request.headers.get('host');
  if (hostHeader !== null) hosts.add(hostHeader.trim().toLowerCase());
  if (!hosts.has(parsed.host.toLowerCase())) {
    throw crossSite(`its Origin host "${parsed.host}" does not match the dashboard's host`);
  }
}

function crossSite(why: string): DashboardHttpError {
  return new DashboardHttpError(
    'CROSS_SITE_REQUEST',
    `this change was refused because ${why}; nothing was changed. Use the dashboard from its own origin, or list your origin in \`allowedOrigins\`.`,
  );
}

/** Throws 403 `READ_ONLY` / `FORBIDDEN` when this request may not change anything. */
export function assertCanWrite(access: RequestAccess): void {
  if (access.canWrite) return;
  if (access.denial === 'FORBIDDEN') {
    throw new DashboardHttpError(
      'FORBIDDEN',
      `user "${access.user ?? 'anonymous'}" has read access only; nothing was changed. Ask for write access.`,
    );
  }
  throw new DashboardHttpError(
    'READ_ONLY',
    'this dashboard is read-only; nothing was changed. The host enables changes with `auth` granting write access or `readOnly: false`.',
  );
}

/** A fresh CSP nonce (128 random bits). */
export function newNonce(): string {
  return randomBytes(16).toString('base64');
}

/** The Content-Security-Policy of the UI page for one nonce. */
export function contentSecurityPolicy(nonce: string): string {
  return [
    "default-src 'self'",
    `script-src 'nonce-${nonce}'`,
    `style-src 'self' 'nonce-${nonce}'`,
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'self'",
    "frame-ancestors 'self'",
  ].join('; ');
}
