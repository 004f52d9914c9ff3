import type { Reservation } from './governor.js';

/**
 * An execution's hold on the engine: its place in the gate and its account's reservation. It is
 * a disposable (`using`) so that every exit path gives it back; an execution whose worker has not
 * exited yet when its caller gets the result (a worker stuck in V8's C++ that termination cannot
 * interrupt) {@link defer}s it to the worker's exit instead, so the gate never counts a thread
 * that still runs as free.
 */
export class Permit implements Disposable {
  private readonly releases: (() => void)[] = [];
  private deferred = false;
  private released = false;

  constructor(private readonly reservation: Reservation) {}

  /** Records the gas actually used (the reservation returns the rest on release). */
  settle(gasUsed: bigint): void {
    this.reservation.settle(gasUsed);
  }

  /** Runs `release` when the permit is given back. */
  onRelease(release: () => void): void {
    this.releases.push(release);
  }

  /** Keeps the permit past its holder's scope; the returned function gives it back (once). */
  defer(): () => void {
    this.deferred = true;
    return () => this.release();
  }

  [Symbol.dispose](): void {
    if (!this.deferred) this.release();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.reservation[Symbol.dispose]();
    for (const release of this.releases) release();
  }
}
