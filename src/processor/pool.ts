import type { MessageRecord, Store } from '../store/index.js';
import type { HeldRecords } from './held.js';
import { planBatch, type PlanLimits } from './planner.js';

/** What bounds a batch's plan, whatever the pool holds. */
export type PoolLimits = Omit<PlanLimits, 'lowestPending' | 'busyActors' | 'maxSlow' | 'silent'>;

/** What bounds one plan in particular: actors busy with a slow message, and how many more may start. */
export type PlanState = Pick<PlanLimits, 'busyActors' | 'maxSlow'>;

/**
 * The pending pool as the planner sees it: its best messages in order (priority, then arrival),
 * as records held in memory where there are and read from the store otherwise, and the next
 * batch's plan drawn from them.
 */
export class Pool {
  constructor(
    private readonly store: Store,
    private readonly held: HeldRecords,
    private readonly limits: PoolLimits,
    /** Of these actors, those whose code cannot send (see `PlanLimits.silent`). */
    private readonly silentOf: (actors: readonly string[]) => Promise<ReadonlySet<string>> = async () => new Set(),
  ) {}

  /**
   * Plans a batch from the pool plus messages about to enter it: `retried` (going back to the
   * pool in the commit that will carry this plan) and `outgoing` (sent by the batch being
   * committed). Outgoing messages join only when the pool's slice is the whole pool, since they
   * rank after everything already there.
   */
  async planNext(retried: readonly MessageRecord[], outgoing: readonly MessageRecord[], state: PlanState = {}): Promise<MessageRecord[]> {
    const limits = { ...this.limits, ...state };
    const { maxMessages } = limits;
    // A batch's worth: nonces follow arrival, so a sender's messages in the slice run on from its
    // lowest pending nonce unless priorities reorder them (the plan then comes out shorter).
    const slice = maxMessages;
    const stored = await this.slice(slice);
    // Outgoing messages rank after everything in the pool, in the order they were sent: of them,
    // only as many as fill the slice can be planned now (the rest are read from the store later),
    // so a batch that sent 100,000 does not make this plan walk them all.
    const joining = [...retried, ...(stored.length < slice ? outgoing.slice(0, slice - stored.length) : [])];
    const pending = [...stored, ...joining];
    if (pending.length === 0) return [];
    const lowestPending = await this.store.processing.lowestPendingNonces([...new Set(pending.map((m) => m.sender))]);
    for (const m of joining) {
      const low = lowestPending.get(m.sender);
      if (low === undefined || m.nonce < low) lowestPending.set(m.sender, m.nonce);
    }
    const silent = await this.silentOf([...new Set(pending.map((m) => m.recipient))]);
    const plan = planBatch(pending, { ...limits, lowestPending, silent });
    if (plan.length > 0 || retried.length + outgoing.length > 0 || stored.length < slice) return plan;
    // Every sender in the slice may be waiting on a lower nonce outside it, or on a busy actor:
    // take the pool's best messages then, in order (the first of them is some sender's lowest
    // nonce).
    const all = await this.store.processing.pending(Number.MAX_SAFE_INTEGER);
    return planBatch(all, { ...limits, silent: await this.silentOf([...new Set(all.map((m) => m.recipient))]) });
  }

  /** The records of a stored plan (a batch planned before a restart), in its order. */
  async messages(ids: readonly string[]): Promise<MessageRecord[]> {
    return this.store.processing.messages(ids);
  }

  /** A plan is fixed: its messages leave the pool, and their held records go. */
  planned(plan: readonly MessageRecord[]): void {
    for (const m of plan) this.held.release(m.id);
  }

  /** The pool's first `limit` messages, best first: held records where there are, the rest read. */
  private async slice(limit: number): Promise<MessageRecord[]> {
    const order = await this.store.processing.pendingOrder(limit);
    // A full slice may be one sender's storm: every sender's first pending message joins it, so
    // that the planner can give each a turn (a sender's later messages wait for their turn anyway).
    if (order.length === limit) {
      const seen = new Set(order.map((o) => o.id));
      for (const head of await this.store.processing.pendingHeads(limit)) if (!seen.has(head.id)) order.push(head);
    }
    // Records not held here (written by another process, or before a restart) come in one read.
    const missing = order.filter(({ id }) => this.held.get(id) === undefined).map(({ id }) => id);
    const read = missing.length > 0 ? new Map((await this.store.processing.messages(missing)).map((m) => [m.id, m])) : null;
    const out: MessageRecord[] = [];
    for (const { id, seq } of order) {
      const m = this.held.get(id);
      if (m) {
        m.seq = seq;
        out.push(m);
        continue;
      }
      const r = read?.get(id);
      if (r && r.status === 'pending') out.push(r);
    }
    return out;
  }
}
