import type { Reservation } from '../exec/index.js';
import { acceptedMessage, type ReplyRecord, type Store } from '../store/index.js';
import { InvalidMessage } from './errors.js';
import { isReplyStatus, type Reply } from './types.js';

/**
 * The public shape of a stored reply. A status this version does not know (written by a newer
 * one) reads as `HostError` naming it, so the reply stays readable.
 */
export const toReply = (r: ReplyRecord): Reply =>
  isReplyStatus(r.status)
    ? { messageId: r.messageId, status: r.status, error: r.error, payload: r.payload, gasUsed: r.gasUsed, batchHeight: r.batchHeight }
    : { messageId: r.messageId, status: 'HostError', error: `status ${r.status} is unknown to this version`, payload: r.payload, gasUsed: r.gasUsed, batchHeight: r.batchHeight };

/** Message ids per read of a recheck (a full one after a shard is taken may name many thousands). */
const RECHECK_CHUNK = 1000;

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (err: unknown) => void;
}

/**
 * Callers waiting for messages' committed replies. Push-based: a durable commit hands its replies
 * to `notify`; the store is read only for messages this process did not accept, or accepted
 * before it started. A message accepted here carries its account's reservation (accounts.ts)
 * until its reply commits: `notify` settles it with the gas the message used and releases it.
 */
export class ReplyWaiters {
  private readonly waiters = new Map<string, Waiter[]>();
  /**
   * Messages accepted by this process and not replied yet, with their account's reservation:
   * `reply()` waits on them without a read.
   */
  private readonly awaiting = new Map<string, Reservation | null>();
  /** The recheck running, and the round asked for meanwhile (its `maxAwaiting`), if any. */
  private rechecking: Promise<void> | null = null;
  private recheckAgain: number | null = null;
  /** Set by `close`: every later wait fails with it at once. */
  private closedWith: { err: unknown } | null = null;

  constructor(private readonly store: Store) {}

  /** Marks a message accepted here (and durable): its reply will come through `notify`. */
  expect(messageId: string, reservation: Reservation | null = null): void {
    if (this.closedWith) {
      reservation?.[Symbol.dispose]();
      return;
    }
    this.awaiting.set(messageId, reservation);
  }

  /** Waits for a message's committed outcome. */
  async reply(messageId: string): Promise<Reply> {
    if (this.closedWith) throw this.closedWith.err;
    // Accepted here and not committed yet: the commit will push the reply (no store reads).
    if (this.awaiting.has(messageId)) return this.register(messageId).promise;
    const stored = await this.store.processing.reply(messageId);
    if (stored) return toReply(stored);
    if (!(await acceptedMessage(this.store, messageId))) throw new InvalidMessage(`unknown message ${messageId}`);
    const { promise, waiter } = this.register(messageId);
    // A commit between the read above and the registration would have found no waiter. If this
    // read fails, the wait fails with it: it might otherwise wait for a reply already pushed.
    this.store.processing.reply(messageId).then(
      (r) => r && this.notify(toReply(r)),
      (err: unknown) => this.drop(messageId, waiter, err),
    );
    return promise;
  }

  /**
   * Reads the replies of waited-for messages from the store and hands over those committed: in a
   * cluster another node commits them, and says so by a notification, not through `notify`.
   * Messages accepted here that nobody waits for are read too (at most `maxAwaiting` of them, the
   * oldest first), so that their accounts' reservations are settled.
   */
  recheck(maxAwaiting = 0): Promise<void> {
    // One recheck at a time: a call while one runs asks for one more round after it (reads must
    // not pile up faster than they finish, starving the store's commits of connections).
    if (this.rechecking) {
      this.recheckAgain = Math.max(this.recheckAgain ?? 0, maxAwaiting);
      return this.rechecking;
    }
    this.rechecking = (async () => {
      let round: number | null = maxAwaiting;
      while (round !== null) {
        this.recheckAgain = null;
        await this.recheckOnce(round);
        round = this.recheckAgain;
      }
    })().finally(() => (this.rechecking = null));
    return this.rechecking;
  }

  private async recheckOnce(maxAwaiting: number): Promise<void> {
    const ids = new Set(this.waiters.keys());
    for (const id of this.awaiting.keys()) {
      if (ids.size >= this.waiters.size + maxAwaiting) break;
      ids.add(id);
    }
    if (ids.size === 0) return;
    const { processing } = this.store;
    if (processing.replies) {
      const all = [...ids];
      for (let i = 0; i < all.length; i += RECHECK_CHUNK) for (const r of await processing.replies(all.slice(i, i + RECHECK_CHUNK))) this.notify(toReply(r));
      return;
    }
    for (const id of ids) {
      const r = await processing.reply(id);
      if (r) this.notify(toReply(r));
    }
  }

  /** Whether any message accepted here, or waited for, has no reply yet. */
  get waiting(): boolean {
    return this.waiters.size > 0 || this.awaiting.size > 0;
  }

  /** Hands a committed reply to whoever waits for it, and settles the message's reservation. */
  notify(r: Reply): void {
    const reservation = this.awaiting.get(r.messageId);
    this.awaiting.delete(r.messageId);
    if (reservation) {
      reservation.settle(r.gasUsed);
      reservation[Symbol.dispose]();
    }
    const list = this.waiters.get(r.messageId);
    if (!list) return;
    this.waiters.delete(r.messageId);
    for (const w of list) w.resolve(r);
  }

  /**
   * Fails every wait in progress with `err` (no reply will be pushed to them any more), and
   * releases the reservations of messages not replied yet, unsettled: their gas is not charged to
   * this process's windows.
   */
  rejectAll(err: unknown): void {
    const lists = [...this.waiters.values()];
    const reservations = [...this.awaiting.values()];
    this.waiters.clear();
    this.awaiting.clear();
    for (const r of reservations) r?.[Symbol.dispose]();
    for (const list of lists) for (const w of list) w.reject(err);
  }

  /** `rejectAll`, and every later wait (one whose store read was in flight included) fails with `err` at once. */
  close(err: unknown): void {
    this.closedWith ??= { err };
    this.rejectAll(err);
  }

  private register(messageId: string): { promise: Promise<Reply>; waiter: Waiter } {
    let waiter!: Waiter;
    const promise = new Promise<Reply>((resolve, reject) => (waiter = { resolve, reject }));
    if (this.closedWith) {
      waiter.reject(this.closedWith.err);
      return { promise, waiter };
    }
    const list = this.waiters.get(messageId);
    if (list) list.push(waiter);
    else this.waiters.set(messageId, [waiter]);
    return { promise, waiter };
  }

  /** Fails one wait (its read failed). */
  private drop(messageId: string, waiter: Waiter, err: unknown): void {
    const list = this.waiters.get(messageId);
    const i = list?.indexOf(waiter) ?? -1;
    if (!list || i < 0) return;
    list.splice(i, 1);
    if (list.length === 0) this.waiters.delete(messageId);
    waiter.reject(err);
  }
}
