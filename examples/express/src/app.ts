import type { Server } from 'node:http';
import { attachConveyorWebSocket, conveyorExpress } from '@conveyor/express';
import type { MountFn } from '@conveyor-examples/shared';
import express from 'express';

/** An Express app with its own routes and the dashboard at /dashboard. */
export const mountExpress: MountFn = async (dashboard, port) => {
  const app = express();
  app.use(express.json());
  app.get('/', (_req, res) => {
    res.type('html').send('<p>Your app. The job dashboard is at <a href="/dashboard">/dashboard</a>.</p>');
  });
  app.use('/dashboard', conveyorExpress(dashboard));
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(port, () => resolve(s));
  });
  attachConveyorWebSocket(server, dashboard, '/dashboard');
  return server;
};
