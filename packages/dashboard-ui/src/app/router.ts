/**
 * Hash routing (`#/jobs?state=failed`). The handler serves the HTML shell only at the mount root, so the hash keeps
 * every page reloadable and bookmarkable under any mount path without a server-side fallback route.
 */
import { useEffect, useState } from 'preact/hooks';

/** A parsed location: path segments (decoded) and query parameters. */
export interface Route {
  path: string;
  segments: string[];
  params: URLSearchParams;
}

/** Parse `#/jobs/abc?x=1` (or `''`). */
export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '');
  const queryAt = raw.indexOf('?');
  const pathPart = queryAt === -1 ? raw : raw.slice(0, queryAt);
  const query = queryAt === -1 ? '' : raw.slice(queryAt + 1);
  const segments = pathPart
    .split('/')
    .filter((segment) => segment !== '')
    .map((segment) => {
      try {
        return decodeURIComponent(segment);
      } catch {
        return segment;
      }
    });
  return { path: `/${segments.map(encodeURIComponent).join('/')}`, segments, params: new URLSearchParams(query) };
}

/** Build an href: `href(['jobs', id])`, `href(['jobs'], {state: 'failed'})`. Empty parameters are dropped. */
export function href(segments: readonly string[], params: Record<string, string | null | undefined> = {}): string {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) if (value) query.set(key, value);
  const text = query.toString();
  return `#/${segments.map(encodeURIComponent).join('/')}${text ? `?${text}` : ''}`;
}

/** Go to an href; `replace` keeps the history entry (for filter edits). */
export function navigate(target: string, replace = false): void {
  if (replace) {
    history.replaceState(history.state, '', target);
    window.dispatchEvent(new HashChangeEvent('hashchange'));
  } else {
    location.hash = target;
  }
}

/** The current route, updated on `hashchange`. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseHash(location.hash));
  useEffect(() => {
    const update = (): void => setRoute(parseHash(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
