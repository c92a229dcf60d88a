import type { Server } from 'node:http';
import { attachConveyorWebSocket, conveyorHono } from '@conveyor/hono';
import type { MountFn } from '@conveyor-examples/shared';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';

/** A Hono app served by @hono/node-server, with the dashboard at /dashboard. */
export const mountHono: MountFn = async (dashboard, port) => {
  const app = new Hono();
  app.get('/', (c) => c.html('<p>Your app. The job dashboard is at <a href="/dashboard">/dashboard</a>.</p>'));
  app.route('/dashboard', conveyorHono(dashboard, { basePath: '/dashboard' }));
  const server = await new Promise<Server>((resolve) => {
    const s = serve({ fetch: app.fetch, port }, () => resolve(s as Server));
  });
  attachConveyorWebSocket(server, dashboard, '/dashboard');
  return server;
};
