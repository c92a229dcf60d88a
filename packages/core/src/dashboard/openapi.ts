import { z } from 'zod';
import type { Route } from './router';
import { errorSchema } from './schemas';

/**
 * The OpenAPI 3.1 document, generated from the route table and its zod schemas (`z.toJSONSchema`, JSON Schema
 * 2020-12, which OpenAPI 3.1 uses), so it cannot drift from what the handler parses and answers.
 */

type JsonSchema = Record<string, unknown>;

const ERROR_RESPONSES: Record<string, string> = {
  '400': 'VALIDATION_FAILED (details: the zod issues) or SEARCH_UNSUPPORTED.',
  '401': 'UNAUTHENTICATED.',
  '403': 'FORBIDDEN, READ_ONLY or CROSS_SITE_REQUEST.',
  '404': 'NOT_FOUND: unknown job, queue or route.',
  '409': 'INVALID_STATE: the job or queue is not in a state that allows this.',
  '413': 'PAYLOAD_TOO_LARGE.',
  '500': 'INTERNAL: an unexpected fault (never caused by input); no stack trace.',
};

function toSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io,
    unrepresentable: 'any',
    target: 'draft-2020-12',
    reused: 'inline',
  }) as JsonSchema;
  delete json['$schema'];
  return json;
}

/** Query or path parameters from an object schema. */
function parameters(schema: z.ZodType | undefined, where: 'query' | 'path'): JsonSchema[] {
  if (schema === undefined) return [];
  const json = toSchema(schema, 'input');
  const properties = (json['properties'] ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json['required'] ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => {
    const { description, ...rest } = property;
    const parameter: JsonSchema = { name, in: where, required: where === 'path' || required.has(name), schema: rest };
    if (typeof description === 'string') parameter['description'] = description;
    return parameter;
  });
}

function openApiPath(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)/g, '{$1}');
}

function operationId(route: Route): string {
  const words = route.path
    .split('/')
    .filter((s) => s !== '' && s !== 'api')
    .map((s) => (s.startsWith(':') ? `by-${s.slice(1)}` : s));
  return [route.method.toLowerCase(), ...words]
    .join('-')
    .replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ? c.toUpperCase() : ''));
}

/** Build the document for a route table. */
export function buildOpenApiDocument(routes: readonly Route[], info: { title: string; version: string }): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  const errorRef = { $ref: '#/components/schemas/Error' };
  for (const route of routes) {
    if (route.hidden) continue;
    const operation: JsonSchema = {
      operationId: operationId(route),
      summary: route.summary,
      tags: [route.tag],
    };
    if (route.description) operation['description'] = route.description;
    const params = [...parameters(route.params, 'path'), ...parameters(route.query, 'query')];
    if (params.length > 0) operation['parameters'] = params;
    if (route.body !== undefined) {
      const optional = route.body.safeParse(undefined).success;
      operation['requestBody'] = {
        required: !optional,
        content: { 'application/json': { schema: toSchema(route.body, 'input') } },
      };
    }
    const responses: Record<string, JsonSchema> = {};
    if (route.raw) {
      for (const [status, doc] of Object.entries(route.raw)) {
        const response: JsonSchema = { description: doc.description };
        if (doc.contentType) {
          response['content'] = { [doc.contentType]: doc.schema ? { schema: toSchema(doc.schema, 'output') } : {} };
        }
        responses[status] = response;
      }
    } else {
      const envelope: JsonSchema = {
        type: 'object',
        properties: {
          data: route.response ? toSchema(route.response, 'output') : {},
          ...(route.meta ? { meta: toSchema(route.meta, 'output') } : {}),
        },
        required: ['data'],
      };
      responses['200'] = { description: 'Success.', content: { 'application/json': { schema: envelope } } };
    }
    const mutation = route.method !== 'GET';
    for (const [status, description] of Object.entries(ERROR_RESPONSES)) {
      if (responses[status]) continue;
      if (!mutation && (status === '409' || status === '413')) continue;
      if (status === '413' && route.body === undefined) continue;
      responses[status] = { description, content: { 'application/json': { schema: errorRef } } };
    }
    operation['responses'] = responses;
    const key = openApiPath(route.path);
    paths[key] = { ...(paths[key] ?? {}), [route.method.toLowerCase()]: operation };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: `${info.title} dashboard API`,
      version: info.version,
      description:
        'The standard Conveyor dashboard API. Success: `{data, meta?}`; error: `{error:{code, message, details?}}`. Mutations are refused cross-site and when read-only. Times are ISO-8601 UTC; durations in ms.',
    },
    paths,
    components: { schemas: { Error: toSchema(errorSchema, 'output') } },
    tags: [...new Set(routes.filter((r) => !r.hidden).map((r) => r.tag))].map((name) => ({ name })),
  };
}
