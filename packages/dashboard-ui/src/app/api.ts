/**
 * The one place the UI talks HTTP. Reads are `GET` with query parameters; mutations send JSON with
 * `Content-Type: application/json` from the same origin, which is what the handler's cross-site check expects.
 */
import type { ListMeta } from './types';

/** An error answer from the API (`{error:{code, message}}`) or a transport failure (`code: 'NETWORK'`). */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/** A successful answer: `data` and, for lists, `meta`. */
export interface ApiResult<T> {
  data: T;
  meta: ListMeta;
}

type Query = Record<string, string | number | null | undefined>;

/** Build `?a=1&b=2`, dropping empty values. */
export function queryString(query: Query = {}): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const text = params.toString();
  return text ? `?${text}` : '';
}

/** Talks to the dashboard API mounted at `basePath`. */
export class ApiClient {
  constructor(readonly basePath: string) {}

  /** Absolute path of an API route, e.g. `url('/jobs')` → `/dashboard/api/jobs`. */
  url(path: string, query?: Query): string {
    return `${this.basePath}/api${path}${queryString(query)}`;
  }

  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<ApiResult<T>> {
    return this.request<T>('GET', path, query, undefined, signal);
  }

  post<T>(path: string, body: unknown = {}, signal?: AbortSignal): Promise<ApiResult<T>> {
    return this.request<T>('POST', path, undefined, body, signal);
  }

  delete<T>(path: string, signal?: AbortSignal): Promise<ApiResult<T>> {
    return this.request<T>('DELETE', path, undefined, undefined, signal);
  }

  private async request<T>(
    method: string,
    path: string,
    query: Query | undefined,
    body: unknown,
    signal: AbortSignal | undefined,
  ): Promise<ApiResult<T>> {
    const init: RequestInit = {
      method,
      credentials: 'same-origin',
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { accept: 'application/json', 'content-type': 'application/json' },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    if (signal) init.signal = signal;
    let response: Response;
    try {
      response = await fetch(this.url(path, query), init);
    } catch (error) {
      if (isAbort(error)) throw error;
      throw new ApiError(0, 'NETWORK', 'The dashboard server could not be reached.');
    }
    let parsed: unknown = null;
    const text = await response.text();
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = null;
      }
    }
    if (!response.ok) {
      const error = isRecord(parsed) && isRecord(parsed['error']) ? parsed['error'] : null;
      throw new ApiError(
        response.status,
        typeof error?.['code'] === 'string' ? error['code'] : `HTTP_${response.status}`,
        typeof error?.['message'] === 'string' ? error['message'] : `The server answered ${response.status}.`,
        error?.['details'],
      );
    }
    if (!isRecord(parsed) || !('data' in parsed)) {
      throw new ApiError(
        response.status,
        'BAD_RESPONSE',
        'The server answered something that is not the dashboard API.',
      );
    }
    return { data: parsed['data'] as T, meta: isRecord(parsed['meta']) ? (parsed['meta'] as ListMeta) : {} };
  }
}

/** True for the rejection a `fetch` gives when its AbortSignal fires. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A sentence for any error, for banners and toasts. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.code === 'NETWORK' ? error.message : `${error.message} (${error.code})`;
  if (error instanceof Error) return error.message;
  return String(error);
}
