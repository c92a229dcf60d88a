import type { z } from 'zod';
import type { Backend } from '../contracts/backend';
import type { ResolvedOptions } from './options';
import type { Redactor } from './redact';
import type { RequestAccess } from './security';

/** HTTP methods the dashboard routes use. */
export type RouteMethod = 'GET' | 'POST' | 'DELETE';

/** What a route handler receives: the request, its parsed inputs and the dashboard's parts. */
export interface RouteContext<Params = unknown, Query = unknown, Body = unknown> {
  request: Request;
  url: URL;
  params: Params;
  query: Query;
  body: Body;
  backend: Backend;
  options: ResolvedOptions;
  redactor: Redactor;
  access: RequestAccess;
  /** The mount path for this request (the option, or the integration's per-call one). */
  basePath: string;
  /** The store's clock, read once per request. */
  now(): Promise<number>;
}

/** A JSON answer in the API envelope. */
export interface Envelope {
  data: unknown;
  meta?: Record<string, unknown>;
}

/** Extra OpenAPI responses of a route that does not answer with the JSON envelope. */
export interface RawResponseDoc {
  description: string;
  contentType?: string;
  schema?: z.ZodType;
}

/** One row of the route table. */
export interface Route {
  method: RouteMethod;
  /** Relative to the mount point, with `:name` parameters: `/api/jobs/:id/retry`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  params?: z.ZodType;
  query?: z.ZodType;
  body?: z.ZodType;
  /** Schema of `data` in the 200 envelope. */
  response?: z.ZodType;
  /** Schema of `meta` in the 200 envelope. */
  meta?: z.ZodType;
  /** For routes answering something else than the envelope (health, Prometheus, SSE, HTML): their responses. */
  raw?: Record<string, RawResponseDoc>;
  /** Leave it out of the OpenAPI document (the UI's client-side routes). */
  hidden?: boolean;
  handler(context: RouteContext): Promise<Envelope | Response>;
}

/**
 * Declare a route with typed inputs. The table stays data (`Route[]`) while each handler sees the types its schemas
 * parse to.
 */
export function defineRoute<
  P extends z.ZodType = z.ZodType<Record<string, never>>,
  Q extends z.ZodType = z.ZodType<Record<string, never>>,
  B extends z.ZodType = z.ZodType<undefined>,
>(route: {
  method: RouteMethod;
  path: string;
  summary: string;
  description?: string;
  tag: string;
  params?: P;
  query?: Q;
  body?: B;
  response?: z.ZodType;
  meta?: z.ZodType;
  raw?: Record<string, RawResponseDoc>;
  hidden?: boolean;
  handler(context: RouteContext<z.output<P>, z.output<Q>, z.output<B>>): Promise<Envelope | Response>;
}): Route {
  return route as Route;
}

interface CompiledRoute {
  route: Route;
  segments: readonly string[];
}

/** The result of matching a path. */
export type RouteMatch =
  | { kind: 'found'; route: Route; params: Record<string, string> }
  | { kind: 'none' }
  | { kind: 'badEncoding' };

/** Matches method + path against the table: static segments must equal, `:name` segments capture (decoded). */
export class Router {
  private readonly compiled: CompiledRoute[];

  constructor(readonly routes: readonly Route[]) {
    this.compiled = routes.map((route) => ({ route, segments: splitPath(route.path) }));
  }

  match(method: string, pathname: string): RouteMatch {
    const raw = splitPath(pathname);
    const lookup = method === 'HEAD' ? 'GET' : method;
    for (const { route, segments } of this.compiled) {
      if (route.method !== lookup || segments.length !== raw.length) continue;
      const params: Record<string, string> = {};
      let ok = true;
      for (let i = 0; i < segments.length; i++) {
        const expected = segments[i] as string;
        const actual = raw[i] as string;
        if (expected.startsWith(':')) {
          let decoded: string;
          try {
            decoded = decodeURIComponent(actual);
          } catch {
            return { kind: 'badEncoding' };
          }
          params[expected.slice(1)] = decoded;
        } else if (expected !== actual) {
          ok = false;
          break;
        }
      }
      if (ok) return { kind: 'found', route, params };
    }
    return { kind: 'none' };
  }
}

function splitPath(path: string): string[] {
  return path.split('/').filter((segment) => segment !== '');
}
