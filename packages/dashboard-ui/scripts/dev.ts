/**
 * Development server for the UI: the real dashboard handler over a memory backend, seeded with jobs in every state
 * (including the hostile and huge ones the tests use) and fed by a live generator (a Queue enqueuing and a Worker
 * running jobs that succeed, fail, retry and time out), so every page moves.
 *
 *   npm run dev --workspace @conveyor/dashboard-ui        # http://127.0.0.1:3000/dashboard/
 *   PORT=4000 READ_ONLY=1 npm run dev --workspace @conveyor/dashboard-ui
 *
 * The app is rebuilt when a file under src/app/ changes; assets are served fresh from dist/app/ (the handler caches
 * them for production), so a reload shows the change.
 */
import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createDashboard, createMemoryBackend, Queue, serveNode, Worker } from '@conveyor/core';
import { seedStore } from '../test/helpers/seed';
import { buildApp } from './build-app';

const port = Number(process.env['PORT'] ?? 3000);
const mount = '/dashboard';
const appDir = fileURLToPath(new URL('../src/app/', import.meta.url));
const distDir = fileURLToPath(new URL('../dist/app/', import.meta.url));
const types: Record<string, string> = {
  js: 'text/javascript',
  css: 'text/css',
  svg: 'image/svg+xml',
  map: 'application/json',
};

await buildApp({ minify: false });

const backend = createMemoryBackend();
const dashboard = createDashboard({ ...backend, basePath: mount, readOnly: process.env['READ_ONLY'] === '1' });
const seeded = await seedStore(backend);

// The live generator: a steady trickle with bursts, some failures, retries and the occasional timeout.
const orders = new Queue('orders', { backend });
const thumbnails = new Queue('thumbnails', { backend });
const generator = setInterval(() => {
  const burst = Math.random() < 0.1 ? 12 : 1;
  for (let i = 0; i < burst; i++) {
    void orders.enqueue(
      'fulfil-order',
      { orderId: `o-${Date.now()}-${i}`, items: Math.ceil(Math.random() * 5) },
      { maxAttempts: 3, backoff: { type: 'exponential', delayMs: 500 } },
    );
  }
  if (Math.random() < 0.5)
    void thumbnails.enqueue('render-thumbnail', { image: `img-${Date.now()}.png`, width: 320 }, { timeoutMs: 800 });
}, 700);
const worker = new Worker(
  ['orders', 'thumbnails'],
  async (job, ctx) => {
    const duration = job.type === 'render-thumbnail' ? 100 + Math.random() * 900 : 20 + Math.random() * 400;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, duration);
      ctx.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(ctx.signal.reason);
      });
    });
    await ctx.updateProgress(100);
    if (Math.random() < 0.15) throw new Error(`upstream said 503 for ${job.type}`);
    return { ok: true, tookMs: Math.round(duration) };
  },
  { backend, concurrency: 6, workerId: 'dev-worker' },
);
await worker.start();

const server = createServer(async (req, res) => {
  const url = req.url ?? '/';
  if (url === '/' || url === '') {
    res.writeHead(302, { location: `${mount}/` }).end();
    return;
  }
  const asset = url.startsWith(`${mount}/assets/`) ? url.slice(`${mount}/assets/`.length).split('?')[0]! : null;
  if (asset && /^[\w.-]+$/.test(asset)) {
    try {
      const body = await readFile(`${distDir}${asset}`);
      res
        .writeHead(200, {
          'content-type': types[asset.split('.').pop()!] ?? 'application/octet-stream',
          'cache-control': 'no-store',
        })
        .end(body);
    } catch {
      res.writeHead(404).end();
    }
    return;
  }
  void serveNode(dashboard, req, res);
});
dashboard.attachTo(server, mount);
server.listen(port, '127.0.0.1', () => {
  console.log(`[dashboard-ui] dev server on http://127.0.0.1:${port}${mount}/ (Ctrl-C to stop)`);
});

let rebuild: NodeJS.Timeout | undefined;
const watcher = watch(appDir, { recursive: true }, () => {
  clearTimeout(rebuild);
  rebuild = setTimeout(() => {
    buildApp({ minify: false }).then(
      () => console.log('[dashboard-ui] rebuilt; reload the page'),
      (error: unknown) => console.error('[dashboard-ui] build failed:', error instanceof Error ? error.message : error),
    );
  }, 100);
});

let stopping = false;
async function stop(): Promise<void> {
  if (stopping) return;
  stopping = true;
  watcher.close();
  clearInterval(generator);
  dashboard.closeConnections();
  server.closeAllConnections();
  server.close();
  await worker.close({ timeoutMs: 2000 });
  await seeded.idleWorker.close();
  for (const queue of [orders, thumbnails, ...seeded.queues]) await queue.close();
  process.exit(0);
}
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
