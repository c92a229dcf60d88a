import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { runIntegrationContract } from '../../core/test/support/integration-contract';
import { conveyorFastify } from '../src/index';

runIntegrationContract({
  name: 'fastify 5',
  async mount(dashboard, basePath) {
    // Fastify parses JSON bodies by default: the host's parser is always "in front" outside the plugin's scope.
    const app = Fastify();
    app.post('/host-route', async (req) => ({ echoed: req.body }));
    await app.register(conveyorFastify, { dashboard, prefix: basePath });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const { port } = app.server.address() as AddressInfo;
    return {
      server: app.server,
      url: `http://127.0.0.1:${port}`,
      async inject(method, path, init) {
        const res = await app.inject({
          method: method as 'GET',
          url: path,
          ...(init?.body ? { payload: init.body } : {}),
          headers: init?.headers ?? {},
        });
        return { status: res.statusCode, headers: res.headers as Record<string, string>, body: res.body };
      },
      async close() {
        app.server.closeAllConnections();
        await app.close();
      },
    };
  },
});
