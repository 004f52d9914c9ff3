import type { ReplyRecord, Store } from '../store/index.js';
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

interface Waiter {
  resolve: (r: Reply) => void;
  reject: (err: unknown) => void;
}

/**
 * Callers waiting for messages' committed replies. Push-based: a durable commit hands its replies
 * to `notify`; the store is read only for messages this process did not accept, or accepted
 * before it started.
 */
export class ReplyWaiters {
  private readonly waiters = new Map<string, Waiter[]>();
  /** Messages accepted by this process and not replied yet: `reply()` waits on them without a read. */
  private readonly awaiting = new Set<string>();

  constructor(private readonly store: Store) {}

  /** Marks a message accepted here (and durable): its reply will come through `notify`. */
  expect(messageId: string): void {
    this.awaiting.add(messageId);
  }

  /** Waits for a message's committed outcome. */
  async reply(messageId: string): Promise<Reply> {
    // Accepted here and not committed yet: the commit will push the reply (no store reads).
    if (this.awaiting.has(messageId)) return this.register(messageId);
    const stored = await this.store.processing.reply(messageId);
    if (stored) return toReply(stored);
    if (!(await this.store.processing.message(messageId))) throw new InvalidMessage(`unknown message ${messageId}`);
    const waiting = this.register(messageId);
    // A commit between the read above and the registration would have found no waiter.
    void this.store.processing.reply(messageId).then((r) => r && this.notify(toReply(r)));
    return waiting;
  }

  /** Hands a committed reply to whoever waits for it. */
  notify(r: Reply): void {
    this.awaiting.delete(r.messageId);
    const list = this.waiters.get(r.messageId);
    if (!list) return;
    this.waiters.delete(r.messageId);
    for (const w of list) w.resolve(r);
  }

  /** Fails every wait in progress with `err` (no reply will be pushed to them any more). */
  rejectAll(err: unknown): void {
    const lists = [...this.waiters.values()];
    this.waiters.clear();
    this.awaiting.clear();
    for (const list of lists) for (const w of list) w.reject(err);
  }

  private register(messageId: string): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(messageId);
      if (list) list.push({ resolve, reject });
      else this.waiters.set(messageId, [{ resolve, reject }]);
    });
  }
}
