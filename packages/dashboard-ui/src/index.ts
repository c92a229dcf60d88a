/**
 * @conveyor/dashboard-ui — the dashboard's web UI as static assets. `@conveyor/core`'s dashboard handler serves them;
 * nothing here talks to a job store.
 *
 * The browser app (Preact + TSX under `src/app/`) is bundled by `scripts/build-app.ts` into `dist/app/`. This module
 * only reads those files and renders the HTML shell that boots them.
 */
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One static file of the UI. */
export interface UiAsset {
  body: Uint8Array;
  contentType: string;
}

/** Options for the HTML shell. */
export interface UiHtmlOptions {
  /** CSP nonce for the page's script and style tags. */
  nonce: string;
  /** Where the dashboard is mounted, e.g. `/dashboard` ('' at the root). Asset and API URLs are relative to it. */
  basePath: string;
  /** Hide every mutating action. */
  readOnly: boolean;
  /** Page title. @default 'Conveyor' */
  title?: string;
}

/**
 * The configuration the shell hands to the browser app, as JSON in `<script type="application/json"
 * id="conveyor-config">`. The app reads nothing else from the server-rendered page.
 */
export interface UiBootConfig {
  basePath: string;
  readOnly: boolean;
  title: string;
}

/** Content types of the files the build writes; anything else is not served. */
const CONTENT_TYPES: Record<string, string> = {
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
  json: 'application/json; charset=utf-8',
  map: 'application/json; charset=utf-8',
};

/** Asset names: one or more plain segments of letters, digits, `.`, `_`, `-`; no dot-segments, no backslashes. */
const SAFE_ASSET_PATH = /^(?:[A-Za-z0-9_-][A-Za-z0-9._-]*\/)*[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/** Both `src/index.ts` and `dist/index.{js,cjs}` sit one level under the package root, so this resolves the same. */
const assetsDir = new URL('../dist/app/', import.meta.url);

const cache = new Map<string, UiAsset>();

/**
 * A built asset by path relative to the assets folder (e.g. `app.js`), or null when it does not exist, was not
 * built, or the path tries to leave the folder. Hits are cached in memory for the life of the process.
 */
export function getUiAsset(path: string): UiAsset | null {
  const name = path.startsWith('/') ? path.slice(1) : path;
  if (!SAFE_ASSET_PATH.test(name) || name.split('/').some((segment) => segment === '..' || segment === '.')) {
    return null;
  }
  const cached = cache.get(name);
  if (cached) return cached;
  const extension = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  const contentType = CONTENT_TYPES[extension];
  if (!contentType) return null;
  const url = new URL(name, assetsDir);
  // The URL resolution cannot climb out given the pattern above; this check keeps that true if the pattern changes.
  if (!url.href.startsWith(assetsDir.href)) return null;
  let body: Uint8Array;
  try {
    body = new Uint8Array(readFileSync(fileURLToPath(url)));
  } catch {
    return null;
  }
  const asset: UiAsset = { body, contentType };
  cache.set(name, asset);
  return asset;
}

/** Content hashes written by the build (`manifest.json`), used to bust caches when the UI changes. */
interface BuildManifest {
  files: Record<string, string>;
}

let manifest: BuildManifest | null = null;

function readManifest(): BuildManifest | null {
  if (manifest) return manifest;
  try {
    const path = fileURLToPath(new URL('manifest.json', assetsDir));
    if (!statSync(path).isFile()) return null;
    const parsed: unknown = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed && typeof parsed === 'object' && 'files' in parsed && parsed.files && typeof parsed.files === 'object') {
      manifest = parsed as BuildManifest;
      return manifest;
    }
  } catch {
    // Not built yet: the caller renders the "run npm run build" page.
  }
  return null;
}

/** Escape text for an HTML text node or a double-quoted attribute. */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"'`]/g, (char) => `&#${char.charCodeAt(0)};`);
}

/**
 * JSON that is safe inside a `<script>` element: `<`, `>`, `&` and the JS line separators are written as `\u` escapes,
 * so no value can close the element or open a comment.
 */
export function serializeJsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(
    /[<>&\u2028\u2029]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Normalise the mount path: no trailing slash, a leading one unless empty. */
function normaliseBasePath(basePath: string): string {
  const trimmed = basePath.replace(/\/+$/, '');
  if (trimmed === '') return '';
  return trimmed.startsWith('/') ? trimmed : `/${trimmed}`;
}

/**
 * The HTML page that boots the UI. Everything interpolated is escaped; the only scripts carry the nonce; there is no
 * `style` attribute, so the handler's CSP (`script-src 'nonce-…'; style-src 'self' 'nonce-…'`) holds.
 */
export function renderUiHtml(options: UiHtmlOptions): string {
  const title = options.title ?? 'Conveyor';
  const basePath = normaliseBasePath(options.basePath);
  const nonce = escapeHtml(options.nonce);
  const built = readManifest();
  if (!built?.files['app.js'] || !built.files['app.css']) return notBuiltPage(title, nonce);
  const assets = `${escapeHtml(basePath)}/assets`;
  const version = (file: string): string => escapeHtml(encodeURIComponent(built.files[file] ?? ''));
  const config: UiBootConfig = { basePath, readOnly: options.readOnly, title };
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="referrer" content="same-origin">
<title>${escapeHtml(title)}</title>
<link rel="icon" type="image/svg+xml" href="${assets}/favicon.svg?v=${version('favicon.svg')}">
<link rel="stylesheet" href="${assets}/app.css?v=${version('app.css')}">
<script type="application/json" id="conveyor-config" nonce="${nonce}">${serializeJsonForScript(config)}</script>
<script type="module" nonce="${nonce}" src="${assets}/app.js?v=${version('app.js')}"></script>
</head>
<body>
<div id="app"><p class="boot">Loading ${escapeHtml(title)}…</p></div>
<noscript><p class="boot">The ${escapeHtml(title)} dashboard needs JavaScript.</p></noscript>
</body>
</html>
`;
}

function notBuiltPage(title: string, nonce: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)} — UI not built</title>
<style nonce="${nonce}">body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem}code{font-size:.95em}</style>
</head>
<body>
<h1>The dashboard UI is not built</h1>
<p>The API under <code>api/</code> works, but the web UI's assets are missing from
<code>@conveyor/dashboard-ui/dist/app/</code>.</p>
<p>Build them with <code>npm run build --workspace @conveyor/dashboard-ui</code> (or <code>npm run build</code> at the
repository root), then reload this page.</p>
</body>
</html>
`;
}
