import type { JsonSchema, RouteDef } from './route.js';

const PROBLEM: JsonSchema = {
  type: 'object',
  description: 'RFC 9457 problem document; `type` ends in the stable error code',
  properties: {
    type: { type: 'string' },
    title: { type: 'string' },
    status: { type: 'integer' },
    detail: { type: 'string' },
    code: { type: 'string' },
    field: { type: 'string' },
  },
  required: ['type', 'title', 'status', 'code'],
};

/** Responses every route may give, whatever it documents. */
const COMMON: Record<number, string> = {
  400: 'a bad request (malformed JSON, a wrong parameter)',
  401: 'no valid bearer token',
  403: "the token's role does not allow this",
  413: 'the body is over the limit',
  415: 'a body of a type the route does not take',
  500: 'an internal error (details in the server log)',
  503: 'closing, or too many requests in flight',
};

/**
 * The OpenAPI 3.1 document of the routes, generated from the same descriptions the server
 * registers with fastify: paths, parameters, bodies, responses and the role each needs.
 */
export function openApi(routes: readonly RouteDef[], version: string): JsonSchema {
  const paths: Record<string, Record<string, JsonSchema>> = {};
  for (const r of routes) {
    const parameters: JsonSchema[] = [
      ...Object.entries(r.params ?? {}).map(([name, schema]) => ({ name, in: 'path', required: true, schema })),
      ...Object.entries(r.query ?? {}).map(([name, schema]) => ({ name, in: 'query', required: false, schema })),
      ...Object.entries(r.headers ?? {}).map(([name, h]) => ({ name, in: 'header', required: false, description: h.description, schema: h.schema })),
    ];
    const responses: Record<string, JsonSchema> = {};
    const statuses = new Set([...Object.keys(r.responses).map(Number), ...(r.role === null ? [] : [401, 403]), ...(r.body ? [400, 413, 415] : []), 500]);
    for (const status of [...statuses].sort((a, b) => a - b)) {
      const spec = r.responses[status];
      const out: JsonSchema = { description: spec?.description ?? COMMON[status] ?? 'error' };
      if (spec?.content) out.content = Object.fromEntries(Object.entries(spec.content).map(([type, schema]) => [type, { schema }]));
      else if (status >= 400) out.content = { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
      if (spec?.headers) out.headers = Object.fromEntries(Object.entries(spec.headers).map(([name, description]) => [name, { description, schema: { type: 'string' } }]));
      responses[String(status)] = out;
    }
    const op: JsonSchema = {
      operationId: r.operationId,
      summary: r.summary,
      parameters,
      responses,
      security: r.role === null ? [] : [{ bearer: [] }],
      'x-tessera-role': r.role,
    };
    if (r.body) {
      op.requestBody = {
        required: r.body.kind === 'json',
        content:
          r.body.kind === 'json'
            ? { 'application/json': { schema: r.body.schema } }
            : Object.fromEntries(r.body.types.map((type) => [type, { schema: { type: 'string', contentMediaType: type, description: r.body?.kind === 'bytes' ? r.body.description : undefined } }])),
      };
    }
    (paths[r.path] ??= {})[r.method.toLowerCase()] = op;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Tessera HTTP API', version },
    paths,
    components: {
      schemas: { Problem: PROBLEM },
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'roles: admin ⊇ client ⊇ read; metrics apart' } },
    },
  };
}
