import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';

/**
 * The one small bridge between Node's `http` objects and the web-standard `Request`/`Response` the dashboard
 * handler speaks. Every framework integration uses it, so they stay thin. It never replaces the global
 * `Request`/`Response`.
 */

/** What the bridge needs to rebuild a web `Request` from a Node request. */
export interface ToWebRequestOptions {
  /**
   * The path and query as the client sent them, before any framework stripped a mount prefix
   * (Express `req.originalUrl`, Koa `ctx.originalUrl`). @default req.url
   */
  originalUrl?: string;
  /**
   * A body a framework already parsed (`express.json()`, a Koa body parser, Fastify's parser). Used only when the
   * raw stream has already been consumed; objects are re-serialised as JSON, strings and buffers sent as they are.
   */
  parsedBody?: unknown;
  /** Trust `X-Forwarded-Proto` / `X-Forwarded-Host` (set this only behind a proxy you control). @default false */
  trustProxy?: boolean;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/** Rebuild the absolute URL of a Node request. */
export function requestUrl(req: IncomingMessage, options: ToWebRequestOptions = {}): URL {
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  const proto =
    (options.trustProxy && headerValue(req.headers['x-forwarded-proto'])?.split(',')[0]?.trim()) ||
    (encrypted ? 'https' : 'http');
  const host = (options.trustProxy && headerValue(req.headers['x-forwarded-host'])) || req.headers.host || 'localhost';
  const path = options.originalUrl ?? req.url ?? '/';
  try {
    return new URL(path, `${proto}://${host}`);
  } catch {
    // A Host header that is not a valid authority: keep the path, use a neutral host.
    return new URL(path.startsWith('/') ? path : `/${path}`, `${proto}://localhost`);
  }
}

function serialiseParsedBody(body: unknown): BodyInit | null {
  if (body === undefined || body === null) return null;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return new Uint8Array(body);
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  // An empty object is what most parsers leave when there was no body at all.
  if (typeof body === 'object' && Object.keys(body as object).length === 0 && !Array.isArray(body)) return null;
  return JSON.stringify(body);
}

/**
 * Build a web `Request` from a Node request. The raw body is streamed when it is still unread; otherwise the
 * framework's parsed body is used. The request's `signal` aborts when the client goes away.
 */
export function toWebRequest(
  req: IncomingMessage,
  res: ServerResponse | undefined,
  options: ToWebRequestOptions = {},
): Request {
  const url = requestUrl(req, options);
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const method = (req.method ?? 'GET').toUpperCase();
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (res) res.once('close', () => !res.writableFinished && abort());
  else req.once('close', abort);

  const init: RequestInit & { duplex?: 'half' } = { method, headers, signal: controller.signal };
  if (method !== 'GET' && method !== 'HEAD') {
    const consumed =
      req.readableEnded || (req as { complete?: boolean }).complete === true || options.parsedBody !== undefined;
    if (consumed) {
      const body = serialiseParsedBody(options.parsedBody);
      if (body !== null) {
        init.body = body;
        headers.delete('content-length');
        if (typeof options.parsedBody === 'object' && !(options.parsedBody instanceof Uint8Array)) {
          headers.set('content-type', 'application/json');
        }
      }
    } else {
      init.body = Readable.toWeb(req) as unknown as ReadableStream<Uint8Array>;
      init.duplex = 'half';
    }
  }
  return new Request(url, init);
}

/**
 * Write a web `Response` to a Node response: status and headers first (flushed at once for event streams, so SSE
 * clients see them before the first event), then the body with backpressure. When the client leaves, the body
 * stream is cancelled so the producer (an SSE subscription) is released.
 */
export async function sendWebResponse(res: ServerResponse, response: Response): Promise<void> {
  res.statusCode = response.status;
  if (response.statusText) res.statusMessage = response.statusText;
  const setCookies = response.headers.getSetCookie();
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') res.setHeader(name, value);
  });
  if (setCookies.length > 0) res.setHeader('set-cookie', setCookies);

  if (!response.body) {
    res.end();
    return;
  }
  const streaming = (response.headers.get('content-type') ?? '').startsWith('text/event-stream');
  if (streaming) {
    res.flushHeaders();
    // Disable Nagle so each event leaves at once.
    res.socket?.setNoDelay(true);
  }
  const reader = response.body.getReader();
  let closed = false;
  const onClose = () => {
    closed = true;
    reader.cancel().catch(() => {});
  };
  res.once('close', onClose);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done || closed) break;
      if (!res.write(value)) {
        await new Promise<void>((resolve) => {
          const settle = () => {
            res.off('drain', settle);
            res.off('close', settle);
            resolve();
          };
          res.once('drain', settle);
          res.once('close', settle);
        });
      }
    }
  } catch {
    // The stream failed or was cancelled because the client left: nothing more to send.
  } finally {
    res.off('close', onClose);
    if (!res.writableEnded) res.end();
  }
}

/** A dashboard-style handler: a web `Request` in, a `Response` out, with the mount path given per call. */
export type WebHandler = (request: Request, context?: { basePath?: string }) => Promise<Response>;

/**
 * Serve a web handler from a Node request/response pair. Integrations call this; errors the handler throws answer
 * 500 with the JSON error envelope instead of crashing the server.
 */
export async function serveNode(
  handler: WebHandler,
  req: IncomingMessage,
  res: ServerResponse,
  options: ToWebRequestOptions & { basePath?: string } = {},
): Promise<void> {
  let response: Response;
  try {
    const request = toWebRequest(req, res, options);
    response = await handler(request, options.basePath === undefined ? undefined : { basePath: options.basePath });
  } catch {
    response = new Response(JSON.stringify({ error: { code: 'INTERNAL', message: 'Internal error.' } }), {
      status: 500,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
  }
  await sendWebResponse(res, response);
}
