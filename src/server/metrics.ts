import { collectDefaultMetrics, Counter, Gauge, Histogram as PromHistogram, Registry } from 'prom-client';
import { Histogram, type EngineMetrics } from '../exec/index.js';
import type { Tessera } from '../tessera.js';

/** Every 4th bound of the engine's histograms: its doublings from 1 µs (cumulative counts stay exact). */
const PHASE_BOUNDS = Histogram.BOUNDS.map((ms, i) => ({ ms, i })).filter(({ i }) => i % 4 === 3);

/**
 * Counters that only grow, read from a layer's totals: each scrape adds what grew since the last
 * (prom-client counters cannot be set).
 */
function totals(registry: Registry, name: string, help: string, labelNames: readonly string[], read: () => Iterable<[Record<string, string>, number]>): void {
  const last = new Map<string, number>();
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      for (const [labels, value] of read()) {
        const key = JSON.stringify(labels);
        const grew = value - (last.get(key) ?? 0);
        if (grew > 0) this.inc(labels, grew);
        last.set(key, value);
      }
    },
  });
}

function gauge(registry: Registry, name: string, help: string, read: () => number): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

/**
 * The engine's phase histograms in the text format, seconds. They are kept by the engine in its
 * own log-scale buckets (prom-client histograms cannot be loaded from counts), so they are written
 * here, with the bucket bounds of every doubling.
 */
function phaseHistograms(metrics: EngineMetrics, commit: Histogram): string {
  const name = 'tessera_execution_phase_seconds';
  const lines = [`# HELP ${name} Time per execution phase (queue wait, code lookup, compile, instantiate, run, total; commit: a batch's commit in the processor).`, `# TYPE ${name} histogram`];
  for (const [phase, h] of [...Object.entries(metrics.phases), ['commit', commit] as const]) {
    let cumulative = 0;
    let next = 0;
    for (const { ms, i } of PHASE_BOUNDS) {
      for (; next <= i; next++) cumulative += h.counts[next]!;
      lines.push(`${name}_bucket{phase="${phase}",le="${ms / 1000}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{phase="${phase}",le="+Inf"} ${h.count}`, `${name}_sum{phase="${phase}"} ${h.sum / 1000}`, `${name}_count{phase="${phase}"} ${h.count}`);
  }
  return `${lines.join('\n')}\n`;
}

/** The server's Prometheus metrics: what the layers' `stats()` expose, the process's, and HTTP's own. */
export class ServerMetrics {
  readonly registry = new Registry();
  /** HTTP requests by route, method and status, with their duration. */
  readonly requests: PromHistogram<'method' | 'route' | 'status'>;
  private inflight = 0;

  constructor(private readonly tessera: Tessera) {
    const r = this.registry;
    // Process metrics, event-loop delay among them (nodejs_eventloop_lag_*).
    collectDefaultMetrics({ register: r });
    this.requests = new PromHistogram({
      name: 'tessera_http_request_duration_seconds',
      help: 'HTTP requests by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60],
      registers: [r],
    });
    gauge(r, 'tessera_http_requests_in_flight', 'HTTP requests being handled.', () => this.inflight);
    const engine = () => tessera.engine.stats();
    totals(r, 'tessera_executions_total', 'Executions by outcome status.', ['status'], () => [...engine().metrics.executions].map(([status, n]) => [{ status }, n]));
    gauge(r, 'tessera_engine_workers', 'Worker threads running guests.', () => engine().workers);
    gauge(r, 'tessera_engine_busy_workers', 'Workers with work.', () => engine().busy);
    gauge(r, 'tessera_engine_queued', 'Executions waiting for a worker (queue depth).', () => engine().queued);
    gauge(r, 'tessera_engine_permits_in_use', 'Admitted executions: the permits out.', () => engine().inflight);
    gauge(r, 'tessera_engine_zombie_workers', 'Terminated workers that have not exited yet.', () => engine().zombies);
    totals(r, 'tessera_batches_total', 'Batches committed by this process.', [], () => [[{}, tessera.processor.batches]]);
    totals(r, 'tessera_batch_messages_total', 'Messages executed in batches.', [], () => [[{}, tessera.processor.prefetchStats().batchMessages]]);
    gauge(r, 'tessera_prefetch_warmed_ratio', 'Share of batch messages warmed by prefetch before they ran.', () => tessera.processor.prefetchStats().warmedShare);
    const codes = () => tessera.codes.stats();
    totals(r, 'tessera_code_events_total', 'Code service events: uploads, instrumentations, compilations, cache hits and misses.', ['event'], () =>
      (['uploads', 'instrumentations', 'instrumentationFailures', 'compilations', 'cacheHits', 'cacheMisses', 'cacheEvictions'] as const).map((k) => [{ event: k }, codes()[k]]),
    );
    gauge(r, 'tessera_code_cache_bytes', 'Bytes of compiled modules cached.', () => codes().cacheBytes);
    gauge(r, 'tessera_workflows_running', 'Workflows running in this process.', () => tessera.workflows.stats().running);
    totals(r, 'tessera_workflow_commits_total', 'Workflow record commits.', [], () => [[{}, tessera.workflows.stats().commits]]);
  }

  /** Counts a request in flight until `done` is called. */
  enter(): () => void {
    this.inflight++;
    let left = false;
    return () => {
      if (left) return;
      left = true;
      this.inflight--;
    };
  }

  get inFlight(): number {
    return this.inflight;
  }

  /** The exposition text. */
  async text(): Promise<string> {
    return (await this.registry.metrics()) + phaseHistograms(this.tessera.engine.stats().metrics, this.tessera.processor.commitTimes);
  }
}
