import type { Store } from '../store/index.js';

/**
 * Per-sender sequence numbers: a sender's next nonce is one past the highest this process has
 * given out or seen committed, else past the highest the store holds (DESIGN.md: per-sender order
 * is acceptance order).
 */
export class Nonces {
  private readonly last = new Map<string, number>();

  constructor(private readonly store: Store) {}

  /** The sender's next nonce: without an `await` once the sender is known here. */
  next(sender: string): number | Promise<number> {
    const last = this.last.get(sender);
    if (last !== undefined) {
      this.last.set(sender, last + 1);
      return last + 1;
    }
    return this.store.processing.lastNonce(sender).then((stored) => {
      // Another acceptance for this sender may have moved it meanwhile.
      const next = Math.max(stored, this.last.get(sender) ?? -1) + 1;
      this.last.set(sender, next);
      return next;
    });
  }

  /**
   * Forgets what this process knows of a sender's nonces: another process took the nonce it gave
   * out (a cluster's nodes accept for one sender at once), so the next is read from the store.
   */
  forget(sender: string): void {
    this.last.delete(sender);
  }

  /** Raises senders' last nonces to those a durable commit used. */
  advance(used: ReadonlyMap<string, number>): void {
    for (const [sender, n] of used) this.last.set(sender, Math.max(n, this.last.get(sender) ?? -1));
  }
}
