import { createHash } from 'node:crypto';
import type { BackgroundMessage, BatchRecord, MessageRecord } from '../store/index.js';

/**
 * The batch planner: which pending messages go into the next batch, in which order, and the
 * batch's header. Pure.
 *
 * Rules: higher priority first; within a priority, senders take turns (round-robin: every
 * sender's first message in the batch, by arrival, then every sender's second, ...) to get into
 * a batch, so no sender fills one; the batch then runs in priority and arrival order; a sender's
 * messages only in nonce order (a message is eligible once every lower
 * nonce of its sender is done or already planned); at most `maxMessages` messages and `gasBudget`
 * summed gas limits per batch, at most `maxPerActor` messages per actor chain, and at most
 * `maxProduced` messages that the plan's messages could send between them. A message whose gas
 * limit exceeds `sliceGas` is slow: it ends its actor's chain in the batch and runs in the
 * background (see `Background` in `background.ts`); actors in `busyActors` (running one) get nothing planned. A sender
 * whose next message cannot go in (its actor is busy or full) gets nothing more in this batch.
 * `pending` may be a slice of the pool (the best messages by priority and arrival): a sender's
 * messages are taken only while their nonces run on without a gap from the sender's lowest
 * pending nonce.
 */

/** What the planner needs to know about a pending message. */
export type PendingMessage = Pick<MessageRecord, 'id' | 'sender' | 'recipient' | 'nonce' | 'seq' | 'priority' | 'gasLimit'>;

export interface PlanLimits {
  maxMessages: number;
  gasBudget: bigint;
  /**
   * When `pending` is only a slice of the pool: each sender's lowest pending nonce in the whole
   * pool. A sender whose lowest nonce is missing from the slice gets nothing planned.
   */
  lowestPending?: ReadonlyMap<string, number>;
  /** Messages per actor chain in one batch; default: no cap. */
  maxPerActor?: number;
  /**
   * Messages the plan's messages may send between them, each counted at its bound (see
   * {@link producedBound}); default: no cap. A first message goes in whatever its bound.
   */
  maxProduced?: number;
  /**
   * Recipients whose code imports no `tessera.send`: a message to them produces nothing, whatever
   * its gas (the code's imports are fixed, so the plan stays deterministic).
   */
  silent?: ReadonlySet<string>;
  /** What sending one message costs its sender at least; bounds a message's sends by its gas. */
  messageBaseGas?: bigint;
  /** Sends one execution may make. */
  maxSendsPerMessage?: number;
  /** A message with a larger gas limit is slow: it runs in the background. Default: none is. */
  sliceGas?: bigint;
  /** Actors running a slow message of an earlier batch: nothing is planned for them. */
  busyActors?: ReadonlySet<string>;
  /** Slow messages this plan may start; default: no cap. */
  maxSlow?: number;
}

/** The most messages one planned message can send: min(maxSendsPerMessage, gasLimit / messageBaseGas). */
export function producedBound(gasLimit: bigint, limits: Pick<PlanLimits, 'messageBaseGas' | 'maxSendsPerMessage'>): number {
  const cap = limits.maxSendsPerMessage ?? Number.MAX_SAFE_INTEGER;
  const base = limits.messageBaseGas;
  if (base === undefined || base <= 0n) return cap;
  const byGas = gasLimit / base;
  return byGas < BigInt(cap) ? Number(byGas) : cap;
}

/** Whether a planned message runs in the background (its gas limit exceeds the slice). */
export function isSlow(gasLimit: bigint, sliceGas: bigint | undefined): boolean {
  return sliceGas !== undefined && gasLimit > sliceGas;
}

interface Head<M> {
  m: M;
  /** Messages already taken from its sender: the sender's turn. */
  round: number;
}

/** What a walk does with the best head: takes it, skips it (its sender gets nothing more), or stops. */
type Decision = 'take' | 'skip' | 'stop';

/**
 * Walks the pending messages best head first (`order`), a sender's next message becoming its
 * head once the one before is taken; returns those taken, in the order taken.
 */
