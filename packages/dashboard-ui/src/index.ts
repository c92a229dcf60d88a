/**
 * @conveyor/dashboard-ui — the dashboard's web UI as static assets. `@conveyor/core`'s dashboard handler serves them;
 * nothing here talks to a job store.
 */

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

/** A built asset by path relative to the assets folder (e.g. `app.js`), or null. */
export function getUiAsset(_path: string): UiAsset | null {
  return null;
}

/** The HTML page that boots the UI. */
export function renderUiHtml(options: UiHtmlOptions): string {
  return `<!doctype html><html><head><meta charset="utf-8"><title>${options.title ?? 'Conveyor'}</title></head><body><p>The dashboard UI is not built yet.</p></body></html>`;
}
