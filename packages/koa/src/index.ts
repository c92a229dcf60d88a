import type { Server } from 'node:http';
import { type Dashboard, serveNode, type WebHandler } from '@conveyor/core';
import type { Middleware } from 'koa';

/**
 * @conveyor/koa — mount the Conveyor dashboard in Koa 3 (and 2).
 *
 * ```ts
 * app.use(conveyorKoa(dashboard, { basePath: '/dashboard' }));
 * ```
 */

/** Options for {@link conveyorKoa}. */
export interface ConveyorKoaOptions {
  /** Where the dashboard is mounted; requests outside it go to the next middleware. @default '' */
  basePath?: string;
  /** Trust `X-Forwarded-*` headers when rebuilding the request URL. @default false */
  trustProxy?: boolean;
}

/**
 * A Koa middleware serving the dashboard under `basePath`. A body a Koa body parser already read
 * (`ctx.request.body`) is passed on; otherwise the raw body is streamed. The response is written by the shared
 * Node bridge (`ctx.respond = false`) so Server-Sent Events stream unbuffered.
 */
export function conveyorKoa(dashboard: WebHandler, options: ConveyorKoaOptions = {}): Middleware {
  const basePath = (options.basePath ?? '').replace(/\/$/, '');
  return async (ctx, next) => {
    const path = ctx.path;
    if (basePath && path !== basePath && !path.startsWith(`${basePath}/`)) return next();
    ctx.respond = false;
    const parsed = (ctx.request as { body?: unknown }).body;
    await serveNode(dashboard, ctx.req, ctx.res, {
      originalUrl: ctx.originalUrl,
      basePath,
      parsedBody: ctx.req.readableEnded ? parsed : undefined,
      trustProxy: options.trustProxy ?? false,
    });
  };
}

/**
 * Attach the dashboard's WebSocket endpoint to the server Koa listens on:
 * `attachConveyorWebSocket(app.listen(3000), dashboard, '/dashboard')`. Returns a function that detaches it.
 */
export function attachConveyorWebSocket(server: Server, dashboard: Dashboard, basePath: string): () => void {
  return dashboard.attachTo(server, basePath);
}
