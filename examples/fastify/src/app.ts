import { conveyorFastify } from '@conveyor/fastify';
import type { MountFn } from '@conveyor-examples/shared';
import Fastify from 'fastify';

/** A Fastify app with its own routes and the dashboard (and its WebSocket) under /dashboard. */
export const mountFastify: MountFn = async (dashboard, port) => {
  const app = Fastify();
  app.get('/', async (_req, reply) =>
    reply.type('text/html').send('<p>Your app. The job dashboard is at <a href="/dashboard">/dashboard</a>.</p>'),
  );
  await app.register(conveyorFastify, { dashboard, prefix: '/dashboard' });
  await app.listen({ port, host: '127.0.0.1' });
  return app.server;
};
