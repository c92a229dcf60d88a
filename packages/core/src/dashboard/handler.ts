import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import type { z } from 'zod';
import { ConveyorError, conveyorMessage, isConveyorError } from '../contracts/errors';
import { describeIssues } from '../runtime/options';
import { readJsonBody } from './body';
import { errorResponse, internalErrorResponse, jsonResponse } from './http';
import { buildOpenApiDocument } from './openapi';
import { type DashboardOptions, normaliseBasePath, type ResolvedOptions, resolveOptions } from './options';
import { LiveHub } from './realtime/hub';
import { type AttachWebSocketOptions, attachWebSocket, WebSocketEndpoint } from './realtime/websocket';
import { createRedactor, type Redactor } from './redact';
import { type Route, type RouteContext, Router } from './router';
import { jobRoutes } from './routes/jobs';
import { queueRoutes } from './routes/queues';
import { statsRoutes } from './routes/stats';
import { systemRoutes } from './routes/system';
import { eventsQuery } from './schemas';
import { assertCanWrite, assertSameSite, authenticate } from './security';
import { assetResponse, htmlResponse } from './ui';

/** Version of the HTTP API (API.md), reported in the OpenAPI document. */
export const DASHBOARD_API_VERSION = '1.0.0';

const WS_SUFFIX = '/api/events/ws';

/**
 * The dashboard: a web-standard handler `(request) => Promise<Response>` with extras for WebSocket upgrades.
 *
 * Mount it with an integration (`@conveyor/express`, `…/fastify`, `…/koa`, `…/hono`) or any server that speaks
 * `Request`/`Response`. The WebSocket endpoint needs the Node server's `upgrade` event: call
 * {@link attachWebSocket} (or `dashboard.attachTo(server, basePath)`), or, in a framework that owns the upgrade
 * event, pass its arguments to {@link Dashboard.handleUpgrade}.
 */
export interface Dashboard {
  /**
   * Answer one request. `context.basePath` (an integration's mount path) overrides the `basePath` option for this
   * call; the URL may be the full one (the prefix is stripped) or already stripped.
   */
  (request: Request, context?: { basePath?: string }): Promise<Response>;
  /**
   * Handle a Node `upgrade` event: when the path is `<basePath>/api/events/ws` the upgrade is authenticated,
   * checked for cross-site use and completed (or refused with an HTTP error), and `true` is returned. For any other
   * path nothing is touched and `false` is returned, so other upgrade handlers (HMR, your own sockets) keep working.
   */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options?: AttachWebSocketOptions): boolean;
  /** `attachWebSocket(server, dashboard, { basePath })`; returns the function that detaches it. */
  attachTo(server: Server, basePath?: string): () => void;
  /** The route table the handler serves and the OpenAPI document describes. */
  readonly routes: readonly Route[];
  /** The OpenAPI 3.1 document (the body of `GET /api/openapi.json`). */
  openApiDocument(): Record<string, unknown>;
  /** Live event clients (SSE and WebSocket) connected now. */
  readonly connections: number;
  /** Disconnect every WebSocket client (SSE streams end when their HTTP responses close). */
  closeConnections(): void;
}

function validationError(what: string, issues: readonly z.core.$ZodIssue[]): ConveyorError {
  return new ConveyorError(
    'VALIDATION_FAILED',
    conveyorMessage('dashboard', `invalid ${what}: ${describeIssues(issues, '')}.`),
    { details: issues },
  );
}

function parse<T extends z.ZodType>(schema: T | undefined, value: unknown, what: string): z.output<T> | undefined {
  if (schema === undefined) return undefined;
  const result = schema.safeParse(value);
  if (!result.success) throw validationError(what, result.error.issues);
  return result.data;
}

/** The query string as an object: the first value of each parameter. */
function queryObject(url: URL): Record<string, string> {
  const entries = new Map<string, string>();
  for (const [key, value] of url.searchParams) if (!entries.has(key)) entries.set(key, value);
  return Object.fromEntries(entries);
}

/** The path relative to the mount point; `null` would mean "not under it" but we accept already-stripped URLs. */
function relativePath(pathname: string, basePath: string): string {
  let path = pathname;
  if (basePath !== '' && (path === basePath || path.startsWith(`${basePath}/`))) path = path.slice(basePath.length);
  if (path.length > 1 && path.endsWith('/')) path = path.replace(/\/+$/, '');
  return path === '' ? '/' : path;
}

function notFoundRoute(method: string, path: string): ConveyorError {
  return new ConveyorError(
    'NOT_FOUND',
    conveyorMessage(
      'dashboard',
      `no route for ${method} ${path.slice(0, 200)}. See /api/openapi.json for every route.`,
    ),
  );
}

function isApiPath(path: string): boolean {
  return path === '/api' || path.startsWith('/api/') || path === '/metrics';
}

/**
 * Create the dashboard handler over a backend: every endpoint of the standard dashboard API (API.md), live events
 * over SSE and WebSocket, Prometheus metrics, health, the OpenAPI document and the web UI.
 *
 * ```ts
 * const dashboard = createDashboard({ ...createMemoryBackend(), basePath: '/dashboard', auth: basicAuth({...}) });
 * ```
 */
