import type { Store } from '../store/index.js';

/**
 * Per-sender sequence numbers: a sender's next nonce is one past the highest this process has
 * given out or seen committed, else past the highest the store holds (DESIGN.md: per-sender order
 * is acceptance order).
 */
export class Nonces {
  private readonly last = new Map<string, number>();
  /** Senders whose next nonce must be read from the store again (`resync`). */
  private readonly behind = new Set<string>();

  constructor(private readonly store: Store) {}

  /** The sender's next nonce: without an `await` once the sender is known here. */
  next(sender: string): number | Promise<number> {
    const last = this.last.get(sender);
    if (last !== undefined && !this.behind.has(sender)) {
      this.last.set(sender, last + 1);
      return last + 1;
    }
    this.behind.delete(sender);
    return this.store.processing.lastNonce(sender).then((stored) => {
      // Another acceptance for this sender may have moved it meanwhile.
      const next = Math.max(stored, this.last.get(sender) ?? -1) + 1;
      this.last.set(sender, next);
      return next;
    });
  }

  /**
   * Another process took a nonce this one gave out (a cluster's nodes accept for one sender at
   * once): the next is read from the store, and goes past both what it holds and what this process
   * gave out. Forgetting the latter would hand out again the nonces of acceptances still in flight
   * here, and a group commit of them fails as a whole: its members would keep taking each other's
   * nonces.
   */
  resync(sender: string): void {
    this.behind.add(sender);
  }

  /** The highest nonce this process gave out or saw committed for a sender, if it knows one. */
  peek(sender: string): number | undefined {
    return this.last.get(sender);
  }

  /** Raises senders' last nonces to those a durable commit used (or a commit in preparation takes). */
  advance(used: ReadonlyMap<string, number>): void {
    for (const [sender, n] of used) this.last.set(sender, Math.max(n, this.last.get(sender) ?? -1));
  }
}
