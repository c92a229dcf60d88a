import { z } from 'zod';
import { checkHealth } from '../health';
import { BASE_HEADERS, DashboardHttpError, safeJsonStringify } from '../http';
import { PROMETHEUS_CONTENT_TYPE, renderPrometheus } from '../prometheus';
import type { LiveHub } from '../realtime/hub';
import { openEventStream } from '../realtime/sse';
import { defineRoute, type Route } from '../router';
import { eventSchema, eventsQuery, healthSchema } from '../schemas';

/** Health, Prometheus, live events and the OpenAPI document. */
export function systemRoutes(hub: LiveHub, openApi: () => unknown): Route[] {
  const health = defineRoute({
    method: 'GET',
    path: '/api/health',
    tag: 'System',
    summary: 'Health for load balancers and probes (bare body, no envelope)',
    description:
      'Each component is checked with one cheap, timed call bounded by `healthTimeoutMs`. 200 when healthy or degraded, 503 when unhealthy.',
    raw: {
      '200': { description: 'Healthy or degraded.', contentType: 'application/json', schema: healthSchema },
      '503': { description: 'Unhealthy.', contentType: 'application/json', schema: healthSchema },
    },
    async handler(ctx) {
      const report = await checkHealth(ctx.options);
      return new Response(safeJsonStringify(report), {
        status: report.status === 'unhealthy' ? 503 : 200,
        headers: { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
      });
    },
  });

  const prometheus = defineRoute({
    method: 'GET',
    path: '/metrics',
    tag: 'System',
    summary: 'Prometheus text exposition',
    description:
      'conveyor_jobs_enqueued_total, conveyor_jobs_processed_total, conveyor_job_duration_seconds, conveyor_job_wait_seconds, conveyor_jobs, conveyor_queue_latency_seconds, conveyor_workers, conveyor_up. When the backend cannot be read the answer is `conveyor_up 0`.',
    raw: { '200': { description: 'Text exposition format 0.0.4.', contentType: 'text/plain' } },
    async handler(ctx) {
      let body: string;
      try {
        body = await renderPrometheus(ctx.options);
      } catch (error) {
        ctx.options.logger.error(
          '[conveyor] [dashboard] /metrics could not read the backend; answering conveyor_up 0.',
          {
            error: error instanceof Error ? error.message : String(error),
          },
        );
        body =
          '# HELP conveyor_up 1 when the dashboard could read the backend.\n# TYPE conveyor_up gauge\nconveyor_up 0\n';
      }
      return new Response(body, {
        status: 200,
        headers: { ...BASE_HEADERS, 'content-type': PROMETHEUS_CONTENT_TYPE, 'cache-control': 'no-store' },
      });
    },
  });

  const events = defineRoute({
    method: 'GET',
    path: '/api/events',
    tag: 'Events',
    summary: 'Server-Sent Events',
    description:
      'Each event is `id: …` and `data: <Event JSON>`; a `:` heartbeat comment at least every 15 s. 503 when `maxConnections` live clients are already connected; a client that does not read is dropped.',
    query: eventsQuery,
    raw: {
      '200': {
        description: 'An event stream; each `data:` line is one Event.',
        contentType: 'text/event-stream',
        schema: eventSchema,
      },
      '503': { description: 'Too many live connections.', contentType: 'application/json' },
    },
    async handler(ctx) {
      const { types, queue } = ctx.query;
      return openEventStream(
        ctx.request,
        { types: types === undefined || types.length === 0 ? null : new Set(types), queue: queue ?? null },
        hub,
        ctx.options,
      );
    },
  });

  const websocket = defineRoute({
    method: 'GET',
    path: '/api/events/ws',
    tag: 'Events',
    summary: 'The same events over WebSocket (upgrade)',
    description:
      'Upgrade with `Connection: Upgrade`. Optional `types` and `queue` query parameters set the first filter. Send `{"action":"subscribe","types":[…],"queue":…}` to change it and `{"action":"ping"}` for `{"type":"pong"}`. Each message from the server is one Event JSON. The upgrade is authenticated and refused cross-site.',
    query: eventsQuery,
    raw: {
      '101': { description: 'Switching to the WebSocket protocol.' },
      '426': { description: 'Not an upgrade request.', contentType: 'application/json' },
    },
    async handler() {
      throw new DashboardHttpError(
        'VALIDATION_FAILED',
        'this endpoint speaks WebSocket: connect with a WebSocket client (the host must attach the dashboard to its server with attachWebSocket()).',
        { status: 426, headers: { upgrade: 'websocket' } },
      );
    },
  });

  const openapi = defineRoute({
    method: 'GET',
    path: '/api/openapi.json',
    tag: 'System',
    summary: 'This API as an OpenAPI 3.1 document',
    raw: {
      '200': { description: 'The OpenAPI document.', contentType: 'application/json', schema: z.looseObject({}) },
    },
    async handler() {
      return new Response(safeJsonStringify(openApi()), {
        status: 200,
        headers: { ...BASE_HEADERS, 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' },
      });
    },
  });

  return [health, prometheus, events, websocket, openapi];
}
