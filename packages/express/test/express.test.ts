import type { AddressInfo } from 'node:net';
import express5 from 'express';
import express4 from 'express4';
import request from 'supertest';
import { runIntegrationContract } from '../../core/test/support/integration-contract';
import { attachConveyorWebSocket, conveyorExpress } from '../src/index';

for (const [label, express] of [
  ['express 5', express5],
  ['express 4', express4 as unknown as typeof express5],
] as const) {
  runIntegrationContract({
    name: label,
    async mount(dashboard, basePath, { parseBodies }) {
      const app = express();
      if (parseBodies) app.use(express.json());
      app.use(basePath || '/', conveyorExpress(dashboard));
      const server = app.listen(0, '127.0.0.1');
      await new Promise((resolve) => server.once('listening', resolve));
      const detach = attachConveyorWebSocket(server, dashboard, basePath);
      const { port } = server.address() as AddressInfo;
      return {
        server,
        url: `http://127.0.0.1:${port}`,
        async inject(method, path, init) {
          let req = request(app)[method.toLowerCase() as 'get' | 'post'](path);
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
}
