import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Backend,
  basicAuth,
  closeBackend,
  createDashboard,
  initBackend,
  type Logger,
  serveNode,
} from '@conveyor/core';
import type { DashboardCommand } from './args';

/**
 * @conveyor/cli — `conveyor dashboard`: the dashboard as a standalone server over an existing Redis, Postgres or
 * SQLite store (what bull-board's standalone server is for BullMQ). Also usable as a library:
 * `startStandaloneDashboard(command)`.
 */
export { type DashboardCommand, parseCommand, USAGE, UsageError } from './args';

/** Open the backend a command names. Adapters are loaded on demand, so only the one used needs to be installed. */
export async function openStore(store: DashboardCommand['store'], logger?: Logger): Promise<Backend> {
  switch (store.kind) {
    case 'redis': {
      const { createRedisBackend } = await import('@conveyor/redis');
      return createRedisBackend({
        connection: store.url,
        ...(store.prefix ? { prefix: store.prefix } : {}),
        ...(logger ? { logger } : {}),
      });
    }
    case 'redis-cluster': {
      const { createRedisBackend } = await import('@conveyor/redis');
      return createRedisBackend({
        connection: { cluster: store.seeds },
        ...(store.prefix ? { prefix: store.prefix } : {}),
        ...(logger ? { logger } : {}),
      });
    }
    case 'postgres': {
      const { createPostgresBackend } = await import('@conveyor/postgres');
      return createPostgresBackend({
        connectionString: store.url,
        ...(store.schema ? { schema: store.schema } : {}),
        ...(logger ? { logger } : {}),
      });
    }
    case 'sqlite': {
      const { existsSync } = await import('node:fs');
      if (!existsSync(store.file)) {
        throw new Error(`[conveyor] [cli] no SQLite database at ${store.file}. Pass the file your application uses.`);
      }
      const { createSqliteBackend } = await import('@conveyor/sqlite');
      return createSqliteBackend({ connection: store.file, ...(logger ? { logger } : {}) });
    }
  }
}

/** A running standalone dashboard. */
export interface StandaloneDashboard {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/**
 * Serve the dashboard for `command`. Without `--read-only`, mutations are allowed (the operator asked for this
 * server); with `--basic-auth` every request must authenticate.
 */
export async function startStandaloneDashboard(
  command: DashboardCommand,
  logger?: Logger,
): Promise<StandaloneDashboard> {
  const backend = await openStore(command.store, logger);
  await initBackend(backend);
  const dashboard = createDashboard({
    ...backend,
    basePath: command.basePath,
    readOnly: command.readOnly,
    ...(command.basicAuth ? { auth: basicAuth(command.basicAuth) } : {}),
    ...(logger ? { logger } : {}),
  });
  const server = createServer((req, res) => {
    void serveNode(dashboard, req, res);
  });
  const detach = dashboard.attachTo(server, command.basePath);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(command.port, command.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = command.host.includes(':') ? `[${command.host}]` : command.host;
  return {
    url: `http://${host}:${port}${command.basePath}/`,
    server,
    async close() {
      detach();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await closeBackend(backend);
    },
  };
}
