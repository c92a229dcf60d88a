/**
 * Bundles the browser app (Preact + TSX under `src/app/`) with esbuild into `dist/app/`: `app.js`, `app.css`,
 * `favicon.svg` and a `manifest.json` of content hashes that `renderUiHtml` uses to bust caches.
 *
 * Run by `npm run build` (before tsup, whose `clean: false` leaves `dist/app/` alone) and imported by the tests, so
 * `vitest` works without a prior build. Each file is written under a temporary name and renamed into place, so a
 * concurrent build or a server reading the folder never sees half a file.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const packageRoot = new URL('../', import.meta.url);

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** Output folder. @default `<package>/dist/app/` */
  outdir?: string;
  /** Minify the bundle. @default true */
  minify?: boolean;
}

/** What {@link buildApp} wrote: file name → size in bytes. */
export type BuildAppResult = Record<string, number>;

/** Bundle the app into `outdir` and return the sizes of the files written. */
export async function buildApp(options: BuildAppOptions = {}): Promise<BuildAppResult> {
  const outdir = options.outdir ?? fileURLToPath(new URL('dist/app/', packageRoot));
  const minify = options.minify ?? true;
  const result = await build({
    entryPoints: {
      app: fileURLToPath(new URL('src/app/main.tsx', packageRoot)),
    },
    bundle: true,
    write: false,
    outdir,
    format: 'esm',
    platform: 'browser',
    target: ['chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify,
    sourcemap: 'linked',
    legalComments: 'none',
    logLevel: 'silent',
    define: { 'process.env.NODE_ENV': '"production"' },
  });
  const files = new Map<string, Uint8Array>();
  for (const file of result.outputFiles) {
    const name = file.path.slice(file.path.lastIndexOf('/') + 1);
    files.set(name, file.contents);
  }
  files.set('favicon.svg', await readFile(new URL('src/app/favicon.svg', packageRoot)));
  if (!files.has('app.js') || !files.has('app.css')) {
    throw new Error(
      `[conveyor] [dashboard-ui] esbuild wrote ${[...files.keys()].join(', ')}; expected app.js and app.css`,
    );
  }
  const hashes: Record<string, string> = {};
  for (const [name, body] of files) hashes[name] = createHash('sha256').update(body).digest('hex').slice(0, 12);
  files.set('manifest.json', new TextEncoder().encode(`${JSON.stringify({ files: hashes }, null, 2)}\n`));

  await mkdir(outdir, { recursive: true });
  const sizes: BuildAppResult = {};
  // The manifest goes last: once it exists, every file it names is in place.
  const order = [...files.keys()].filter((name) => name !== 'manifest.json').concat('manifest.json');
  for (const name of order) {
    const body = files.get(name)!;
    const target = `${outdir}/${name}`;
    const temporary = `${target}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    await writeFile(temporary, body);
    await rename(temporary, target);
    sizes[name] = body.byteLength;
  }
  return sizes;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const started = Date.now();
  const sizes = await buildApp();
  const list = Object.entries(sizes)
    .map(([name, size]) => `${name} ${(size / 1024).toFixed(1)} KiB`)
    .join(', ');
  console.log(`[dashboard-ui] built dist/app/ in ${Date.now() - started} ms: ${list}`);
}