function walk<M extends PendingMessage>(
  pending: readonly M[],
  lowestPending: ReadonlyMap<string, number> | undefined,
  order: (a: Head<M>, b: Head<M>) => number,
  decide: (m: M) => Decision,
): M[] {
  const bySender = new Map<string, M[]>();
  for (const m of pending) {
    let list = bySender.get(m.sender);
    if (!list) bySender.set(m.sender, (list = []));
    list.push(m);
  }
  for (const list of bySender.values()) list.sort((a, b) => a.nonce - b.nonce);
  const cursor = new Map<string, number>();
  // Candidates: the head of each sender's queue (only that message of each sender is eligible).
  const heads: Head<M>[] = [];
  for (const [sender, list] of bySender) {
    const lowest = lowestPending?.get(sender);
    if (lowest !== undefined && list[0]!.nonce !== lowest) continue;
    cursor.set(sender, 0);
    heads.push({ m: list[0]!, round: 0 });
  }
  heads.sort(order);
  const taken: M[] = [];
  while (heads.length > 0) {
    const { m: next, round } = heads.shift()!;
    const decision = decide(next);
    if (decision === 'stop') break;
    if (decision === 'skip') continue;
    taken.push(next);
    const i = cursor.get(next.sender)! + 1;
    cursor.set(next.sender, i);
    const after = bySender.get(next.sender)![i];
    // A sender's pending nonces are consecutive; a gap means the next one is outside the slice.
    if (after && after.nonce === next.nonce + 1) insertSorted(heads, { m: after, round: round + 1 }, order);
  }
  return taken;
}

/**
 * Plans a batch from the pending messages (any order); returns the chosen ones in plan order.
 * Two walks: the first chooses, senders taking turns within a priority, under every limit; the
 * second orders the choice by priority and arrival (so that an actor's messages run in arrival
 * order whenever they all fit, whatever the batch boundaries), keeping a slow message the last of
 * its actor's chain.
 */
export function planBatch<M extends PendingMessage>(pending: readonly M[], limits: PlanLimits): M[] {
  const maxPerActor = limits.maxPerActor ?? Number.MAX_SAFE_INTEGER;
  const maxProduced = limits.maxProduced ?? 0;
  const maxSlow = limits.maxSlow ?? Number.MAX_SAFE_INTEGER;
  const perActor = new Map<string, number>();
  // Actors whose chain in this batch ended with a slow message.
  const ended = new Set<string>();
  let count = 0;
  let gas = 0n;
  let produced = 0;
  let slow = 0;
  const chosen = walk(
    pending,
    limits.lowestPending,
    // Priority, then the sender's turn, then arrival: within a priority, senders alternate.
    (a, b) => b.m.priority - a.m.priority || a.round - b.round || a.m.seq - b.m.seq,
    (m) => {
      if (count >= limits.maxMessages) return 'stop';
      const actor = m.recipient;
      const isSlowMessage = isSlow(m.gasLimit, limits.sliceGas);
      // Its actor cannot take it in this batch: its sender waits (nonce order), the others go on.
      if (limits.busyActors?.has(actor) || ended.has(actor) || (perActor.get(actor) ?? 0) >= maxPerActor || (isSlowMessage && slow >= maxSlow)) return 'skip';
      const bound = limits.maxProduced === undefined || limits.silent?.has(actor) ? 0 : producedBound(m.gasLimit, limits);
      if (count > 0 && gas + m.gasLimit > limits.gasBudget) return 'stop';
      // Over the production bound: this one waits, and messages that produce less still fit.
      if (count > 0 && produced + bound > maxProduced) return 'skip';
      count++;
      gas += m.gasLimit;
      produced += bound;
      perActor.set(actor, (perActor.get(actor) ?? 0) + 1);
      if (isSlowMessage) {
        slow++;
        ended.add(actor);
      }
      return 'take';
    },
  );
  // The choice holds, per sender, consecutive nonces from its lowest eligible one.
  const closed = new Set<string>();
  return walk(
    chosen,
    undefined,
    (a, b) => b.m.priority - a.m.priority || a.m.seq - b.m.seq,
    (m) => {
      if (closed.has(m.recipient)) return 'skip';
      if (isSlow(m.gasLimit, limits.sliceGas)) closed.add(m.recipient);
      return 'take';
    },
  );
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
 * never before `prev`'s) and its seed, chained from `prev`'s. `slow` are the plan's slow messages:
 * with `running` (slow messages of earlier batches still running, less those this batch
 * `completes`) they make the batch's `background`.
 */
export function nextBatch(
  prev: BatchRecord | null,
  plan: readonly { id: string }[],
  now: number,
  slow: readonly { id: string }[] = [],
  running: readonly BackgroundMessage[] = [],
  completes: readonly BackgroundMessage[] = [],
): BatchRecord {
  const height = (prev?.height ?? 0) + 1;
  const timestamp = Math.max(now, prev?.timestamp ?? 0);
  const seed = createHash('sha256').update(`${prev?.seed ?? 'genesis'}:${height}:${timestamp}`).digest('hex');
  const batch: BatchRecord = { height, timestamp, seed, messageIds: plan.map((m) => m.id), committed: false };
  const background = [...running, ...slow.map((m) => ({ id: m.id, height, timestamp, seed }))];
  if (background.length > 0) batch.background = background;
  if (completes.length > 0) batch.completes = [...completes];
  return batch;
}
