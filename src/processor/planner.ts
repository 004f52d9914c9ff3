import { createHash } from 'node:crypto';
import type { BatchRecord } from '../store/index.js';

/**
 * The batch planner: which pending messages go into the next batch, in which order, and the
 * batch's header. Pure.
 *
 * Rules: higher priority first, then earlier arrival; a sender's messages only in nonce order
 * (a message is eligible once every lower nonce of its sender is done or already planned); at
 * most `maxMessages` messages and `gasBudget` summed gas limits per batch. `pending` may be a
 * slice of the pool (the best messages by priority and arrival): a sender's messages are taken
 * only while their nonces run on without a gap from the sender's lowest pending nonce.
 */

/** What the planner needs to know about a pending message. */
export interface PendingMessage {
  id: string;
  sender: string;
  nonce: number;
  /** Arrival order (monotonic). */
  seq: number;
  priority: number;
  gasLimit: bigint;
}

export interface PlanLimits {
  maxMessages: number;
  gasBudget: bigint;
  /**
   * When `pending` is only a slice of the pool: each sender's lowest pending nonce in the whole
   * pool. A sender whose lowest nonce is missing from the slice gets nothing planned.
   */
  lowestPending?: ReadonlyMap<string, number>;
}

/** Plans a batch from the pending messages (any order); returns the chosen ones in plan order. */
export function planBatch<M extends PendingMessage>(pending: readonly M[], limits: PlanLimits): M[] {
  // The lowest pending nonce per sender: only that message of each sender is eligible.
  const bySender = new Map<string, M[]>();
  for (const m of pending) {
    let list = bySender.get(m.sender);
    if (!list) bySender.set(m.sender, (list = []));
    list.push(m);
  }
  for (const list of bySender.values()) list.sort((a, b) => a.nonce - b.nonce);
  const cursor = new Map<string, number>();
  const order = (a: M, b: M): number => b.priority - a.priority || a.seq - b.seq;
  // Candidates: the head of each sender's queue, best first.
  const heads: M[] = [];
  for (const [sender, list] of bySender) {
    const lowest = limits.lowestPending?.get(sender);
    if (lowest !== undefined && list[0]!.nonce !== lowest) continue;
    cursor.set(sender, 0);
    heads.push(list[0]!);
  }
  heads.sort(order);
  const plan: M[] = [];
  let gas = 0n;
  while (heads.length > 0 && plan.length < limits.maxMessages) {
    const next = heads.shift()!;
    if (gas + next.gasLimit > limits.gasBudget && plan.length > 0) break;
    plan.push(next);
    gas += next.gasLimit;
    const i = cursor.get(next.sender)! + 1;
    cursor.set(next.sender, i);
    const after = bySender.get(next.sender)![i];
    // A sender's pending nonces are consecutive; a gap means the next one is outside the slice.
    if (after && after.nonce === next.nonce + 1) insertSorted(heads, after, order);
  }
  return plan;
}

function insertSorted<T>(xs: T[], x: T, order: (a: T, b: T) => number): void {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (order(xs[mid]!, x) <= 0) lo = mid + 1;
    else hi = mid;
  }
  xs.splice(lo, 0, x);
}

/**
 * Groups a plan by recipient for execution: each actor's messages keep plan order; actors with
 * the most gas queued come first so the longest chains start earliest.
 */
export function groupByActor<M extends { recipient: string; gasLimit: bigint }>(plan: readonly M[]): M[][] {
  const groups = new Map<string, M[]>();
  for (const m of plan) {
    let g = groups.get(m.recipient);
    if (!g) groups.set(m.recipient, (g = []));
    g.push(m);
  }
  const total = (g: M[]): bigint => g.reduce((s, m) => s + m.gasLimit, 0n);
  return [...groups.values()].sort((a, b) => (total(b) > total(a) ? 1 : total(b) < total(a) ? -1 : 0));
}

/**
 * The batch after `prev` (null: the first) with this plan: its height, its timestamp (`now`, but
 * never before `prev`'s) and its seed, chained from `prev`'s.
 */
export function nextBatch(prev: BatchRecord | null, plan: readonly { id: string }[], now: number): BatchRecord {
  const height = (prev?.height ?? 0) + 1;
  const timestamp = Math.max(now, prev?.timestamp ?? 0);
  const seed = createHash('sha256').update(`${prev?.seed ?? 'genesis'}:${height}:${timestamp}`).digest('hex');
  return { height, timestamp, seed, messageIds: plan.map((m) => m.id), committed: false };
}
