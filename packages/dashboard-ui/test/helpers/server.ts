/**
 * The real dashboard handler from `@conveyor/core`, over a memory backend, served by `node:http` on 127.0.0.1 at an
 * ephemeral port and mounted under `/dashboard`, through core's own Node bridge (`serveNode`).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Backend, createDashboard, createMemoryBackend, serveNode } from '@conveyor/core';

export const MOUNT = '/dashboard';

/** A running dashboard. */
export interface TestDashboard {
  /** `http://127.0.0.1:<port>/dashboard` */
  url: string;
  backend: Backend;
  close: () => Promise<void>;
}

/** Serve a dashboard over `backend` (a fresh memory backend by default). */
export async function startDashboard(options: { readOnly: boolean; backend?: Backend }): Promise<TestDashboard> {
  const backend = options.backend ?? createMemoryBackend();
  const dashboard = createDashboard({ ...backend, readOnly: options.readOnly, basePath: MOUNT });
  const server: Server = createServer((req, res) => {
    if (req.url === MOUNT || req.url?.startsWith(`${MOUNT}/`) || req.url?.startsWith(`${MOUNT}?`)) {
      void serveNode(dashboard, req, res);
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not the dashboard');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${MOUNT}`,
    backend,
    close: async () => {
      dashboard.closeConnections();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
