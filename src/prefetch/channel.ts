/**
 * A bounded FIFO channel between prefetch providers and lanes. Pure: no timers, no I/O.
 *
 * `offer` never blocks: it returns false when the channel is full (the caller counts the drop).
 * Lanes `take` items, waiting while the channel is empty; `close` wakes every waiter with
 * `undefined`. Providers that would rather wait than drop use `space()`.
 */
export class BoundedChannel<T> {
  private readonly items: T[] = [];
  private readonly takers: ((item: T | undefined) => void)[] = [];
  private readonly spaceWaiters: ((open: boolean) => void)[] = [];
  private closed = false;

  constructor(readonly capacity: number) {}

  /** Items waiting. */
  get size(): number {
    return this.items.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds an item if there is room (handing it straight to a waiting lane if one waits). */
  offer(item: T): boolean {
    if (this.closed) return false;
    const taker = this.takers.shift();
    if (taker) {
      taker(item);
      return true;
    }
    if (this.items.length >= this.capacity) return false;
    this.items.push(item);
    return true;
  }

  /** The next item, waiting for one; `undefined` once the channel is closed. */
  take(): Promise<T | undefined> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.signalSpace();
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.takers.push(resolve));
  }

  /** Resolves true once an offer would be accepted, false if the channel closes first. */
  space(): Promise<boolean> {
    if (this.closed) return Promise.resolve(false);
    if (this.items.length < this.capacity) return Promise.resolve(true);
    return new Promise((resolve) => this.spaceWaiters.push(resolve));
  }

  /** Removes and returns every waiting item. */
  drain(): T[] {
    const out = this.items.splice(0);
    if (out.length > 0) this.signalSpace();
    return out;
  }

  /** Closes the channel: waiting lanes get `undefined`, waiting providers get false. */
  close(): T[] {
    if (this.closed) return [];
    this.closed = true;
    const rest = this.items.splice(0);
    for (const t of this.takers.splice(0)) t(undefined);
    for (const s of this.spaceWaiters.splice(0)) s(false);
    return rest;
  }

  private signalSpace(): void {
    while (this.spaceWaiters.length > 0 && this.items.length < this.capacity) this.spaceWaiters.shift()!(true);
  }
}
