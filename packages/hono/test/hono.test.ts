import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { runIntegrationContract } from '../../core/test/support/integration-contract';
import { attachConveyorWebSocket, conveyorHono } from '../src/index';

runIntegrationContract({
  name: 'hono 4',
  async mount(dashboard, basePath, { parseBodies }) {
    const app = new Hono();
    if (parseBodies) {
      // A host middleware that reads the JSON body first, as validators do.
      app.use('*', async (c, next) => {
        if (c.req.header('content-type')?.includes('json')) await c.req.json().catch(() => undefined);
        await next();
      });
    }
    app.route(basePath || '/', conveyorHono(dashboard, { basePath }));
    const server = await new Promise<Server>((resolve) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s as Server));
    });
    const detach = attachConveyorWebSocket(server, dashboard, basePath);
    const { port } = server.address() as AddressInfo;
    return {
      server,
      url: `http://127.0.0.1:${port}`,
      async inject(method, path, init) {
        const res = await app.request(path, {
          method,
          ...(init?.body ? { body: init.body } : {}),
          headers: { host: 'localhost', ...(init?.headers ?? {}) },
        });
        return { status: res.status, headers: Object.fromEntries(res.headers), body: await res.text() };
      },
      async close() {
        detach();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
});
