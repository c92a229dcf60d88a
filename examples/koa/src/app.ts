import type { Server } from 'node:http';
import { attachConveyorWebSocket, conveyorKoa } from '@conveyor/koa';
import type { MountFn } from '@conveyor-examples/shared';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';

/** A Koa app with a body parser, its own routes and the dashboard at /dashboard. */
export const mountKoa: MountFn = async (dashboard, port) => {
  const app = new Koa();
  app.use(bodyParser());
  app.use(conveyorKoa(dashboard, { basePath: '/dashboard' }));
  app.use((ctx) => {
    ctx.type = 'html';
    ctx.body = '<p>Your app. The job dashboard is at <a href="/dashboard">/dashboard</a>.</p>';
  });
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(port, () => resolve(s));
  });
  attachConveyorWebSocket(server, dashboard, '/dashboard');
  return server;
};
