import { BoundedChannel } from './channel.js';
import { DedupSet } from './dedup.js';
import { InvalidPrefetchOptions, PrefetchLaneFailed } from './errors.js';

/** How a speculative run ended: the message would succeed, would fail, or the run itself failed. */
export type PrefetchOutcome = 'valid' | 'invalid' | 'failed';

/** Counters of a stream (shared across the streams of a processor when one object is passed). */
export interface PrefetchCounters {
  /** Offers made by providers. */
  offered: number;
  /** Offers accepted into the channel. */
  accepted: number;
  /** Offers refused because the key was already queued, running or done in this cycle. */
  duplicates: number;
  /** Offers refused because the channel was full (never recorded as sent). */
  dropped: number;
  /** Runs whose result was used: `valid + invalid`. */
  processed: number;
  valid: number;
  invalid: number;
  /** Runs that threw or could not run (engine failure); never reach a caller. */
  failures: number;
  /** Runs stopped or finished after a soft abort, a kill or {@link PrefetchStream.stop}: their results were ignored. */
  discarded: number;
  /** Accepted items that were not run: drained, or no longer needed when a lane took them. */
  skipped: number;
}

export function emptyCounters(): PrefetchCounters {
  return { offered: 0, accepted: 0, duplicates: 0, dropped: 0, processed: 0, valid: 0, invalid: 0, failures: 0, discarded: 0, skipped: 0 };
}

/** Result of {@link PrefetchStream.offer}. */
export type OfferResult = 'accepted' | 'duplicate' | 'dropped' | 'closed';

/** Options of {@link PrefetchStream}. */
export interface PrefetchStreamOptions<T, R extends { outcome: PrefetchOutcome }> {
  /** The dedup key of an item (a message id). */
  key(item: T): string;
  /**
   * The speculative work. It may throw: the failure is counted, never rethrown. `abortSignal`
   * aborts when its result can no longer count (soft abort, kill, {@link PrefetchStream.stop}):
   * the work should stop then rather than hold its resources.
   */
  run(item: T, abortSignal: AbortSignal): Promise<R>;
  /** Concurrent runs; default 1. */
  lanes?: number;
  /** Channel capacity; default 256. */
  capacity?: number;
  /**
   * Whether a lane may start work now; asked before every run, re-asked every `pollMs` while
   * it says no. This is how speculation yields to committed work. Default: always.
   */
  canRun?: () => boolean;
  /** Default 1 ms. */
  pollMs?: number;
  /** An item that no longer needs running when a lane takes it (e.g. already executed for real). */
  skip?: (item: T) => boolean;
  /** Receives the results that count: not those of runs started before a soft abort or kill. */
  onResult?: (item: T, result: R) => void;
  /** Receives each lane failure (already counted). */
  onFailure?: (error: PrefetchLaneFailed, item: T) => void;
  /** Counters to add to; a fresh set by default. */
  counters?: PrefetchCounters;
}

interface Entry<T> {
  item: T;
  key: string;
  generation: number;
}

/**
 * A prefetch stream: a fixed number of lanes running speculative work, fed by a bounded
 * channel. One stream lives for one batch cycle.
 *
 * - `offer` never blocks; a full channel drops the item and counts it. A key is taken once per
 *   stream (queued, in-flight and completed keys are refused), and a dropped offer is not
 *   recorded, so it may be offered again.
 * - `softAbort` (the handoff from the idle provider to the builder) drains the channel and
 *   aborts the work in flight (its results are discarded); the stream goes on.
 * - `kill` ends the stream: lanes stop, queued items are dropped, work in flight is aborted and
 *   its results ignored. It is idempotent and is what `Symbol.dispose` does, so `using` ends a
 *   stream on every exit path. `settled()` resolves once no lane has work left.
 * - `stop(key)` aborts one key's work in flight (the executor has reached that message).
 * - Nothing a run does (throw, reject) reaches the offerer; it is counted in `failures`.
 */
export class PrefetchStream<T, R extends { outcome: PrefetchOutcome }> implements Disposable {
  readonly counters: PrefetchCounters;
  /** The last lane failure, with its cause, for logs. */
  lastFailure: PrefetchLaneFailed | null = null;
  private readonly options: PrefetchStreamOptions<T, R>;
  private readonly channel: BoundedChannel<Entry<T>>;
  private readonly dedup = new DedupSet();
  private readonly sleepers = new Set<() => void>();
  /** Work in flight, by key: aborted when its result can no longer count. */
  private readonly inflight = new Map<string, AbortController>();
  private readonly lanes: Promise<void>[];
  private generation = 0;
  private killed = false;

  constructor(options: PrefetchStreamOptions<T, R>) {
    const lanes = options.lanes ?? 1;
    const capacity = options.capacity ?? 256;
    if (!Number.isInteger(lanes) || lanes < 1) throw new InvalidPrefetchOptions('lanes must be an integer >= 1');
    if (!Number.isInteger(capacity) || capacity < 1) throw new InvalidPrefetchOptions('capacity must be an integer >= 1');
    this.options = options;
    this.counters = options.counters ?? emptyCounters();
    this.channel = new BoundedChannel(capacity);
    this.lanes = Array.from({ length: lanes }, () => this.lane());
  }

