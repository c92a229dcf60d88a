import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type Backend, closeBackend, createDashboard } from '@conveyor/core';
import { exampleBackend } from './backend';
import { type ExampleRuntime, startGenerator, startRuntime } from './jobs';

/** What a framework example provides: serve this dashboard under `/dashboard` on `port`. */
export type MountFn = (dashboard: ReturnType<typeof createDashboard>, port: number) => Promise<Server>;

export interface RunningExample {
  url: string;
  backend: Backend;
  runtime: ExampleRuntime;
  close(): Promise<void>;
}

/**
 * Start an example: backend, workers, scheduler, job generator, and the app with the dashboard at `/dashboard`.
 * The dashboard allows retries and deletes (`readOnly: false`) because it listens on localhost only; put `auth`
 * in front before exposing it (see docs/security.md).
 */
export async function startExample(
  mount: MountFn,
  options: { port?: number; backend?: Backend; generate?: boolean } = {},
): Promise<RunningExample> {
  const backend = options.backend ?? (await exampleBackend());
  const runtime = await startRuntime(backend);
  const stopGenerator = options.generate === false ? () => {} : startGenerator(runtime);
  const dashboard = createDashboard({ ...backend, readOnly: false, title: 'Conveyor example' });
  const server = await mount(dashboard, options.port ?? Number(process.env.PORT ?? 3000));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://localhost:${port}/dashboard`,
    backend,
    runtime,
    async close() {
      stopGenerator();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await runtime.close();
      await closeBackend(backend);
    },
  };
}

/** `main` of every example: start, print the URL, close cleanly on Ctrl-C / SIGTERM. */
export async function runExampleMain(name: string, mount: MountFn): Promise<void> {
  const example = await startExample(mount);
  process.stdout.write(`\n  ${name} is running.\n  Dashboard: ${example.url}\n  Stop with Ctrl-C.\n\n`);
  const stop = async () => {
    process.stdout.write('\n  Shutting down: finishing running jobs…\n');
    await example.close();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}
