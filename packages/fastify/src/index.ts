import { type Dashboard, serveNode } from '@conveyor/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';

/**
 * @conveyor/fastify — mount the Conveyor dashboard in Fastify 5.
 *
 * ```ts
 * await app.register(conveyorFastify, { dashboard, prefix: '/dashboard' });
 * ```
 */

/** Options for {@link conveyorFastify}; `prefix` is Fastify's own register option. */
export interface ConveyorFastifyOptions {
  /** The handler `createDashboard()` returned. */
  dashboard: Dashboard;
  /** Fastify's register prefix: where the dashboard is mounted. @default '' */
  prefix?: string;
  /** Also serve the WebSocket endpoint on Fastify's server. @default true */
  websocket?: boolean;
  /** Trust `X-Forwarded-*` headers when rebuilding the request URL. @default false */
  trustProxy?: boolean;
}

/**
 * A Fastify plugin serving every dashboard route under its prefix. Inside the plugin's own scope it replaces the
 * body parsers with one that leaves the raw body unread, so the handler sees exactly what the client sent (the
 * host's parsers outside this scope are untouched). Responses are written through the shared Node bridge after
 * `reply.hijack()`, so Server-Sent Events stream unbuffered.
 */
export const conveyorFastify: FastifyPluginAsync<ConveyorFastifyOptions> = async (
  fastify: FastifyInstance,
  options: ConveyorFastifyOptions,
) => {
  const basePath = (fastify.prefix ?? '').replace(/\/$/, '');
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    reply.hijack();
    await serveNode(options.dashboard, request.raw, reply.raw, {
      originalUrl: request.raw.url ?? request.url,
      basePath,
      trustProxy: options.trustProxy ?? false,
    });
  };
  fastify.all('/', handle);
  fastify.all('/*', handle);

  if (options.websocket !== false) {
    const detach = options.dashboard.attachTo(fastify.server, basePath);
    fastify.addHook('onClose', async () => detach());
  }
};
