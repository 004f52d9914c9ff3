import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { collectDefaultMetrics, Counter, Gauge, Histogram as PromHistogram, Registry } from 'prom-client';
import type { HistogramSummary, ServerStats } from '../client/index.js';
import { Histogram } from '../exec/index.js';
import type { Tessera } from '../tessera.js';

/** Every 4th bound of the engine's histograms: its doublings from 1 µs (cumulative counts stay exact). */
const DOUBLINGS = Histogram.BOUNDS.map((bound, i) => ({ bound, i })).filter(({ i }) => i % 4 === 3);
/** Pending messages are counted up to this many (a read of the pool's index per scrape). */
export const PENDING_COUNT_CAP = 10_000;
/** How often the event-loop delay is sampled (the last sample is what the stats report). */
const LOOP_SAMPLE_MS = 1_000;

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

function gauge(registry: Registry, name: string, help: string, read: () => number | Promise<number>): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.set(await read());
    },
  });
}

/**
 * Histograms kept by the layers in their own log-scale buckets (`Histogram`; prom-client
 * histograms cannot be loaded from counts), in the text format, with a bound at every doubling.
 * `scale` turns the histogram's unit into the metric's (1/1000: ms to seconds).
 */
function histogramText(name: string, help: string, series: readonly [label: string, h: Histogram][], scale: number): string {
  const lines = [`# HELP ${name} ${help}`, `# TYPE ${name} histogram`];
  for (const [label, h] of series) {
    const sep = label === '' ? '' : ',';
    const braces = label === '' ? '' : `{${label}}`;
    let cumulative = 0;
    let next = 0;
    for (const { bound, i } of DOUBLINGS) {
      for (; next <= i; next++) cumulative += h.counts[next]!;
      lines.push(`${name}_bucket{${label}${sep}le="${bound * scale}"} ${cumulative}`);
    }
    lines.push(`${name}_bucket{${label}${sep}le="+Inf"} ${h.count}`, `${name}_sum${braces} ${h.sum * scale}`, `${name}_count${braces} ${h.count}`);
  }
  return `${lines.join('\n')}\n`;
}

const summary = (h: Histogram): HistogramSummary => ({ count: h.count, sum: h.sum, p50: h.quantile(0.5), p99: h.quantile(0.99) });

/**
 * The server's live figures as JSON (`GET /v1/stats`): the client's `ServerStats` (one definition
 * of the shape), with the gas total as a decimal string as every bigint in the API's JSON.
 */
export type Stats = Omit<ServerStats, 'gasUsed'> & { gasUsed: string };

/** The server's Prometheus metrics: what the layers' `stats()` expose, the process's, and HTTP's own. */
export class ServerMetrics {
  readonly registry = new Registry();
  /** HTTP requests by route, method and status, with their duration. */
  readonly requests: PromHistogram<'method' | 'route' | 'status'>;
  private inflight = 0;
  private readonly loop: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });
  private loopLast = { p50: 0, p99: 0, max: 0 };
  private readonly loopTimer: NodeJS.Timeout;

  constructor(private readonly tessera: Tessera) {
    const r = this.registry;
    this.loop.enable();
    this.loopTimer = setInterval(() => this.sampleLoop(), LOOP_SAMPLE_MS).unref();
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
    totals(r, 'tessera_batch_messages_total', 'Messages whose outcomes committed batches carried.', [], () => [[{}, tessera.processor.stats().batchSize.sum]]);
    totals(r, 'tessera_gas_used_total', 'Gas charged to executions.', [], () => [[{}, Number(engine().metrics.gasUsed)]]);
    gauge(r, 'tessera_pending_messages', `Messages waiting in the pool (counted up to ${PENDING_COUNT_CAP}).`, () => this.pending());
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

  /** The exposition text: the registry's, then the histograms the layers keep. */
  async text(): Promise<string> {
    const p = this.tessera.processor.stats();
    return (
      (await this.registry.metrics()) +
      histogramText('tessera_execution_phase_seconds', 'Time per execution phase (queue wait, code lookup, compile, instantiate, run, total; commit: a batch\'s commit in the processor).', [...Object.entries(this.tessera.engine.stats().metrics.phases), ['commit', p.batchCommitMs] as const].map(([phase, h]) => [`phase="${phase}"`, h]), 1 / 1000) +
      histogramText('tessera_batch_size_messages', 'Messages whose outcomes a committed batch carried.', [['', p.batchSize]], 1) +
      histogramText('tessera_batch_commit_seconds', "Time from a batch's commit starting to its being durable.", [['', p.batchCommitMs]], 1 / 1000) +
      histogramText('tessera_store_commit_seconds', 'Store transactions of the group commit (acceptances, batches, actor creations).', [['', p.storeCommitMs]], 1 / 1000)
    );
  }

  /** The live figures as JSON (the dashboard's charts). */
  async stats(): Promise<Stats> {
    const t = this.tessera;
    const e = t.engine.stats();
    const p = t.processor.stats();
    return {
      time: Date.now(),
      messages: p.batchSize.sum,
      batches: p.batches,
      gasUsed: e.metrics.gasUsed.toString(),
      executions: Object.fromEntries(e.metrics.executions),
      batchSize: summary(p.batchSize),
      batchCommitMs: summary(p.batchCommitMs),
      storeCommitMs: summary(p.storeCommitMs),
      engine: { workers: e.workers, busy: e.busy, queued: e.queued, permitsInUse: e.inflight },
      pending: await this.pending(),
      pendingCapped: PENDING_COUNT_CAP,
      prefetchWarmedShare: t.processor.prefetchStats().warmedShare,
      eventLoopDelayMs: this.loopLast,
      workflowsRunning: t.workflows.stats().running,
      ...(p.cluster ? { cluster: p.cluster } : {}),
    };
  }

  /** Stops sampling the event loop. */
  close(): void {
    clearInterval(this.loopTimer);
    this.loop.disable();
  }

  private async pending(): Promise<number> {
    return (await this.tessera.store.processing.pendingOrder(PENDING_COUNT_CAP)).length;
  }

  /** The last second's event-loop delay (the monitor counts nanoseconds), then a fresh count. */
  private sampleLoop(): void {
    const h = this.loop;
    this.loopLast = h.count === 0 ? { p50: 0, p99: 0, max: 0 } : { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
    h.reset();
  }
}
