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

  record(status: ExecutionStatus, timings: Timings): void {
    this.executions.set(status, (this.executions.get(status) ?? 0) + 1);
    for (const k of Object.keys(this.phases) as (keyof Timings)[]) this.phases[k].observe(timings[k]);
  }
}
