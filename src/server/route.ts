import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Tessera } from '../tessera.js';
import { InvalidArgument } from '../util/index.js';
import type { Caller, Role } from './auth.js';
import type { ReplyPolls } from './replies.js';

/** A JSON Schema (draft 2020-12, as OpenAPI 3.1 takes it). */
export type JsonSchema = { [key: string]: unknown };

/** What a route takes as body: JSON of a schema, or raw bytes of some media types. */
export type BodySpec =
  | { kind: 'json'; schema: JsonSchema; limit: number }
  | { kind: 'bytes'; types: readonly string[]; limit: number; description: string };

/** One documented response of a route. */
export interface ResponseSpec {
  description: string;
  /** Media type -> schema (omitted: no body, or a problem document for 4xx/5xx). */
  content?: Record<string, JsonSchema>;
  headers?: Record<string, string>;
}

/** What every handler may use. */
export interface RouteContext {
  tessera: Tessera;
  polls: ReplyPolls;
  /** Aborted when the server starts closing: long polls answer at once. */
  closing: AbortSignal;
}

/**
 * A route of the API, described once: the server registers it with fastify (which validates
 * params, query and JSON bodies against the schemas) and the OpenAPI document is generated from
 * the same description, so the two cannot drift apart.
 */
export interface RouteDef {
  method: 'GET' | 'POST';
  /** OpenAPI form (`/v1/actors/{id}`). */
  path: string;
  operationId: string;
  summary: string;
  /** The least role that may call it; null: anyone (health, readiness, the API document). */
  role: Role | null;
  params?: Record<string, JsonSchema>;
  query?: Record<string, JsonSchema>;
  /** Request headers it reads, for the document (checked by the handler with the API's validators). */
  headers?: Record<string, { description: string; schema: JsonSchema }>;
  body?: BodySpec;
  responses: Record<number, ResponseSpec>;
  handler(req: FastifyRequest, reply: FastifyReply, caller: Caller): Promise<unknown>;
}

export const params = (req: FastifyRequest): Record<string, string> => req.params as Record<string, string>;
export const query = <T>(req: FastifyRequest): T => req.query as T;

/** A request header given at most once, or undefined. */
export function header(req: FastifyRequest, name: string): string | undefined {
  const v = req.headers[name.toLowerCase()];
  if (Array.isArray(v)) throw new InvalidArgument(name, 'expected the header once');
  return v;
}

/** The raw body of a bytes route (empty when none was sent). */
export function bodyBytes(req: FastifyRequest): Uint8Array {
  const b = req.body;
  return b instanceof Uint8Array ? b : new Uint8Array();
}

/** Whether the client asked for JSON rather than raw bytes. */
export const wantsJson = (req: FastifyRequest): boolean => /\bapplication\/json\b/.test(req.headers.accept ?? '');

/** Schemas used across routes. */
export const S = {
  id: { type: 'string', minLength: 1, maxLength: 1024 },
  codeId: { type: 'string', pattern: '^[0-9a-f]{64}$' },
  limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 },
  wait: { type: 'integer', minimum: 0, maximum: 60_000, default: 0, description: 'milliseconds to wait for the reply (at most 60 s)' },
  bigint: { type: 'string', pattern: '^[0-9]+$', description: 'a bigint in decimal' },
  base64: { type: 'string', contentEncoding: 'base64' },
  any: {},
} as const satisfies Record<string, JsonSchema>;

/** A JSON object schema with these properties, all required unless listed as optional. */
export function object(properties: Record<string, JsonSchema>, optional: readonly string[] = []): JsonSchema {
  return { type: 'object', properties, required: Object.keys(properties).filter((k) => !optional.includes(k)), additionalProperties: false };
}

export const json = (schema: JsonSchema): Record<string, JsonSchema> => ({ 'application/json': schema });
