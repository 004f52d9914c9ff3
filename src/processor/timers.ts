import type { MessageRecord, Store, TimerRecord, WriteOp } from '../store/index.js';
import type { Nonces } from './nonces.js';

/** Provisional arrival order of messages a commit puts in the pool, above any the store has given out. */
export const OUTGOING_SEQ = 2 ** 52;

/**
 * How long the earliest due time known here is trusted: other processes store timers too (a
 * cluster's nodes accept delayed sends for every shard), so it is read again at least this often.
 */
const KNOWN_DUE_MS = 1000;

/** Timers released into the pool with a plan: the ops that do it, and the messages they enqueue. */
export interface Released {
  ops: WriteOp[];
  messages: MessageRecord[];
}

/**
 * The processor's view of the durable timers (DESIGN "Actor timers, upgrades and deletion"). A
 * timer waits in the store's timer table, not in the pool, so planning never walks timers that are
 * not due. The plan of the first batch whose timestamp reaches a timer's due time releases it:
 * the same write set that commits the plan removes the timer and enqueues its message, so a
 * timer becomes exactly one message whatever crashes, and a redone batch releases what its
 * committed plan released. A timer that a batch schedules and that is due by the next batch's
 * timestamp (a delay of 0, say) is never stored: its message goes straight into the next plan.
 *
 * No JS timer per timer: the batch cycle, which runs every `batchIntervalMs` anyway, asks
 * {@link due} with the next batch's timestamp, and that reads the store only when the earliest
 * due time known here has come (kept in memory: learnt from the store, lowered by each timer a
 * commit stores, and read again at least every second).
 */
export class TimerQueue {
  /** The earliest due time of a stored timer: undefined when not known, null when none is stored. */
  private nextDue: number | null | undefined = undefined;
  /** When `nextDue` was read (`performance.now()`). */
  private readAt = 0;

  constructor(
    private readonly store: Store,
    /** Timers one plan releases at most (the rest wait for the next plan). */
    private readonly limit: number,
    /** The processor's nonces: a released message's nonce is past those acceptances gave out here. */
    private readonly nonces: Nonces,
  ) {}

  /** Timers due at or before `timestamp`, earliest first, at most `limit`; no read while none can be. */
  async due(timestamp: number): Promise<TimerRecord[]> {
    const fresh = performance.now() - this.readAt < KNOWN_DUE_MS;
    if (fresh && (this.nextDue === null || (this.nextDue !== undefined && this.nextDue > timestamp))) return [];
    this.readAt = performance.now();
    const rows = await this.store.actors.timers({ limit: this.limit + 1 });
    const due = rows.filter((t) => t.due <= timestamp).slice(0, this.limit);
    const after = rows[due.length];
    // Those returned leave the table with the plan that releases them; if that commit fails,
    // `forget` makes the next call read again.
    this.nextDue = after === undefined ? null : after.due;
    return due;
  }

  /** A commit stores a timer due at `due`. */
  stored(due: number): void {
    if (this.nextDue !== undefined) this.nextDue = this.nextDue === null ? due : Math.min(this.nextDue, due);
  }

  /** A commit failed: what is stored is read again next time. */
  forget(): void {
    this.nextDue = undefined;
  }

  /** How many timers each of these actors has waiting in the store. */
  async counts(actors: Iterable<string>): Promise<Map<string, number>> {
    const list = [...actors];
    const counts = await Promise.all(list.map((a) => this.store.actors.timerCount(a)));
    return new Map(list.map((a, i) => [a, counts[i]!]));
  }

  /**
   * The release of `stored` timers (removed from the table) and `fresh` ones (due before they
   * were ever stored) as messages, in due order, each with its sender's next nonce: one past the
   * highest in `used` (nonces the same commit gives out), in the store, or given out by this
   * process's acceptances (a delayed external send's sender also sends now). `used` is updated,
   * and the processor's nonces are raised at once, so that an acceptance meanwhile goes past it.
   */
  async release(stored: readonly TimerRecord[], fresh: readonly TimerRecord[], used: Map<string, number>, seq: number): Promise<Released> {
    const all = [...stored.map((t) => ({ t, stored: true })), ...fresh.map((t) => ({ t, stored: false }))].sort((a, b) => a.t.due - b.t.due || (a.t.id < b.t.id ? -1 : 1));
    if (all.length === 0) return { ops: [], messages: [] };
    const last = await this.store.processing.lastNonces([...new Set(all.map(({ t }) => t.sender))]);
    const ops: WriteOp[] = [];
    const messages: MessageRecord[] = [];
    for (const { t, stored: wasStored } of all) {
      const nonce = Math.max(used.get(t.sender) ?? -1, last.get(t.sender) ?? -1, this.nonces.peek(t.sender) ?? -1) + 1;
      used.set(t.sender, nonce);
      const message = { id: t.id, sender: t.sender, recipient: t.recipient, nonce, priority: 0, gasLimit: t.gasLimit, payload: t.payload, entry: 'handle', idempotencyKey: t.idempotencyKey, requestHash: t.requestHash };
      if (wasStored) ops.push({ kind: 'timer.release', id: t.id });
      ops.push({ kind: 'message.enqueue', message });
      messages.push({ ...message, seq: seq + messages.length, status: 'pending', attempts: 0 });
    }
    this.nonces.advance(used);
    return { ops, messages };
  }
}
