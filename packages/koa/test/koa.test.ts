import type { AddressInfo } from 'node:net';
import { bodyParser } from '@koa/bodyparser';
import Koa from 'koa';
import request from 'supertest';
import { runIntegrationContract } from '../../core/test/support/integration-contract';
import { attachConveyorWebSocket, conveyorKoa } from '../src/index';

runIntegrationContract({
  name: 'koa 3',
  async mount(dashboard, basePath, { parseBodies }) {
    const app = new Koa();
    if (parseBodies) app.use(bodyParser());
    app.use(conveyorKoa(dashboard, { basePath }));
    app.use((ctx) => {
      ctx.body = 'host app';
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    const detach = attachConveyorWebSocket(server, dashboard, basePath);
    const { port } = server.address() as AddressInfo;
    const callback = app.callback();
    return {
      server,
      url: `http://127.0.0.1:${port}`,
      async inject(method, path, init) {
        let req = request(callback)[method.toLowerCase() as 'get' | 'post'](path);
        for (const [k, v] of Object.entries(init?.headers ?? {})) req = req.set(k, v);
        const res = init?.body ? await req.send(init.body) : await req;
        return { status: res.status, headers: res.headers as Record<string, string>, body: res.text };
      },
      async close() {
        detach();
        server.closeAllConnections();
        await new Promise((resolve) => server.close(resolve));
      },
    };
  },
});
