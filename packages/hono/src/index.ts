import type { Server } from 'node:http';
import type { Dashboard, WebHandler } from '@conveyor/core';
import { Hono } from 'hono';

/**
 * @conveyor/hono — mount the Conveyor dashboard in Hono 4.
 *
 * ```ts
 * app.route('/dashboard', conveyorHono(dashboard, { basePath: '/dashboard' }));
 * ```
 */

/** Options for {@link conveyorHono}. */
export interface ConveyorHonoOptions {
  /** The path this app is mounted at with `app.route(basePath, …)`; '' at the root. @default '' */
  basePath?: string;
}

const BODYLESS = new Set(['GET', 'HEAD']);

/**
 * A Hono sub-app that hands every request to the dashboard handler. Hono already speaks web `Request`/`Response`,
 * so the only work is the body: when a middleware already read it (`c.req.json()`), Hono keeps it cached and we
 * rebuild the request from that cache.
 */
export function conveyorHono(dashboard: WebHandler, options: ConveyorHonoOptions = {}): Hono {
  const basePath = (options.basePath ?? '').replace(/\/$/, '');
  const app = new Hono();
  app.all('*', async (c) => {
    let request = c.req.raw;
    if (!BODYLESS.has(request.method) && request.bodyUsed) {
      const body = await c.req.arrayBuffer();
      request = new Request(request.url, {
        method: request.method,
        headers: request.headers,
        body,
        signal: request.signal,
      });
    }
    return dashboard(request, { basePath });
  });
  return app;
}

/**
 * Attach the dashboard's WebSocket endpoint to the Node server `@hono/node-server`'s `serve()` returned:
 * `attachConveyorWebSocket(serve({ fetch: app.fetch, port: 3000 }), dashboard, '/dashboard')`.
 */
export function attachConveyorWebSocket(server: Server, dashboard: Dashboard, basePath: string): () => void {
  return dashboard.attachTo(server, basePath);
}
