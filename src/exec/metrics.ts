import type { ExecutionStatus, Timings } from './types.js';

/** Buckets per doubling: bounds 19% apart, so an interpolated quantile is off by a few percent at most. */
const PER_DOUBLING = 4;
/** The lowest bound (1 µs) and the number of bounds (up to about 17 minutes). */
const LOWEST_MS = 0.001;
const BOUND_COUNT = 30 * PER_DOUBLING;

/**
 * A fixed-bucket histogram of milliseconds, the buckets spaced evenly on a log scale from 1 µs, so
 * that the quantiles of microsecond phases are as sharp as those of slow ones; observing a value
 * computes its bucket instead of scanning for it. Any positive quantity fits (batch sizes are
 * kept in one too): only the unit of its bounds is named for milliseconds.
 */
export class Histogram {
  static readonly BOUNDS: readonly number[] = Array.from({ length: BOUND_COUNT }, (_, i) => LOWEST_MS * 2 ** (i / PER_DOUBLING));
  readonly counts = new Array<number>(BOUND_COUNT + 1).fill(0);
  count = 0;
  sum = 0;

  observe(ms: number): void {
    let i = ms > LOWEST_MS ? Math.ceil(Math.log2(ms / LOWEST_MS) * PER_DOUBLING) : 0;
    // Rounding at a bound's edge: bucket i holds (BOUNDS[i-1], BOUNDS[i]].
    if (i > 0 && i < BOUND_COUNT && ms <= Histogram.BOUNDS[i - 1]!) i--;
    this.counts[Math.min(i, BOUND_COUNT)]!++;
    this.count++;
    this.sum += ms;
  }

  /** A histogram of every observation of these (a cluster node sums its shards'). */
  static merged(list: readonly Histogram[]): Histogram {
    const h = new Histogram();
    for (const x of list) {
      for (let i = 0; i < x.counts.length; i++) h.counts[i]! += x.counts[i]!;
      h.count += x.count;
      h.sum += x.sum;
    }
    return h;
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
    return Histogram.BOUNDS[BOUND_COUNT - 1]!;
  }
}

/** Engine counters and phase histograms, in one place for the metrics endpoint. */
export class EngineMetrics {
  /** Executions by outcome, every status counted (Busy and Cancelled included). */
  readonly executions = new Map<ExecutionStatus, number>();
  readonly phases: Record<keyof Timings, Histogram> = {
    queueWait: new Histogram(),
    codeLookup: new Histogram(),
    compile: new Histogram(),
    instantiate: new Histogram(),
    run: new Histogram(),
    total: new Histogram(),
  };
  workersStarted = 0;
  workersTerminated = 0;
  /** Worker threads that have exited (terminated, crashed, or at close). */
  workersExited = 0;
  /** Terminated workers given up because they did not exit in time (see `EngineStats.zombies`). */
  workersAbandoned = 0;
  workerCrashes = 0;
  spareClaims = 0;
  spareMisses = 0;
  /** State reads that missed the snapshot and crossed to the main thread (each blocks a worker). */
  stateLoads = 0;
  /** Compiled modules handed to a worker (once per worker, and again after it dropped one). */
  modulesSent = 0;
  /** Jobs moved off a worker stuck on a long execution before they started. */
  jobsMoved = 0;
  /** Gas charged to every execution so far (a stopped one, Timeout or Cancelled, is charged nothing). */
  gasUsed = 0n;

  record(status: ExecutionStatus, timings: Timings, gasUsed = 0n): void {
    this.executions.set(status, (this.executions.get(status) ?? 0) + 1);
    this.gasUsed += gasUsed;
    // Turned away at the gate: no phase ran, and a storm of zeros would drown the quantiles.
    if (status === 'Busy') return;
    for (const k of Object.keys(this.phases) as (keyof Timings)[]) this.phases[k].observe(timings[k]);
  }
}
