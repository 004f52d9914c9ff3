/**
 * Per-cycle dedup of prefetch work: a key is `queued` (accepted into the channel), `inflight`
 * (a lane runs it) or `completed`; anything in one of these is not taken again. Pure.
 *
 * A dropped offer never enters the set, so it may be offered again later. Queued keys that are
 * drained (soft abort) are forgotten; in-flight keys stay until their work settles, so the same
 * message never runs twice at once.
 */
export class DedupSet {
  private readonly queued = new Set<string>();
  private readonly inflight = new Set<string>();
  private readonly completed = new Set<string>();

  /** Whether the key was accepted, is running or is done in this cycle. */
  seen(key: string): boolean {
    return this.queued.has(key) || this.inflight.has(key) || this.completed.has(key);
  }

  isCompleted(key: string): boolean {
    return this.completed.has(key);
  }

  isInflight(key: string): boolean {
    return this.inflight.has(key);
  }

  /** The key was accepted into the channel. */
  queue(key: string): void {
    this.queued.add(key);
  }

  /** The key left the channel without running (drained or skipped). */
  forget(key: string): void {
    this.queued.delete(key);
  }

  /** A lane starts the key. */
  start(key: string): void {
    this.queued.delete(key);
    this.inflight.add(key);
  }

  /** A lane finished the key: `completed` if its result counts, otherwise it may run again. */
  settle(key: string, completed: boolean): void {
    this.inflight.delete(key);
    if (completed) this.completed.add(key);
  }

  get sizes(): { queued: number; inflight: number; completed: number } {
    return { queued: this.queued.size, inflight: this.inflight.size, completed: this.completed.size };
  }
}
