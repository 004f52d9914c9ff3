import type { BackgroundMessage, MessageRecord } from '../store/index.js';
import type { Outcome } from './types.js';

/** A slow message running in the background, and its outcome once it has one. */
interface Entry {
  ref: BackgroundMessage;
  message: MessageRecord;
  abort: AbortController;
  outcome: Promise<Outcome>;
  done: boolean;
  /** A planned batch commits its outcome (its plan names it in `completes`). */
  claimed: boolean;
}

/** A slow message's committed-to-be outcome. */
export interface Completion {
  message: MessageRecord;
  outcome: Outcome;
}

/**
 * Slow messages (gas limit over the batch slice) running in the background across batches, so
 * that one delays only its own actor: its batch commits without it, later batches plan nothing
 * for its actor, and the first batch planned after it finished commits its outcome (naming it in
 * its plan's `completes`, so a redo commits the same). At most `maxRunning` run at once, so they
 * never take every worker; the others wait their turn here, not in the engine's queue.
 */
export class Background {
  private readonly entries = new Map<string, Entry>();
  private readonly waiting: (() => void)[] = [];
  private active = 0;

  constructor(
    private readonly maxRunning: number,
    /** Called when a slow message has its outcome: a batch can now commit it. */
    private readonly onDone: () => void,
  ) {}

  /** Slow messages tracked (running, or done and not committed yet). */
  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  /** Runs a slow message in the background (`run` executes it, stopping when `signal` aborts). */
  start(ref: BackgroundMessage, message: MessageRecord, run: (signal: AbortSignal) => Promise<Outcome>, claimed = false): void {
    const abort = new AbortController();
    const entry: Entry = { ref, message, abort, outcome: Promise.resolve<Outcome>('UnknownActor'), done: false, claimed };
    entry.outcome = this.turn().then(async () => {
      try {
        return await run(abort.signal);
      } finally {
        this.leave();
        entry.done = true;
        if (!abort.signal.aborted) this.onDone();
      }
    });
    // Observed by `take`; an aborted or dropped entry's failure is nobody's.
    entry.outcome.catch(() => undefined);
    this.entries.set(ref.id, entry);
  }

  /** Actors with a slow message tracked: the planner gives them nothing. */
  actors(): Set<string> {
    return new Set([...this.entries.values()].map((e) => e.message.recipient));
  }

  /** Slow messages done and not yet claimed: the next plan commits them, in this order. */
  claimFinished(): BackgroundMessage[] {
    const out: BackgroundMessage[] = [];
    for (const e of this.entries.values()) {
      if (!e.done || e.claimed) continue;
      e.claimed = true;
      out.push(e.ref);
    }
    return out;
  }

  /** The tracked slow messages no plan has claimed: still running after the next batch. */
  unclaimed(): BackgroundMessage[] {
    return [...this.entries.values()].filter((e) => !e.claimed).map((e) => e.ref);
  }

  /** The outcomes a batch commits (its `completes`), waiting for any still running; they leave. */
  async take(refs: readonly BackgroundMessage[]): Promise<Completion[]> {
    const out: Completion[] = [];
    for (const ref of refs) {
      const e = this.entries.get(ref.id);
      if (!e) continue;
      out.push({ message: e.message, outcome: await e.outcome });
    }
    for (const ref of refs) this.entries.delete(ref.id);
    return out;
  }

  /** Stops a slow message whose batch sends it back to the pool; its outcome is nobody's. */
  drop(id: string): void {
    this.entries.get(id)?.abort.abort();
    this.entries.delete(id);
  }

  /** Stops every slow message (a failed cycle, or close): the store says which to resume. */
  clear(): void {
    for (const id of [...this.entries.keys()]) this.drop(id);
  }

  private turn(): Promise<void> {
    if (this.active < this.maxRunning) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private leave(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }
}