  /** Whether the stream still takes work. */
  get alive(): boolean {
    return !this.killed;
  }

  /** Items waiting in the channel. */
  get queued(): number {
    return this.channel.size;
  }

  /** Offers an item; never blocks. */
  offer(item: T): OfferResult {
    if (this.killed) return 'closed';
    this.counters.offered++;
    const key = this.options.key(item);
    if (this.dedup.seen(key)) {
      this.counters.duplicates++;
      return 'duplicate';
    }
    if (!this.channel.offer({ item, key, generation: this.generation })) {
      this.counters.dropped++;
      return 'dropped';
    }
    this.dedup.queue(key);
    this.counters.accepted++;
    return 'accepted';
  }

  /** Whether a key was accepted, is running or completed in this stream. */
  seen(key: string): boolean {
    return this.dedup.seen(key);
  }

  /** Whether a key's run completed with a result that counts. */
  completed(key: string): boolean {
    return this.dedup.isCompleted(key);
  }

  /** Resolves true once the channel has room, false if the stream ends first. */
  space(): Promise<boolean> {
    return this.channel.space();
  }

  /** Drains the channel and aborts the runs in flight (their results are discarded); the stream goes on. */
  softAbort(): void {
    if (this.killed) return;
    this.generation++;
    for (const e of this.channel.drain()) this.unqueue(e);
    this.abortInflight();
  }

  /** Ends the stream (idempotent). Runs in flight are aborted; their results are ignored. */
  kill(): void {
    if (this.killed) return;
    this.killed = true;
    this.generation++;
    for (const e of this.channel.close()) this.unqueue(e);
    for (const wake of [...this.sleepers]) wake();
    this.abortInflight();
  }

  /** Aborts the run of `key` if one is in flight (its result is discarded); true if there was one. */
  stop(key: string): boolean {
    const run = this.inflight.get(key);
    run?.abort();
    return run !== undefined;
  }

  [Symbol.dispose](): void {
    this.kill();
  }

  /** Resolves once every lane has stopped (after `kill`) and no run is left in flight. */
  async settled(): Promise<void> {
    await Promise.all(this.lanes);
  }

  private abortInflight(): void {
    for (const run of this.inflight.values()) run.abort();
  }

  private unqueue(e: Entry<T>): void {
    this.dedup.forget(e.key);
    this.counters.skipped++;
  }

  private async lane(): Promise<void> {
    for (;;) {
      const e = await this.channel.take();
      if (e === undefined) return;
      await this.waitForTurn();
      if (e.generation !== this.generation || this.shouldSkip(e.item)) {
        this.unqueue(e);
        continue;
      }
      this.dedup.start(e.key);
      const abort = new AbortController();
      this.inflight.set(e.key, abort);
      const stale = (): boolean => e.generation !== this.generation || abort.signal.aborted;
      let counted = false;
      try {
        const r = await this.options.run(e.item, abort.signal);
        if (stale()) this.counters.discarded++;
        else if (r.outcome === 'failed') this.fail(undefined, e.item);
        else {
          counted = true;
          this.counters.processed++;
          this.counters[r.outcome]++;
          this.deliver(e.item, r);
        }
      } catch (err) {
        if (stale()) this.counters.discarded++;
        else this.fail(err, e.item);
      } finally {
        this.inflight.delete(e.key);
        this.dedup.settle(e.key, counted);
      }
    }
  }

  private deliver(item: T, r: R): void {
    try {
      this.options.onResult?.(item, r);
    } catch (err) {
      this.fail(err, item);
    }
  }

  private fail(cause: unknown, item: T): void {
    this.counters.failures++;
    const error = new PrefetchLaneFailed(cause === undefined ? undefined : { cause });
    this.lastFailure = error;
    try {
      this.options.onFailure?.(error, item);
    } catch {
      // A failing failure hook is still only a prefetch failure: already counted.
    }
  }

  /** Waits until `canRun` allows a run or the stream is killed. */
  private async waitForTurn(): Promise<void> {
    const canRun = this.options.canRun;
    if (!canRun) return;
    const pollMs = this.options.pollMs ?? 1;
    while (!this.killed && !this.safeCanRun(canRun)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearTimeout(timer);
          this.sleepers.delete(done);
          resolve();
        };
        const timer = setTimeout(done, pollMs);
        this.sleepers.add(done);
      });
    }
  }

  private shouldSkip(item: T): boolean {
    try {
      return this.options.skip?.(item) ?? false;
    } catch {
      return false;
    }
  }

  private safeCanRun(canRun: () => boolean): boolean {
    try {
      return canRun();
    } catch {
      return true;
    }
  }
}