export function createDashboard(input: DashboardOptions): Dashboard {
  const options: ResolvedOptions = resolveOptions(input);
  const redactor: Redactor = createRedactor(options.redact);
  const hub = new LiveHub(options, redactor);
  let openApiCache: Record<string, unknown> | null = null;
  const routes: Route[] = [...statsRoutes, ...queueRoutes, ...jobRoutes, ...systemRoutes(hub, () => openApiDocument())];
  const router = new Router(routes);
  const openApiDocument = (): Record<string, unknown> => {
    openApiCache ??= buildOpenApiDocument(routes, { title: options.title, version: DASHBOARD_API_VERSION });
    return openApiCache;
  };

  const redactDetails = (error: ConveyorError): unknown =>
    error.details === undefined || redactor.none ? error.details : redactor.applyUnknown(error.details, 'error');

  async function handle(request: Request, context?: { basePath?: string }): Promise<Response> {
    const method = request.method.toUpperCase();
    try {
      const url = new URL(request.url);
      const basePath = context?.basePath === undefined ? options.basePath : normaliseBasePath(context.basePath);
      const path = relativePath(url.pathname, basePath);
      const access = await authenticate(request, options);

      if (!isApiPath(path)) return serveUi(request, method, path, basePath, access.canWrite);

      const match = router.match(method, path);
      if (match.kind === 'badEncoding') {
        throw new ConveyorError(
          'VALIDATION_FAILED',
          conveyorMessage('dashboard', 'the path holds malformed %-encoding.'),
        );
      }
      if (match.kind === 'none') throw notFoundRoute(method, path);
      const route = match.route;
      const mutation = method !== 'GET' && method !== 'HEAD';
      if (mutation) {
        assertSameSite(request, url, options);
        assertCanWrite(access);
      }
      const params = parse(route.params, match.params, 'path parameters');
      const query = parse(route.query, queryObject(url), 'query parameters');
      let body: unknown;
      if (mutation) {
        const raw = await readJsonBody(request, options.maxBodyBytes);
        body = parse(route.body, raw, 'request body');
      }
      let now: Promise<number> | null = null;
      const ctx: RouteContext = {
        request,
        url,
        params,
        query,
        body,
        backend: options.backend,
        options,
        redactor,
        access,
        basePath,
        now: () => {
          now ??= options.backend.queue.now();
          return now;
        },
      };
      const result = await route.handler(ctx);
      const response = result instanceof Response ? result : jsonResponse(result);
      return method === 'HEAD' ? new Response(null, { status: response.status, headers: response.headers }) : response;
    } catch (error) {
      if (isConveyorError(error)) return errorResponse(error, redactDetails(error));
      options.logger.error('[conveyor] [dashboard] unexpected error while answering a request; answered 500.', {
        method,
        error: error instanceof Error ? error.message : String(error),
        stack: error instanceof Error ? error.stack : undefined,
      });
      return internalErrorResponse();
    }
  }

  function serveUi(request: Request, method: string, path: string, basePath: string, canWrite: boolean): Response {
    const head = method === 'HEAD';
    if (method !== 'GET' && !head) throw notFoundRoute(method, path);
    if (path.startsWith('/assets/')) {
      const asset = assetResponse(path.slice('/assets/'.length), request, head);
      if (asset === null) throw notFoundRoute(method, path);
      return asset;
    }
    const last = path.slice(path.lastIndexOf('/') + 1);
    // Client-side routes (no file extension) get the page; anything that looks like a file and is not an asset is 404.
    if (last.includes('.')) throw notFoundRoute(method, path);
    return htmlResponse(basePath, !canWrite, options.title, head);
  }

  const websocket = new WebSocketEndpoint(hub, options, async (request) => {
    await authenticate(request, options);
    // A WebSocket carries the same data as GET endpoints, but browsers attach cookies to cross-site upgrades and
    // do not enforce CORS on them: refuse other origins, as for mutations (cross-site WebSocket hijacking).
    assertSameSite(request, new URL(request.url), options);
    const query = parse(eventsQuery, queryObject(new URL(request.url)), 'query parameters');
    const types = query?.types;
    return {
      types: types === undefined || types.length === 0 ? null : new Set(types),
      queue: query?.queue ?? null,
    };
  });

  const handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer, upgrade: AttachWebSocketOptions = {}) => {
    const basePath = upgrade.basePath === undefined ? options.basePath : normaliseBasePath(upgrade.basePath);
    const expected = upgrade.path ?? `${basePath}${WS_SUFFIX}`;
    const rawUrl = req.url ?? '/';
    const pathname = rawUrl.split('?')[0] ?? '/';
    if (pathname !== expected && pathname !== `${expected}/`) return false;
    websocket.accept(req, socket, head).catch((error: unknown) => {
      options.logger.error('[conveyor] [dashboard] a WebSocket upgrade failed.', {
        error: error instanceof Error ? error.message : String(error),
      });
      socket.destroy();
    });
    return true;
  };

  const dashboard = handle as Dashboard;
  Object.defineProperties(dashboard, {
    handleUpgrade: { value: handleUpgrade },
    attachTo: {
      value: (server: Server, basePath?: string) =>
        attachWebSocket(server, dashboard, basePath === undefined ? {} : { basePath }),
    },
    routes: { value: routes },
    openApiDocument: { value: openApiDocument },
    connections: { get: () => hub.connections },
    closeConnections: { value: () => websocket.closeAll() },
  });
  return dashboard;
}
