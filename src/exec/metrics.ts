import type { ExecutionStatus, Timings } from './types.js';

/** A fixed-bucket histogram of milliseconds. */
export class Histogram {
  static readonly BOUNDS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
  readonly counts = new Array<number>(Histogram.BOUNDS.length + 1).fill(0);
  count = 0;
  sum = 0;

  observe(ms: number): void {
    let i = 0;
    while (i < Histogram.BOUNDS.length && ms > Histogram.BOUNDS[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += ms;
  }

  /**
   * The `q` quantile (0..1), interpolated linearly inside the bucket that holds it (the last,
   * open bucket reports its lower bound). 0 when empty.
   */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let below = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const n = this.counts[i]!;
      if (n > 0 && below + n >= rank) {
        const lo = i === 0 ? 0 : Histogram.BOUNDS[i - 1]!;
        const hi = Histogram.BOUNDS[i];
        if (hi === undefined) return lo;
        return lo + (hi - lo) * Math.min(1, Math.max(0, (rank - below) / n));
      }
      below += n;
    }
    return Histogram.BOUNDS[Histogram.BOUNDS.length - 1]!;
  }
}

/** Engine counters and phase histograms, in one place for the metrics endpoint. */
export class EngineMetrics {
  readonly executions = new Map<ExecutionStatus, number>();
  readonly phases: Record<keyof Timings, Histogram> = {
    queueWait: new Histogram(),
    codeLookup: new Histogram(),
    instantiate: new Histogram(),
    run: new Histogram(),
    total: new Histogram(),
  };
  workersStarted = 0;
  workersTerminated = 0;
  workerCrashes = 0;
  spareClaims = 0;
  spareMisses = 0;
  /** State reads that missed the snapshot and crossed to the main thread (each blocks a worker). */
  stateLoads = 0;
  /** Compiled modules handed to a worker (once per worker, and again after it dropped one). */
  modulesSent = 0;
  /** Jobs moved off a worker stuck on a long execution before they started. */
  jobsMoved = 0;

  record(status: ExecutionStatus, timings: Timings): void {
    this.executions.set(status, (this.executions.get(status) ?? 0) + 1);
    for (const k of Object.keys(this.phases) as (keyof Timings)[]) this.phases[k].observe(timings[k]);
  }
}
