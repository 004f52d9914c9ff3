import type { ServerMetrics } from '../metrics.js';
import { problem, sendProblem } from '../problems.js';
import { json, object, S, type JsonSchema, type RouteContext, type RouteDef } from '../route.js';

const NUMBER = { type: 'number' };
const HISTOGRAM: JsonSchema = object({ count: { type: 'integer' }, sum: NUMBER, p50: NUMBER, p99: NUMBER });
const STATS: JsonSchema = object({
  time: { type: 'integer', description: 'when read, ms since the epoch' },
  messages: { type: 'integer', description: 'messages executed in batches by this process (a total: rates are differences between reads)' },
  batches: { type: 'integer', description: 'batches committed by this process' },
  gasUsed: S.bigint,
  executions: { type: 'object', additionalProperties: { type: 'integer' }, description: 'executions by outcome status' },
  batchSize: { ...HISTOGRAM, description: 'messages per batch' },
  batchCommitMs: { ...HISTOGRAM, description: "from a batch's commit starting to its being durable, ms" },
  storeCommitMs: { ...HISTOGRAM, description: 'store transactions, ms' },
  engine: object({ workers: { type: 'integer' }, busy: { type: 'integer' }, queued: { type: 'integer' }, permitsInUse: { type: 'integer' } }),
  pending: { type: 'integer', description: 'messages waiting in the pool, counted up to pendingCapped' },
  pendingCapped: { type: 'integer' },
  prefetchWarmedShare: NUMBER,
  eventLoopDelayMs: object({ p50: NUMBER, p99: NUMBER, max: NUMBER }),
  workflowsRunning: { type: 'integer' },
  cluster: {
    ...object({
      nodeId: { type: 'string' },
      shards: { type: 'array', items: { type: 'integer' } },
      shardCount: { type: 'integer' },
      acquired: { type: 'integer' },
      released: { type: 'integer' },
      lost: { type: 'integer' },
      refusedCommits: { type: 'integer' },
    }),
    description: 'on a cluster node: its id, the shards it holds, and its lease events (acquired, released, lost; batch commits refused by a fence)',
  },
}, ['cluster']);

/** Metrics (metrics role), the JSON stats (read), health and readiness (anyone). The API document is added by the server. */
export function opsRoutes({ tessera: t, closing }: RouteContext, metrics: ServerMetrics): RouteDef[] {
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
      path: '/v1/stats',
      operationId: 'stats',
      summary: "This process's live figures as JSON (what the dashboard charts): totals that only grow, and gauges",
      role: 'read',
      responses: { 200: { description: 'the figures', content: json(STATS) } },
      async handler() {
        return metrics.stats();
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
        const ready = !closing.aborted && e.workers > 0 && !e.breakerOpen;
        if (!ready) return sendProblem(reply, problem(503, 'NOT_READY'));
        return { status: 'ready' };
      },
    },
  ];
}
