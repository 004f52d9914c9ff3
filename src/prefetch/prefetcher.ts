import type { Engine } from '../exec/index.js';
import { PrefetchCycle } from './cycle.js';
import { InvalidPrefetchOptions } from './errors.js';
import { PrefetchMetrics, type PrefetchStats } from './metrics.js';
import type { SpeculationHost } from './speculate.js';

/** Prefetch settings (`ProcessorOptions.prefetch`). */
export interface PrefetchOptions {
  /** Default true when options are given (`ProcessorOptions.prefetch` absent or `false`: off). */
  enabled?: boolean;
  /** Concurrent speculations (lanes); default 1. */
  lanes?: number;
  /** Channel capacity; a full channel drops offers. Default 256. */
  capacity?: number;
  /** Gas of one speculation at most (below the message's own limit); default 10^8. */
  gasCap?: bigint;
  /** Summed speculation gas the idle provider may offer per cycle; default 10^11. */
  idleGasBudget?: bigint;
  /** Slowest messages kept in the stats; default 10. */
  topK?: number;
  /**
   * When a lane may start a speculation. Default: when the engine has a worker with nothing
   * handed to it and nothing queued, so speculation only fills idle capacity.
   */
  canRun?: () => boolean;
  /** Test and diagnostics hook, called before each speculation; what it throws is counted as a failure. */
  beforeSpeculate?: (messageId: string) => void | Promise<void>;
}

/** Defaults applied; see {@link PrefetchOptions}. */
export interface ResolvedPrefetchOptions {
  enabled: boolean;
  lanes: number;
  capacity: number;
  gasCap: bigint;
  idleGasBudget: bigint;
  topK: number;
}

/** Fills in defaults: `undefined` and `false` mean off, `true` or an object mean on. */
export function resolvePrefetchOptions(o: PrefetchOptions | boolean | undefined): ResolvedPrefetchOptions {
  const opts: PrefetchOptions = typeof o === 'boolean' || o === undefined ? { enabled: o ?? false } : o;
  const r: ResolvedPrefetchOptions = {
    enabled: opts.enabled ?? true,
    lanes: opts.lanes ?? 1,
    capacity: opts.capacity ?? 256,
    gasCap: opts.gasCap ?? 100_000_000n,
    idleGasBudget: opts.idleGasBudget ?? 100_000_000_000n,
    topK: opts.topK ?? 10,
  };
  if (!Number.isInteger(r.lanes) || r.lanes < 1) throw new InvalidPrefetchOptions('lanes must be an integer >= 1');
  if (!Number.isInteger(r.capacity) || r.capacity < 1) throw new InvalidPrefetchOptions('capacity must be an integer >= 1');
  if (r.gasCap <= 0n) throw new InvalidPrefetchOptions('gasCap must be positive');
  if (r.idleGasBudget < 0n) throw new InvalidPrefetchOptions('idleGasBudget must not be negative');
  if (!Number.isInteger(r.topK) || r.topK < 0) throw new InvalidPrefetchOptions('topK must be an integer >= 0');
  return r;
}

/**
 * An engine gate for speculation: true while some worker has nothing handed to it and nothing
 * waits in the engine's queue. The engine has no priorities, so this is how committed work keeps
 * precedence: a lane starts only on idle capacity. A speculation already handed over may still
 * delay committed work queued behind it on that worker, by at most one speculation per lane
 * (bounded by `gasCap`), which is why lanes default to 1.
 */
export function engineIdle(engine: Pick<Engine, 'stats'>): () => boolean {
  return () => {
    const s = engine.stats();
    return s.queued === 0 && s.busy < s.workers;
  };
}

/**
 * The processor's prefetcher: opens one {@link PrefetchCycle} per batch cycle, keeps the
 * metrics across cycles, and tracks cycles whose work is still settling (so that closing can
 * wait for it).
 */
export class Prefetcher {
  readonly settings: ResolvedPrefetchOptions;
  readonly metrics: PrefetchMetrics;
  private readonly settling = new Set<Promise<void>>();
  /** The latest lane failure (its cause kept), for logs. */
  lastFailure: Error | null = null;

  constructor(
    private readonly host: SpeculationHost,
    private readonly options: PrefetchOptions & { canRun: () => boolean },
  ) {
    this.settings = resolvePrefetchOptions(options);
    this.metrics = new PrefetchMetrics(this.settings.topK);
  }

  get enabled(): boolean {
    return this.settings.enabled;
  }

  /** Opens a cycle's stream; `height` is the batch height its speculations assume. */
  open(height: bigint): PrefetchCycle {
    const cycle = new PrefetchCycle(
      this.host,
      {
        lanes: this.settings.lanes,
        capacity: this.settings.capacity,
        gasCap: this.settings.gasCap,
        idleGasBudget: this.settings.idleGasBudget,
        canRun: this.options.canRun,
        beforeRun: this.options.beforeSpeculate,
        onFailure: (err) => (this.lastFailure = err),
      },
      this.metrics,
      height,
    );
    return cycle;
  }

  /** Kills a cycle and remembers its settling, for {@link Prefetcher.settled}. */
  kill(cycle: PrefetchCycle): void {
    const p = cycle.kill().catch(() => {});
    this.settling.add(p);
    void p.finally(() => this.settling.delete(p));
  }

  /** Resolves once every killed cycle's work in flight has settled. */
  async settled(): Promise<void> {
    while (this.settling.size > 0) await Promise.all([...this.settling]);
  }

  stats(): PrefetchStats {
    return this.metrics.snapshot(this.settings.enabled);
  }
}
