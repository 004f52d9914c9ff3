import { setMaxListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fastify, LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { pino, type Logger } from 'pino';
import type { Tessera } from '../tessera.js';
import { TesseraError } from '../util/index.js';
import { allows, authenticate, bearer, type Caller, type TokenEntry } from './auth.js';
import { Forbidden, InsecureBind, ServerBusy, Unauthorized, UnsupportedMediaType, RouteNotFound } from './errors.js';
import { ServerMetrics } from './metrics.js';
import { openApi } from './openapi.js';
import { problem, sendProblem, toProblem, type Problem } from './problems.js';
import { ReplyPolls } from './replies.js';
import type { JsonSchema, RouteContext, RouteDef } from './route.js';
import { actorRoutes } from './routes/actors.js';
import { codeRoutes } from './routes/codes.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { messageRoutes } from './routes/messages.js';
import { opsRoutes } from './routes/ops.js';
import { workflowRoutes } from './routes/workflows.js';

/** Options of {@link TesseraServer.start}. Every limit is on by default. */
export interface ServerOptions {
  /** Address to listen on; default 127.0.0.1. Without tokens only a loopback address is allowed. */
  host?: string;
  /** Port; default 8080, 0 for any free one (see {@link TesseraServer.url}). */
  port?: number;
  /** The parsed tokens file (`loadTokens`); absent: no authentication, loopback only. */
  tokens?: readonly TokenEntry[];
  /** Largest upload, bytes; default 32 MiB, the code service's default `maxCodeBytes` (pass the same). */
  maxCodeBytes?: number;
  /** Largest request head (request line and headers), bytes; default 16 KiB (larger: 431). */
  maxHeaderBytes?: number;
  /** Open connections at once; default 4,096 (more are closed at once by the OS-level accept). */
  maxConnections?: number;
  /** Requests handled at once; default 2,048 (more get 503 SERVER_BUSY with Retry-After). */
  maxInFlight?: number;
  /** Time to receive a whole request, body included (a slow body is cut off with 408); default 30,000 ms. */
  requestTimeoutMs?: number;
  /** Time to receive a request's headers; default 10,000 ms (at most `requestTimeoutMs`). */
  headersTimeoutMs?: number;
  /** How long an idle keep-alive connection stays open; default 5,000 ms. */
  keepAliveTimeoutMs?: number;
  /** How long `close()` lets requests in flight finish before it cuts their connections; default 10,000 ms. */
  graceMs?: number;
  /** pino logger (errors with their causes go here); default: level from TESSERA_LOG_LEVEL, else warn. */
  logger?: Logger;
}

const LOOPBACK = /^(127(?:\.\d{1,3}){3}|::1|localhost|::ffff:127(?:\.\d{1,3}){3})$/i;
const JSON_OVERHEAD = 64 * 1024;
const DEFAULT_BODY_LIMIT = 64 * 1024;

/** Whether `host` is a loopback address (or `localhost`). */
export const isLoopback = (host: string): boolean => LOOPBACK.test(host);

interface RouteConfig {
  def?: RouteDef;
}

const mediaType = (header: string | undefined): string | undefined => header?.split(';')[0]!.trim().toLowerCase() || undefined;
const hasBody = (req: FastifyRequest): boolean => {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
};

/**
 * The HTTP API v1 over a {@link Tessera} (see README, "HTTP API"): routes described once (route.ts)
 * for fastify and the OpenAPI document, bearer tokens with roles, limits on bodies, headers,
 * connections, requests in flight and request time, errors as RFC 9457 problem documents, and
 * Prometheus metrics. The Tessera stays the caller's: `close()` stops the server, not it.
 */
export class TesseraServer {
  private closing: Promise<void> | null = null;
  private readonly abort = new AbortController();

  private constructor(
    private readonly app: FastifyInstance,
    private readonly http: Server,
    /** The routes served, as described (the OpenAPI document's source). */
    readonly routes: readonly RouteDef[],
    /** The routes fastify registered (method and fastify path), as it reported them. */
    readonly served: readonly { method: string; url: string }[],
    /** Where it listens, e.g. `http://127.0.0.1:8080`. */
    readonly url: string,
    private readonly graceMs: number,
  ) {}

  /**
   * Starts listening.
   *
   * @throws InsecureBind for a non-loopback host without tokens
   */
  static async start(tessera: Tessera, options: ServerOptions = {}): Promise<TesseraServer> {
    const host = options.host ?? '127.0.0.1';
    const tokens = options.tokens ?? null;
    if (tokens === null && !isLoopback(host)) throw new InsecureBind(host);
    const requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    const maxHeaderBytes = options.maxHeaderBytes ?? 16 * 1024;
    const logger = options.logger ?? pino({ level: process.env.TESSERA_LOG_LEVEL ?? 'warn' });
    let http: Server | null = null;
    const app = fastify({
      loggerInstance: logger as FastifyBaseLogger,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: DEFAULT_BODY_LIMIT,
      routerOptions: { maxParamLength: maxHeaderBytes },
      return503OnClosing: true,
      // Only the routes described are served (and documented): no implicit HEAD twins.
      exposeHeadRoutes: false,
      ajv: { customOptions: { removeAdditional: false, coerceTypes: 'array', useDefaults: true, allErrors: false } },
      serverFactory: (handler) => {
        http = createServer(
          {
            maxHeaderSize: maxHeaderBytes,
            requestTimeout: requestTimeoutMs,
            headersTimeout: Math.min(options.headersTimeoutMs ?? 10_000, requestTimeoutMs),
            keepAliveTimeout: options.keepAliveTimeoutMs ?? 5_000,
            // Request timeouts are checked at this interval: a slow body is cut off within it.
            connectionsCheckingInterval: Math.max(50, Math.min(1_000, requestTimeoutMs / 4)),
          },
          handler,
        );
        // No idle-socket timeout: a long poll is silent for up to a minute; the request and
        // keep-alive timeouts bound what a client may leave open.
        http.setTimeout(0);
        http.maxConnections = options.maxConnections ?? 4_096;
        return http;
      },
    });

    const abort = new AbortController();
    // Each long poll listens for the close while it waits (and stops listening when it ends).
    setMaxListeners(0, abort.signal);
    const ctx: RouteContext = { tessera, polls: new ReplyPolls(tessera), closing: abort.signal };
    const metrics = new ServerMetrics(tessera);
    app.addHook('onClose', async () => metrics.close());
    const jsonLimit = Math.ceil(tessera.maxPayloadBytes / 3) * 4 + JSON_OVERHEAD;
    const routes: RouteDef[] = [
      ...codeRoutes(ctx, options.maxCodeBytes ?? 32 * 1024 * 1024),
      ...actorRoutes(ctx, jsonLimit),
      ...messageRoutes(ctx),
      ...workflowRoutes(ctx, jsonLimit),
      ...opsRoutes(ctx, metrics),
      ...dashboardRoutes(),
    ];
    let document: JsonSchema | null = null;
    routes.push({
      method: 'GET',
      path: '/openapi.json',
      operationId: 'openapi',
      summary: 'This document',
      role: null,
      responses: { 200: { description: 'the OpenAPI 3.1 document', content: { 'application/json': { type: 'object' } } } },
      async handler() {
        document ??= openApi(routes, process.env.npm_package_version ?? '0.1.0');
        return document;
      },
    });

    const served: { method: string; url: string }[] = [];
    app.addHook('onRoute', (route) => {
      for (const method of [route.method].flat()) served.push({ method, url: route.url });
    });
    const callers = new WeakMap<FastifyRequest, Caller>();
    const maxInFlight = options.maxInFlight ?? 2_048;
    app.removeContentTypeParser('text/plain');
    app.addContentTypeParser(['application/wasm', 'application/octet-stream'], { parseAs: 'buffer' }, (_req, body, done) => done(null, body));

    app.addHook('onRequest', async (req, reply) => {
      if (metrics.inFlight >= maxInFlight) throw new ServerBusy();
      reply.raw.once('close', metrics.enter());
      const def = (req.routeOptions.config as RouteConfig).def;
      if (!def) return;
      if (def.role !== null) {
        let caller: Caller = { role: 'admin' };
        if (tokens !== null) {
          const token = bearer(req.headers.authorization);
          const entry = token === null ? null : authenticate(tokens, token);
          if (!entry) throw new Unauthorized();
          caller = { role: entry.role, name: entry.name };
        }
        if (!allows(caller.role, def.role)) throw new Forbidden(def.role);
        callers.set(req, caller);
      }
      // Checked before the body is read, so a body of the wrong kind is never parsed.
      if (def.body && hasBody(req)) {
        const types = def.body.kind === 'json' ? ['application/json'] : def.body.types;
        const type = mediaType(req.headers['content-type']);
        if (type === undefined || !types.includes(type)) throw new UnsupportedMediaType(types);
      }
    });
    app.addHook('onResponse', async (req, reply) => {
      metrics.requests.observe({ method: req.method, route: req.routeOptions.url ?? 'unknown', status: String(reply.statusCode) }, reply.elapsedTime / 1000);
    });
    app.setNotFoundHandler(() => {
      throw new RouteNotFound();
    });
    app.setErrorHandler((err: FastifyError, req, reply) => answerError(req, reply, err, logger));

    // JSON bodies are checked by the handlers with the facade's validators (the schemas, without
    // the type coercion fastify applies to query strings, document them in the OpenAPI document).
    for (const def of routes) {
      const schema: Record<string, JsonSchema> = {};
      if (def.params) schema.params = { type: 'object', properties: def.params, required: Object.keys(def.params) };
      if (def.query) schema.querystring = { type: 'object', properties: def.query, additionalProperties: false };
      app.route({
        method: def.method,
        url: def.path.replace(/\{(\w+)\}/g, ':$1'),
        bodyLimit: def.body?.limit,
        config: { def } satisfies RouteConfig,
        schema,
        handler: (req, reply) => def.handler(req, reply, callers.get(req) ?? { role: 'admin' }),
      });
    }

    await app.listen({ host, port: options.port ?? 8080 });
    const address = app.server.address() as AddressInfo;
    const shown = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    const server = new TesseraServer(app, http ?? app.server, routes, served, `http://${shown}:${address.port}`, options.graceMs ?? 10_000);
    server.abort.signal.addEventListener('abort', () => abort.abort(), { once: true });
    return server;
  }

  /**
   * Stops the server: no new connections, idle ones closed, long polls answered at once (202:
   * poll again elsewhere), requests in flight given up to `graceMs` to finish, then their
   * connections cut. Acknowledged work is durable before it is acknowledged, so nothing
   * acknowledged is lost. Idempotent. The Tessera is left open.
   */
  close(graceMs = this.graceMs): Promise<void> {
    this.closing ??= (async () => {
      this.abort.abort();
      const closed = this.app.close();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
      try {
        if ((await Promise.race([closed, grace])) === 'late') this.http.closeAllConnections();
        await closed;
      } finally {
        clearTimeout(timer);
      }
    })();
    return this.closing;
  }
}

/** Fastify's own errors (parsing, validation, limits) as problems. */
function frameworkProblem(err: FastifyError, req: FastifyRequest): Problem | null {
  if (err.validation) {
    const field = `${err.validationContext ?? 'request'}${err.validation[0]?.instancePath.replaceAll('/', '.') ?? ''}`;
    return problem(400, 'INVALID_ARGUMENT', err.message, field);
  }
  const status = err.statusCode;
  if (status === undefined || status < 400 || status >= 500) return null;
  if (status === 413) return problem(413, 'PAYLOAD_TOO_LARGE', `the body is over the limit of ${req.routeOptions.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes`);
  if (status === 415) return problem(415, 'UNSUPPORTED_MEDIA_TYPE', 'a body of a type this route does not take');
  if (err instanceof SyntaxError || err.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err.code === 'FST_ERR_CTP_EMPTY_JSON_BODY') return problem(400, 'MALFORMED_JSON', 'the body is not valid JSON');
  return problem(status, 'BAD_REQUEST', 'the request could not be read');
}

/** Answers a failed request with its problem document; an unexpected 5xx is logged. */
function answerError(req: FastifyRequest, reply: FastifyReply, err: FastifyError, logger: Logger): FastifyReply {
  const p = (err instanceof TesseraError ? null : frameworkProblem(err, req)) ?? toProblem(err);
  if (p.status >= 500 && !(p.status === 503 || p.status === 501)) logger.error({ err, method: req.method, url: req.routeOptions.url }, 'request failed');
  if (p.status === 401) reply.header('WWW-Authenticate', 'Bearer');
  if (p.status === 503) reply.header('Retry-After', '1');
  return sendProblem(reply, p);
}
