import type { ConveyorEvent } from '../../contracts/events';
import { BASE_HEADERS } from '../http';
import type { ResolvedOptions } from '../options';
import { type EventFilter, type LiveHub, matches } from './hub';

const encoder = new TextEncoder();

/** A line-safe SSE field value (ids come from the backend; never let one break the framing). */
function field(value: string): string {
  return value.replace(/[\r\n]/g, ' ');
}

/**
 * `GET /api/events`: a Server-Sent Events stream. The Response is returned at once (headers first, a comment so
 * proxies and integrations flush immediately); every event carries `id:`; a `:` heartbeat comment is sent every
 * `heartbeatMs`. A client whose unread backlog exceeds `maxClientBufferBytes` is dropped. Cancelling the stream
 * (client gone) or aborting the request releases the bus subscription and the connection slot.
 */
export function openEventStream(
  request: Request,
  filter: EventFilter,
  hub: LiveHub,
  options: ResolvedOptions,
): Response {
  const release = hub.acquire();
  let unsubscribe: (() => void) | null = null;
  let heartbeat: ReturnType<typeof setInterval> | null = null;
  let finished = false;

  const cleanup = () => {
    if (finished) return;
    finished = true;
    if (heartbeat !== null) clearInterval(heartbeat);
    heartbeat = null;
    unsubscribe?.();
    unsubscribe = null;
    request.signal.removeEventListener('abort', onAbort);
    release();
  };
  let controllerRef: ReadableStreamDefaultController<Uint8Array> | null = null;
  const onAbort = () => {
    const controller = controllerRef;
    cleanup();
    try {
      controller?.close();
    } catch {
      // Already closed or errored.
    }
  };

  const stream = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        controllerRef = controller;
        const send = (text: string): void => {
          if (finished) return;
          try {
            controller.enqueue(encoder.encode(text));
          } catch {
            cleanup();
            return;
          }
          // desiredSize = bound − queued bytes: below zero, the client is not reading fast enough.
          if ((controller.desiredSize ?? 0) < 0) {
            options.logger.warn(
              '[conveyor] [dashboard] dropped a slow SSE client (its backlog passed maxClientBufferBytes).',
              {
                maxClientBufferBytes: options.maxClientBufferBytes,
              },
            );
            cleanup();
            controller.error(new Error('SSE client too slow: dropped'));
          }
        };
        send(`retry: 3000\n: connected\n\n`);
        unsubscribe = hub.subscribe((event: ConveyorEvent) => {
          if (!matches(filter, event)) return;
          send(`id: ${field(event.id)}\ndata: ${hub.serialise(event)}\n\n`);
        });
        heartbeat = setInterval(() => send(`: heartbeat ${new Date().toISOString()}\n\n`), options.heartbeatMs);
        heartbeat.unref?.();
        if (request.signal.aborted) onAbort();
        else request.signal.addEventListener('abort', onAbort, { once: true });
      },
      cancel() {
        cleanup();
      },
    },
    { highWaterMark: options.maxClientBufferBytes, size: (chunk) => chunk.byteLength },
  );

  return new Response(stream, {
    status: 200,
    headers: {
      ...BASE_HEADERS,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      'x-accel-buffering': 'no',
    },
  });
}
