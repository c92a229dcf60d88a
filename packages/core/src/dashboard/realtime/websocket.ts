import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { isConveyorError } from '../../contracts/errors';
import type { ConveyorEvent } from '../../contracts/events';
import { DashboardHttpError, safeJsonStringify } from '../http';
import type { ResolvedOptions } from '../options';
import { wsClientMessage } from '../schemas';
import { type EventFilter, type LiveHub, matches } from './hub';

/** Largest message a client may send (subscribe/ping are tiny). */
const MAX_CLIENT_MESSAGE_BYTES = 16 * 1024;

/** Checks an upgrade request (auth, cross-site) and parses its initial filter; throws a DashboardHttpError. */
export type UpgradeGate = (request: Request) => Promise<EventFilter>;

/** Rebuild a web `Request` (headers only) for the auth and origin checks of an upgrade. */
export function upgradeRequest(req: IncomingMessage): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || name.startsWith(':')) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.set(name, value);
  }
  const encrypted = (req.socket as { encrypted?: boolean } | undefined)?.encrypted === true;
  let url: URL;
  try {
    url = new URL(req.url ?? '/', `${encrypted ? 'https' : 'http'}://${req.headers.host ?? 'localhost'}`);
  } catch {
    url = new URL('/', 'http://localhost');
  }
  return new Request(url, { method: 'GET', headers });
}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

/** Answer an upgrade with an HTTP error and close the socket. */
function refuse(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}) {
  if (socket.destroyed) return;
  const body = safeJsonStringify({ error: { code, message } });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`),
  ];
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/**
 * The WebSocket side of the live events: one `ws` server in `noServer` mode, fed by `handleUpgrade`. Each socket
 * holds a connection slot and one bus subscription until it closes. Slow sockets (`bufferedAmount` past the bound)
 * and sockets that stop answering pings are terminated.
 */
export class WebSocketEndpoint {
  private server: WebSocketServer | null = null;
  private readonly sockets = new Set<WebSocket>();

  constructor(
    private readonly hub: LiveHub,
    private readonly options: ResolvedOptions,
    private readonly gate: UpgradeGate,
  ) {}

  private wss(): WebSocketServer {
    if (this.server === null) {
      this.server = new WebSocketServer({
        noServer: true,
        maxPayload: MAX_CLIENT_MESSAGE_BYTES,
        clientTracking: false,
      });
    }
    return this.server;
  }

  /** Accept (or refuse) one upgrade whose path already matched. */
  async accept(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    let filter: EventFilter;
    let release: () => void;
    try {
      filter = await this.gate(upgradeRequest(req));
      release = this.hub.acquire();
    } catch (error) {
      if (error instanceof DashboardHttpError || isConveyorError(error)) {
        const status = error instanceof DashboardHttpError ? error.status : 400;
        refuse(
          socket,
          status,
          error.code,
          error.message,
          error instanceof DashboardHttpError ? { ...error.headers } : {},
        );
      } else {
        this.options.logger.error('[conveyor] [dashboard] a WebSocket upgrade failed unexpectedly.', {
          error: error instanceof Error ? error.message : String(error),
        });
        refuse(socket, 500, 'INTERNAL', '[conveyor] [dashboard] the upgrade failed unexpectedly.');
      }
      return;
    }
    if (socket.destroyed) {
      release();
      return;
    }
    this.wss().handleUpgrade(req, socket, head, (ws) => this.serve(ws, filter, release));
  }

  private serve(ws: WebSocket, initial: EventFilter, release: () => void): void {
    this.sockets.add(ws);
    let filter = initial;
    let alive = true;
    const send = (text: string) => {
      if (ws.readyState !== ws.OPEN) return;
      if (ws.bufferedAmount > this.options.maxClientBufferBytes) {
        this.options.logger.warn(
          '[conveyor] [dashboard] dropped a slow WebSocket client (bufferedAmount past the bound).',
          {
            maxClientBufferBytes: this.options.maxClientBufferBytes,
          },
        );
        ws.terminate();
        return;
      }
      ws.send(text);
    };
    const unsubscribe = this.hub.subscribe((event: ConveyorEvent) => {
      if (matches(filter, event)) send(this.hub.serialise(event));
    });
    const heartbeat = setInterval(() => {
      if (!alive) {
        ws.terminate();
        return;
      }
      alive = false;
      try {
        ws.ping();
      } catch {
        ws.terminate();
      }
    }, this.options.heartbeatMs);
    heartbeat.unref?.();
    ws.on('pong', () => {
      alive = true;
    });
    ws.on('message', (data: RawData, isBinary: boolean) => {
      alive = true;
      if (isBinary) {
        send(wsError('VALIDATION_FAILED', 'send JSON text messages, not binary ones.'));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(rawText(data));
      } catch {
        send(wsError('VALIDATION_FAILED', 'the message is not valid JSON.'));
        return;
      }
      const result = wsClientMessage.safeParse(parsed);
      if (!result.success) {
        send(
          wsError(
            'VALIDATION_FAILED',
            'send {"action":"subscribe","types":[…],"queue":…} or {"action":"ping"}.',
            result.error.issues,
          ),
        );
        return;
      }
      const message = result.data;
      if (message.action === 'ping') {
        send(JSON.stringify({ type: 'pong' }));
      } else {
        filter = {
          types: message.types === undefined || message.types.length === 0 ? null : new Set(message.types),
          queue: message.queue ?? null,
        };
        send(JSON.stringify({ type: 'subscribed', types: message.types ?? null, queue: message.queue ?? null }));
      }
    });
    ws.on('error', () => ws.terminate());
    ws.once('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      release();
      this.sockets.delete(ws);
    });
  }

  /** Open WebSocket clients. */
  get size(): number {
    return this.sockets.size;
  }

  /** Close every socket (server shutdown). */
  closeAll(): void {
    for (const ws of this.sockets) ws.terminate();
  }
}

function rawText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

function wsError(code: string, sentence: string, details?: unknown): string {
  return safeJsonStringify({
    type: 'error',
    error: { code, message: `[conveyor] [dashboard] ${sentence}`, ...(details === undefined ? {} : { details }) },
  });
}

/** Options of {@link attachWebSocket}. */
export interface AttachWebSocketOptions {
  /**
   * The mount path of the dashboard on this server; the endpoint is `<basePath>/api/events/ws`.
   * @default the dashboard's `basePath` option
   */
  basePath?: string;
  /**
   * The full path of the endpoint, when it is not `<basePath>/api/events/ws`.
   * @default `${basePath}/api/events/ws`
   */
  path?: string;
}

/** What a dashboard exposes for WebSocket upgrades. */
export interface UpgradeHandler {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, options?: AttachWebSocketOptions): boolean;
}

/**
 * Serve the dashboard's WebSocket endpoint on a Node `http.Server`: upgrades for its path are handled, other
 * upgrade requests are left to the server's other listeners. Returns the function that detaches it.
 *
 * ```ts
 * const server = http.createServer(...);
 * attachWebSocket(server, dashboard, { basePath: '/dashboard' });
 * ```
 */
export function attachWebSocket(
  server: Server,
  dashboard: UpgradeHandler,
  options: AttachWebSocketOptions = {},
): () => void {
  const listener = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    dashboard.handleUpgrade(req, socket, head, options);
  };
  server.on('upgrade', listener);
  return () => {
    server.off('upgrade', listener);
  };
}
