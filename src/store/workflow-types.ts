/**
 * The records of durable workflows as the store keeps them: runs, their histories, signals, notes,
 * name limits, schedules and claims. Part of the storage contract (types.ts re-exports them).
 */

/** A durable workflow run, as stored. Input, output and error are JSON text (workflow codec). */
export interface WorkflowRecord {
  id: string;
  name: string;
  input: string;
  status: 'pending' | 'succeeded' | 'failed' | 'cancelled';
  output: string | null;
  error: string | null;
  /** The runner holding the lease, or null. */
  leaseOwner: string | null;
  /** Lease expiry (ms since epoch, on the runners' clock); 0 when never leased. */
  leaseUntil: number;
  cancelRequested: boolean;
  createdAt: number;
  updatedAt: number;
  /** The workflow that started this one as a child (`ctx.child`), or null. */
  parentId: string | null;
  /** The code version of the runner that started it ('' for a runner without one). */
  version: string;
  /**
   * Parked: waiting for a signal or a child, holding no lease; a runner claims it again once a
   * signal, a child's end or a cancel wakes it, or once `wakeAt` has passed.
   */
  parked: boolean;
  /** When a parked workflow's wait times out (ms, the runners' clock), or null. */
  wakeAt: number | null;
}

/** A signal sent to a workflow and not consumed yet (see {@link WorkflowArea.nextSignal}). */
export interface WorkflowSignal {
  /** Arrival order, over the whole store. */
  seq: number;
  /** JSON text (workflow codec). */
  payload: string;
}

/** One recorded effect of a workflow, at its location. */
export interface WorkflowEventRecord {
  workflowId: string;
  /** Ordered path such as `3` or `2/17/0` (loop at 2, iteration 17, first effect). */
  location: string;
  kind: string;
  name: string;
  /** JSON text of the result, or null. */
  result: string | null;
  /** JSON text of the recorded error, or null. */
  error: string | null;
  /** Forgotten events are kept for inspection but not loaded on replay. */
  forgotten: boolean;
}

/**
 * Something the runtime noted about a run that is not an effect of its history (never replayed):
 * forgotten history it deleted (`pruned`), a repair that continued it in another run.
 */
export interface WorkflowNote {
  workflowId: string;
  /** Unique per run: a later note with the same key replaces the earlier one. */
  key: string;
  kind: string;
  /** JSON text. */
  detail: string;
  /** When it was written (ms since epoch, on the runners' clock). */
  at: number;
}

/**
 * Limits on the runs of one workflow name, enforced by the claim: at most `concurrency` runs
 * leased at once (by any runner; unexpired leases count), and new leases at `perSecond` on
 * average, in bursts of at most `max(1, perSecond)` (a token bucket kept per name in the store).
 */
export interface WorkflowLimit {
  concurrency?: number;
  perSecond?: number;
}

/** A schedule, as stored: the workflow it starts, when, with what input. */
export interface ScheduleRecord {
  name: string;
  workflow: string;
  /** JSON text of the schedule's spec (its cron or period, time zone and catch-up policy). */
  spec: string;
  /** JSON text (workflow codec). */
  input: string;
  /** The next tick not yet handled (ms since epoch). */
  nextTick: number;
}

/** A request to claim runnable workflows (see {@link WorkflowArea.claim}). */
export interface WorkflowClaim {
  owner: string;
  now: number;
  leaseUntil: number;
  /** Only workflows of these names (those the runner has registered). */
  names: readonly string[];
  /** Limits of some of those names; the claims of one limited name are serialized across runners. */
  limits?: Readonly<Record<string, WorkflowLimit>>;
  /** Only this workflow. */
  id?: string;
  limit: number;
  /** Only workflows started by runners of these versions (absent: any version). */
  versions?: readonly string[];
}
