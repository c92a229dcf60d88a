import { createHash } from 'node:crypto';
import { getUiAsset, renderUiHtml } from '@conveyor/dashboard-ui';
import { BASE_HEADERS } from './http';
import { contentSecurityPolicy, newNonce } from './security';

/**
 * The web UI: the HTML shell (with a fresh CSP nonce per response) and the static assets the UI package built.
 * Job data never appears in the HTML: the UI fetches it from the JSON API and renders it as text.
 */

/** The HTML page for one request. */
export function htmlResponse(basePath: string, readOnly: boolean, title: string, head: boolean): Response {
  const nonce = newNonce();
  const html = renderUiHtml({ nonce, basePath, readOnly, title });
  return new Response(head ? null : html, {
    status: 200,
    headers: {
      ...BASE_HEADERS,
      'content-type': 'text/html; charset=utf-8',
      'content-security-policy': contentSecurityPolicy(nonce),
      'x-frame-options': 'SAMEORIGIN',
      'cache-control': 'no-store',
    },
  });
}

const etags = new Map<string, string>();

/** A built asset by its path under `assets/`, with an ETag; null when there is no such asset. */
export function assetResponse(path: string, request: Request, head: boolean): Response | null {
  const asset = getUiAsset(path);
  if (asset === null) return null;
  let etag = etags.get(path);
  if (etag === undefined) {
    etag = `"${createHash('sha256').update(asset.body).digest('base64url').slice(0, 27)}"`;
    etags.set(path, etag);
  }
  const headers = {
    ...BASE_HEADERS,
    'content-type': asset.contentType,
    'cache-control': 'public, max-age=0, must-revalidate',
    etag,
  };
  const ifNoneMatch = request.headers.get('if-none-match');
  if (ifNoneMatch?.split(',').some((tag) => tag.trim() === etag)) {
    return new Response(null, { status: 304, headers });
  }
  return new Response(head ? null : (asset.body as Uint8Array<ArrayBuffer>), { status: 200, headers });
}
