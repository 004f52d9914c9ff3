import type { ServerMetrics } from '../metrics.js';
import { problem, sendProblem } from '../problems.js';
import { json, object, type RouteContext, type RouteDef } from '../route.js';

/** Metrics (metrics role), health and readiness (anyone). The API document is added by the server. */
export function opsRoutes(ctx: RouteContext, metrics: ServerMetrics): RouteDef[] {
  const t = ctx.tessera;
  return [
    {
      method: 'GET',
      path: '/metrics',
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      role: 'metrics',
      responses: { 200: { description: 'the text exposition format', content: { 'text/plain': { type: 'string' } } } },
      async handler(_req, reply) {
        return reply.type(metrics.registry.contentType).send(await metrics.text());
      },
    },
    {
      method: 'GET',
      path: '/healthz',
      operationId: 'health',
      summary: 'Liveness: the process serves requests',
      role: null,
      responses: { 200: { description: 'alive', content: json(object({ status: { const: 'ok' } })) } },
      async handler() {
        return { status: 'ok' };
      },
    },
    {
      method: 'GET',
      path: '/readyz',
      operationId: 'ready',
      summary: 'Readiness: not closing, workers up, the engine not refusing work',
      role: null,
      responses: { 200: { description: 'ready', content: json(object({ status: { const: 'ready' } })) }, 503: { description: 'not ready (closing, no workers, or the engine refusing work)' } },
      async handler(_req, reply) {
        const e = t.engine.stats();
        const ready = !ctx.closing.aborted && e.workers > 0 && !e.breakerOpen;
        if (!ready) return sendProblem(reply, problem(503, 'NOT_READY'));
        return { status: 'ready' };
      },
    },
  ];
}
