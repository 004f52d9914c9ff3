import type { WorkflowNote, WriteOp } from '../store/index.js';
import { InvalidWorkflowOptions } from './errors.js';

/**
 * How long a loop's forgotten history is kept: the last `iterations` forgotten iterations, or
 * those forgotten less than `ageMs` ago. Older ones are deleted at checkpoints, in the
 * checkpoint's transaction.
 */
export type RetainForgotten = { iterations: number } | { ageMs: number };

/** Checks a retention bound given by a caller. */
export function checkRetainForgotten(r: RetainForgotten | undefined, field: string): void {
  if (r === undefined) return;
  const value = 'iterations' in r ? r.iterations : 'ageMs' in r ? r.ageMs : undefined;
  if (value === undefined || !Number.isInteger(value) || value < 0) {
    throw new InvalidWorkflowOptions(`${field} must be { iterations } or { ageMs }, an integer >= 0`);
  }
}

/**
 * The retention of one running loop: given each checkpoint's forget bound (iterations before it
 * are forgotten), says below which iteration forgotten history goes. By age, it remembers when
 * each bound was reached in this run; after a restart the first bound it sees covers what earlier
 * runs forgot too, since the store deletes every forgotten iteration below the bound it is given.
 */
export class LoopRetention {
  /** Forget bounds not yet old enough to prune, with when they were reached (by age). */
  private readonly reached: { bound: number; at: number }[] = [];
  private pruned = 0;

  constructor(private readonly retain: RetainForgotten) {}

  /** The iteration below which forgotten history may now be deleted, if it moved since the last call. */
  pruneBefore(forgetBefore: number, now: number): number | null {
    let before: number;
    if ('iterations' in this.retain) {
      before = forgetBefore - this.retain.iterations;
    } else {
      if (this.reached.at(-1)?.bound !== forgetBefore) this.reached.push({ bound: forgetBefore, at: now });
      before = this.pruned;
      while (this.reached.length > 0 && now - this.reached[0]!.at >= this.retain.ageMs) before = this.reached.shift()!.bound;
    }
    if (before <= this.pruned) return null;
    this.pruned = before;
    return before;
  }
}

/** The op that deletes the forgotten iterations of `loop` before `before`. */
export const pruneOp = (workflowId: string, loop: string, before: number, unwritten: number, now: number): WriteOp => ({
  kind: 'workflow.prune',
  workflowId,
  loop,
  before,
  unwritten,
  now,
});

/** Finished runs deleted per housekeeping round, so that one transaction stays small. */
const PURGE_BATCH = 500;

/** The op that deletes finished runs of these names whose last update is older than `retainFinishedMs`. */
export const purgeOp = (names: readonly string[], now: number, retainFinishedMs: number): WriteOp => ({
  kind: 'workflow.purge',
  names,
  finishedBefore: now - retainFinishedMs,
  limit: PURGE_BATCH,
});

/** What a `pruned` note says: the loop, the iteration below which its forgotten history went, and how many events went. */
export interface PrunedDetail {
  loop: string;
  before: number;
  events: number;
}

/** A note as `history()` shows it, decoded. */
export const noteDetail = (note: WorkflowNote): unknown => JSON.parse(note.detail) as unknown;
