import { InvalidWorkflowOptions } from './errors.js';

/** How a loop decides when to checkpoint. Pure: durations are passed in. */
export interface CheckpointPolicyOptions {
  /** Checkpoint every N iterations; omitted: adaptive (see {@link CheckpointPolicy}). */
  every?: number;
  /** Checkpoint at least this often, in ms of the workflow clock (default 1000). */
  ms?: number;
}

/** Adaptive mode keeps checkpoint commits to about this share of the loop's time. */
const ADAPTIVE_SHARE = 0.2;
const ADAPTIVE_START = 20;
const ADAPTIVE_MAX = 1000;

/**
 * Decides after each iteration whether to checkpoint.
 *
 * Fixed mode checkpoints every `every` iterations. Adaptive mode (the default) picks the interval
 * from what it measures: with a commit taking C ms and an iteration I ms, it checkpoints every
 * ceil(C / (I · share)) iterations, so commits cost about `share` of the loop's time whether the
 * store syncs in 100 µs or 10 ms and whether iterations are cheap or heavy. It starts at 20. Both
 * modes also checkpoint when `ms` has passed since the last checkpoint.
 */
export class CheckpointPolicy {
  private since = 0;
  private lastAt: number;
  private iterationMs = 0;
  private interval: number;

  constructor(
    private readonly options: CheckpointPolicyOptions,
    now: number,
  ) {
    this.lastAt = now;
    this.interval = options.every ?? ADAPTIVE_START;
    if (!Number.isInteger(this.interval) || this.interval < 1) throw new InvalidWorkflowOptions('checkpointEvery must be a positive integer');
    if (options.ms !== undefined && !(options.ms > 0)) throw new InvalidWorkflowOptions('checkpointMs must be positive');
  }

  /** The current interval in iterations. */
  get every(): number {
    return this.interval;
  }

  /** Called after an iteration that took `iterationMs`; true when a checkpoint is due now. */
  afterIteration(now: number, iterationMs: number): boolean {
    this.since++;
    this.iterationMs = this.iterationMs === 0 ? iterationMs : this.iterationMs * 0.8 + iterationMs * 0.2;
    return this.since >= this.interval || now - this.lastAt >= (this.options.ms ?? 1000);
  }

  /** Called when a checkpoint starts; `lastCommitMs` is how long the previous commit took. */
  checkpointed(now: number, lastCommitMs: number): void {
    this.since = 0;
    this.lastAt = now;
    if (this.options.every === undefined && lastCommitMs > 0 && this.iterationMs > 0) {
      const n = Math.ceil(lastCommitMs / (this.iterationMs * ADAPTIVE_SHARE));
      this.interval = Math.min(ADAPTIVE_MAX, Math.max(1, n));
    }
  }
}
