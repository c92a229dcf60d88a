import type { Server } from 'node:http';
import { type Dashboard, serveNode, type WebHandler } from '@conveyor/core';
import type { NextFunction, Request, Response } from 'express';

/**
 * @conveyor/express — mount the Conveyor dashboard in Express 4 or 5.
 *
 * ```ts
 * app.use('/dashboard', conveyorExpress(dashboard));
 * ```
 */

/** Options for {@link conveyorExpress}. */
export interface ConveyorExpressOptions {
  /** Trust `X-Forwarded-Proto`/`X-Forwarded-Host` when rebuilding the request URL. @default false */
  trustProxy?: boolean;
}

/** An Express middleware (works with `app.use` and `router.use` in Express 4 and 5). */
export type ConveyorExpressMiddleware = (req: Request, res: Response, next: NextFunction) => void;

/**
 * Serve the dashboard handler under the path it is mounted at (`app.use('/dashboard', …)`). The mount path is
 * read from `req.baseUrl`, so the same middleware works at the root and under any prefix. A body that
 * `express.json()` (or another parser) already read is passed on; otherwise the raw body is streamed.
 */
export function conveyorExpress(
  dashboard: WebHandler,
  options: ConveyorExpressOptions = {},
): ConveyorExpressMiddleware {
  return (req, res, next) => {
    serveNode(dashboard, req, res, {
      originalUrl: req.originalUrl,
      basePath: req.baseUrl,
      parsedBody: bodyWasParsed(req) ? req.body : undefined,
      trustProxy: options.trustProxy ?? false,
    }).catch(next);
  };
}

/** Express 5 leaves `req.body` undefined without a parser; Express 4 too. A parser sets `req._body`. */
function bodyWasParsed(req: Request): boolean {
  return (req as Request & { _body?: boolean })._body === true || (req.body !== undefined && req.readableEnded);
}

/**
 * Attach the dashboard's WebSocket endpoint (`<basePath>/api/events/ws`) to the server Express listens on:
 * `attachConveyorWebSocket(app.listen(3000), dashboard, '/dashboard')`. Returns a function that detaches it.
 */
export function attachConveyorWebSocket(server: Server, dashboard: Dashboard, basePath: string): () => void {
  return dashboard.attachTo(server, basePath);
}
